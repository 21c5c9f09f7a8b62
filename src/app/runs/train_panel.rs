//! The "Train" card, beside the pictures: the settings form, start / pause / stop, and the
//! progress of the run in progress (or the last one). The curves and the list of runs are in
//! the runs panel below.

use leptos::prelude::*;

use crate::app::runs::compare_panel::CompareControls;
use crate::app::runs::fallback::FallbackNote;
use crate::app::runs::settings_store;
use crate::app::runs::state::{Control, RunRecord, RunSettings, RunStatus, duration, method_label};
use crate::app::runs::trainer;
use crate::app::state::AppState;
use crate::prompt::Method;

/// A labelled number input bound to one field of the settings.
fn number_field<T>(
    label: &'static str,
    testid: &'static str,
    step: &'static str,
    settings: RwSignal<RunSettings>,
    get: fn(&RunSettings) -> T,
    set: fn(&mut RunSettings, T),
) -> impl IntoView
where
    T: std::str::FromStr + ToString + 'static,
{
    view! {
        <label class="field">
            <span>{label}</span>
            <input
                type="number"
                min="0"
                step=step
                data-testid=testid
                prop:value=move || settings.with(|s| get(s).to_string())
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).trim().parse::<T>() {
                        settings.update(|s| set(s, v));
                    }
                }
            />
        </label>
    }
}

fn settings_form(settings: RwSignal<RunSettings>) -> impl IntoView {
    let method_options = Method::ALL
        .into_iter()
        .map(|m| {
            view! {
                <option value=m.name() prop:selected=move || settings.with(|s| s.method == m)>
                    {method_label(m)}
                </option>
            }
        })
        .collect_view();
    view! {
        <div class="settings">
            <label class="field">
                <span>"Method"</span>
                <select
                    data-testid="run-method"
                    on:change=move |ev| {
                        if let Some(m) = Method::from_name(&event_target_value(&ev)) {
                            settings.update(|s| s.method = m);
                        }
                    }
                >
                    {method_options}
                </select>
            </label>
            <label class="field">
                <span>"Prompts enter"</span>
                <select
                    data-testid="run-depth"
                    on:change=move |ev| {
                        settings.update(|s| s.deep = event_target_value(&ev) == "deep")
                    }
                >
                    <option value="shallow" prop:selected=move || !settings.with(|s| s.deep)>
                        "shallow (block 1)"
                    </option>
                    <option value="deep" prop:selected=move || settings.with(|s| s.deep)>
                        "deep (every block)"
                    </option>
                </select>
            </label>
            {number_field(
                "Prompt tokens m",
                "run-m",
                "1",
                settings,
                |s| s.prompts,
                |s, v| s.prompts = v,
            )}
            {number_field(
                "Rank p (bilinear)",
                "run-p",
                "1",
                settings,
                |s| s.rank,
                |s, v| s.rank = v,
            )}
            {number_field("Learning rate", "run-lr", "any", settings, |s| s.lr, |s, v| s.lr = v)}
            {number_field("Epochs", "run-epochs", "1", settings, |s| s.epochs, |s, v| s.epochs = v)}
            {number_field("Batch", "run-batch", "1", settings, |s| s.batch, |s, v| s.batch = v)}
            {number_field(
                "Image side (px)",
                "run-size",
                "1",
                settings,
                |s| s.size,
                |s, v| s.size = v,
            )}
            {number_field("Seed", "run-seed", "1", settings, |s| s.seed, |s, v| s.seed = v)}
        </div>
        <p class="note" data-testid="run-lr-note">
            {move || lr_note(settings.with(|s| s.method))}
        </p>
    }
}

/// What the learning rate field sets: the prompts' rate, or the head's for head-only runs.
fn lr_note(method: Method) -> String {
    match crate::train::head_lr(method, None) {
        None => "Head-only: the learning rate is the head's.".into(),
        Some(head) => format!(
            "The learning rate is the prompts'; the head trains at {head} (its own rate, so \
             that a few pictures do not throw its first steps far off)."
        ),
    }
}

/// Progress of the run in progress (or the last one).
fn progress(run: &RunRecord) -> impl IntoView + use<> {
    let fraction = if run.total_steps > 0 {
        run.step as f64 / run.total_steps as f64
    } else {
        0.0
    };
    let detail = match &run.status {
        RunStatus::Preparing => {
            "Preparing: whitening statistics and initial prompts\u{2026}".to_string()
        }
        RunStatus::Failed(m) => m.clone(),
        _ => {
            let left = run
                .seconds_left
                .filter(|_| run.status.active())
                .map(|s| format!(" \u{00b7} about {} left", duration(s)))
                .unwrap_or_default();
            format!(
                "step {} of {} \u{00b7} {:.2} steps/s{left}",
                run.step, run.total_steps, run.steps_per_s
            )
        }
    };
    let accuracy = run.last_accuracy().map(|e| {
        format!(
            "held-out accuracy {:.1}% ({}/{}) after epoch {}",
            e.accuracy * 100.0,
            e.correct,
            e.total,
            e.epoch
        )
    });
    let failed = matches!(run.status, RunStatus::Failed(_));
    view! {
        <div class="progress-block" class:failed=failed>
            <p class="status-line">
                <span class="dot" style:background=run.color aria-hidden="true"></span>
                {run.label.clone()}
                " \u{2014} "
                <span data-testid="run-status" data-state=run.status.name()>
                    {run.status.name()}
                </span>
            </p>
            <p class="note" data-testid="run-summary">
                {run.summary.clone()}
            </p>
            <progress
                data-testid="run-progress"
                max="1"
                value=fraction
                aria-label="Training progress"
            ></progress>
            <p
                class=if failed { "run-error" } else { "note" }
                data-testid=if failed { "run-error" } else { "run-detail" }
                role=if failed { Some("alert") } else { None }
            >
                {detail}
            </p>
            {accuracy
                .map(|a| {
                    view! {
                        <p class="note" data-testid="run-accuracy">
                            {a}
                        </p>
                    }
                })}
        </div>
    }
}

#[component]
pub fn TrainPanel() -> impl IntoView {
    let app = AppState::get();
    let settings = RwSignal::new(settings_store::load());
    Effect::new(move |_| settings.with(settings_store::save));
    let training = move || app.active_run.get().is_some();
    let model_ready = move || app.model.with(|m| m.ready().is_some());
    let can_start = move || !training() && model_ready();

    let start = move |_| trainer::start(app, settings.get_untracked());
    let pause = move |_| {
        let next = if app.control.get_untracked() == Control::Pause {
            Control::Run
        } else {
            Control::Pause
        };
        trainer::control(app, next);
    };
    let stop = move |_| trainer::control(app, Control::Stop);
    let current = move || {
        let active = app.active_run.get();
        app.runs.with(|runs| {
            active
                .and_then(|id| runs.iter().find(|r| r.id == id))
                .or_else(|| runs.iter().rev().find(|r| r.status != RunStatus::Imported))
                .cloned()
        })
    };

    view! {
        <section class="panel train-panel" aria-labelledby="train-heading">
            <h2 id="train-heading">"Train"</h2>
            <p class="lede">
                "Prompts and a linear head, trained on your pictures; run VPT, then BPT, and \
                 compare their curves below."
            </p>
            {settings_form(settings)}
            <div class="actions">
                <button
                    type="button"
                    data-testid="run-start"
                    disabled=move || !can_start()
                    on:click=start
                >
                    "Start a run"
                </button>
                <button
                    type="button"
                    class="secondary"
                    data-testid="run-pause"
                    disabled=move || !training()
                    on:click=pause
                >
                    {move || if app.control.get() == Control::Pause { "Resume" } else { "Pause" }}
                </button>
                <button
                    type="button"
                    class="secondary"
                    data-testid="run-stop"
                    disabled=move || !training()
                    on:click=stop
                >
                    "Stop"
                </button>
                <span class="note">
                    {move || (!model_ready()).then_some("Load a model to start.")}
                </span>
            </div>
            <FallbackNote settings />
            <CompareControls settings />
            {move || current().map(|run| progress(&run))}
        </section>
    }
}
