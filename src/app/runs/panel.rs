//! The "Runs" panel: the settings form, start / pause / stop, the progress of the run in
//! progress, loss and held-out accuracy curves of every run overlaid, and the list of runs with
//! export and import of run files.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::HtmlInputElement;

use crate::app::browser::js;
use crate::app::runs::compare_panel::ComparePanel;
use crate::app::runs::fallback::FallbackNote;
use crate::app::runs::files;
use crate::app::runs::settings_store;
use crate::app::runs::state::{Control, RunRecord, RunSettings, RunStatus, duration, method_label};
use crate::app::runs::trainer;
use crate::app::state::AppState;
use crate::app::ui::chart::{LineChart, Series};
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
            <input type="number" min="0" step=step data-testid=testid
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
                <select data-testid="run-method"
                    on:change=move |ev| {
                        if let Some(m) = Method::from_name(&event_target_value(&ev)) {
                            settings.update(|s| s.method = m);
                        }
                    }>
                    {method_options}
                </select>
            </label>
            <label class="field">
                <span>"Prompts enter"</span>
                <select data-testid="run-depth"
                    on:change=move |ev| settings.update(|s| s.deep = event_target_value(&ev) == "deep")>
                    <option value="shallow" prop:selected=move || !settings.with(|s| s.deep)>"shallow (block 1)"</option>
                    <option value="deep" prop:selected=move || settings.with(|s| s.deep)>"deep (every block)"</option>
                </select>
            </label>
            {number_field("Prompt tokens m", "run-m", "1", settings, |s| s.prompts, |s, v| s.prompts = v)}
            {number_field("Rank p (bilinear)", "run-p", "1", settings, |s| s.rank, |s, v| s.rank = v)}
            {number_field("Learning rate", "run-lr", "any", settings, |s| s.lr, |s, v| s.lr = v)}
            {number_field("Epochs", "run-epochs", "1", settings, |s| s.epochs, |s, v| s.epochs = v)}
            {number_field("Batch", "run-batch", "1", settings, |s| s.batch, |s, v| s.batch = v)}
            {number_field("Image side (px)", "run-size", "1", settings, |s| s.size, |s, v| s.size = v)}
            {number_field("Seed", "run-seed", "1", settings, |s| s.seed, |s, v| s.seed = v)}
        </div>
        <p class="note" data-testid="run-lr-note">{move || lr_note(settings.with(|s| s.method))}</p>
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
                {run.label.clone()} " \u{2014} "
                <span data-testid="run-status" data-state=run.status.name()>{run.status.name()}</span>
            </p>
            <p class="note" data-testid="run-summary">{run.summary.clone()}</p>
            <progress data-testid="run-progress" max="1" value=fraction aria-label="Training progress"></progress>
            <p class=if failed { "run-error" } else { "note" } data-testid=if failed { "run-error" } else { "run-detail" }
                role=if failed { Some("alert") } else { None }>{detail}</p>
            {accuracy.map(|a| view! { <p class="note" data-testid="run-accuracy">{a}</p> })}
        </div>
    }
}

fn run_row(run: &RunRecord) -> impl IntoView + use<> {
    let app = AppState::get();
    let result = run.result.clone();
    let label = run.label.clone();
    let accuracy = run
        .last_accuracy()
        .map(|e| format!("{:.1}%", e.accuracy * 100.0))
        .unwrap_or_else(|| "\u{2014}".into());
    let export = move |_| {
        if let Some(trained) = result.clone() {
            let label = label.clone();
            spawn_local(async move {
                if let Err(e) = files::export(&trained, &label).await {
                    gloo::console::error!(format!("BPT Lab: export failed: {e}"));
                    app.io_error.set(Some(e.to_string()));
                }
            });
        }
    };
    let id = run.id;
    let remove = move |_| app.runs.update(|r| r.retain(|r| r.id != id));
    let active = run.status.active();
    view! {
        <tr data-testid="run-row" data-state=run.status.name()>
            <td><span class="swatch" style:background=run.color aria-hidden="true"></span>{run.label.clone()}</td>
            <td>{run.model.clone()}</td>
            <td>{run.status.name()}</td>
            <td>{format!("{}/{}", run.step, run.total_steps)}</td>
            <td>{accuracy}</td>
            <td class="row-actions">
                <button type="button" class="secondary small" data-testid="run-export"
                    disabled=run.result.is_none() on:click=export>"Export"</button>
                <button type="button" class="secondary small" data-testid="run-remove"
                    disabled=active on:click=remove aria-label=format!("Remove run {}", run.label)>"Remove"</button>
            </td>
        </tr>
    }
}

/// The run rows, newest first; a comparison's runs together under one heading row, where its
/// newest run is.
fn grouped_rows(runs: &[RunRecord]) -> impl IntoView + use<> {
    let mut shown: Vec<u32> = Vec::new();
    let mut rows = Vec::new();
    for run in runs.iter().rev() {
        match run.member.as_ref().map(|m| m.comparison) {
            None => rows.push(run_row(run).into_any()),
            Some(c) if !shown.contains(&c) => {
                shown.push(c);
                let members: Vec<&RunRecord> = runs
                    .iter()
                    .rev()
                    .filter(|r| r.member.as_ref().is_some_and(|m| m.comparison == c))
                    .collect();
                let heading = format!("Comparison {c} \u{00b7} {} runs", members.len());
                rows.push(
                    view! {
                        <tr class="group-row" data-testid="comparison-row" data-comparison=c>
                            <th scope="rowgroup" colspan="6">{heading}</th>
                        </tr>
                    }
                    .into_any(),
                );
                rows.extend(members.into_iter().map(|r| run_row(r).into_any()));
            }
            Some(_) => {}
        }
    }
    rows.into_iter().collect_view()
}

#[component]
pub fn RunsPanel() -> impl IntoView {
    let app = AppState::get();
    let settings = RwSignal::new(settings_store::load());
    Effect::new(move |_| settings.with(settings_store::save));
    let training = move || app.active_run.get().is_some();
    let can_start = move || !training() && app.model.with(|m| m.ready().is_some());

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
    let import = move |ev: leptos::ev::Event| {
        let files = js::take_input_files(&event_target::<HtmlInputElement>(&ev));
        if let Some(file) = files.into_iter().next() {
            spawn_local(files::import(app, file));
        }
    };

    let current = move || {
        let active = app.active_run.get();
        app.runs.with(|runs| {
            active
                .and_then(|id| runs.iter().find(|r| r.id == id))
                .or_else(|| runs.iter().rev().find(|r| r.status != RunStatus::Imported))
                .cloned()
        })
    };
    let loss_series = Signal::derive(move || {
        app.runs.with(|runs| {
            runs.iter()
                .filter(|r| !r.losses.is_empty())
                .map(|r| Series {
                    label: r.label.clone(),
                    color: r.color,
                    points: r
                        .losses
                        .iter()
                        .map(|&(s, l)| (s as f64, f64::from(l)))
                        .collect(),
                    band: Vec::new(),
                })
                .collect()
        })
    });
    let acc_series = Signal::derive(move || {
        app.runs.with(|runs| {
            runs.iter()
                .filter(|r| !r.evals.is_empty())
                .map(|r| Series {
                    label: r.label.clone(),
                    color: r.color,
                    points: r
                        .evals
                        .iter()
                        .filter(|e| e.epoch_end)
                        .map(|e| (e.epoch as f64, e.accuracy))
                        .collect(),
                    band: Vec::new(),
                })
                .collect()
        })
    });
    let rows = move || {
        app.runs.with(|runs| {
            if runs.is_empty() {
                view! { <tr><td class="muted" colspan="6">"No runs yet."</td></tr> }.into_any()
            } else {
                grouped_rows(runs).into_any()
            }
        })
    };

    view! {
        <section class="panel panel-wide" aria-labelledby="runs-heading">
            <h2 id="runs-heading">"Runs"</h2>
            <p class="lede">
                "Train prompts and a linear head on your images. Start VPT and BPT one after the \
                 other on the same data: their curves are overlaid below."
            </p>
            {settings_form(settings)}
            <FallbackNote settings />
            <div class="actions">
                <button type="button" data-testid="run-start" disabled=move || !can_start() on:click=start>
                    "Start a run"
                </button>
                <button type="button" class="secondary" data-testid="run-pause" disabled=move || !training() on:click=pause>
                    {move || if app.control.get() == Control::Pause { "Resume" } else { "Pause" }}
                </button>
                <button type="button" class="secondary" data-testid="run-stop" disabled=move || !training() on:click=stop>
                    "Stop"
                </button>
                <span class="note">{move || (!app.model.with(|m| m.ready().is_some())).then_some("Load a model to start.")}</span>
            </div>
            <ComparePanel settings />
            {move || current().map(|run| progress(&run))}
            <div class="charts">
                <LineChart title="Training loss" x_label="step" y_label="cross-entropy"
                    series=loss_series testid="loss-chart" />
                <LineChart title="Held-out accuracy" x_label="epoch" y_label="accuracy"
                    series=acc_series y_range=(0.0, 1.0) percent=true testid="accuracy-chart" />
            </div>
            <h3>"All runs"</h3>
            <table class="runs-table">
                <thead><tr>
                    <th scope="col">"Run"</th><th scope="col">"Model"</th><th scope="col">"Status"</th>
                    <th scope="col">"Steps"</th><th scope="col">"Held-out"</th><th scope="col">""</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <div class="row">
                <label class="field inline">
                    <span>"Import a run file (.safetensors, as exported here or by " <code>"bpt-lab train"</code> ")"</span>
                    <input type="file" accept=".safetensors" data-testid="run-import" on:change=import />
                </label>
            </div>
            {move || app.io_error.get().map(|e| view! {
                <div class="notice notice-error" role="alert">
                    <p class="notice-title">"Run file"</p>
                    <p data-testid="run-io-error">{e}</p>
                </div>
            })}
        </section>
    }
}
