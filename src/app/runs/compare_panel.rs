//! Comparisons on the page: the seeds and the button in the train card (head-only, VPT and a
//! BPT method for N seeds on the same pictures), and in the runs panel each comparison's mean
//! held-out accuracy of every method with its 95% interval over seeds, and the verdict.

use leptos::prelude::*;

use super::comparison::{self, DEFAULT_SEEDS, bpt_method, next_comparison, plan};
use super::state::{RunSettings, method_label};
use super::trainer;
use crate::app::state::AppState;
use crate::app::ui::chart::{LineChart, Series};
use crate::prompt::Method;

/// Most seeds one comparison trains (each is three runs).
const MAX_SEEDS: u64 = 10;

fn method_color(name: &str) -> &'static str {
    match Method::from_name(name) {
        Some(Method::Head) => "#555555",
        Some(Method::Vpt) => "#0072b2",
        _ => "#d55e00",
    }
}

#[component]
fn ComparisonView(id: u32) -> impl IntoView {
    let app = AppState::get();
    let result = Memo::new(move |_| app.runs.with(|runs| comparison::summary(runs, id)));
    let series = Signal::derive(move || {
        result.with(|(summary, _)| {
            summary
                .methods
                .iter()
                .map(|m| Series {
                    label: format!(
                        "{} ({} seed{})",
                        Method::from_name(&m.method)
                            .map_or_else(|| m.method.clone(), |x| method_label(x).to_string()),
                        m.seeds.len(),
                        if m.seeds.len() == 1 { "" } else { "s" }
                    ),
                    color: method_color(&m.method),
                    points: m
                        .curve
                        .iter()
                        .map(|(e, est)| (*e as f64, est.mean))
                        .collect(),
                    band: m
                        .curve
                        .iter()
                        .map(|(e, est)| (*e as f64, est.low(), est.high()))
                        .collect(),
                })
                .collect()
        })
    });
    let runs = move || {
        app.runs.with(|r| {
            r.iter()
                .filter(|r| r.member.as_ref().is_some_and(|m| m.comparison == id))
                .count()
        })
    };
    view! {
        <div class="comparison" data-testid="comparison" data-comparison=id>
            <h3>{format!("Comparison {id}")}</h3>
            <p class="verdict" data-testid="compare-verdict">
                {move || {
                    result
                        .with(|(_, verdict)| verdict.clone())
                        .unwrap_or_else(|| {
                            "The verdict appears once VPT and the BPT method have finished a seed."
                                .into()
                        })
                }}
            </p>
            <p class="note" data-testid="compare-baseline">
                {move || result.with(|(summary, _)| comparison::against_head(summary))}
            </p>
            <LineChart
                title="Held-out accuracy, mean and 95% interval over seeds"
                x_label="epoch"
                y_label="accuracy"
                series=series
                y_range=(0.0, 1.0)
                percent=true
                testid="compare-chart"
            />
            <p class="note">
                {move || {
                    format!(
                        "{} runs on the same pictures, seeds paired across methods. Every method \
                     trains at the form's learning rate: the page has no validation split to \
                     choose one on (bpt-lab compare does).",
                        runs(),
                    )
                }}
            </p>
        </div>
    }
}

/// The comparisons on the page, oldest first (in the runs panel).
#[component]
pub fn Comparisons() -> impl IntoView {
    let app = AppState::get();
    let ids = move || app.runs.with(|r| comparison::comparisons(r));
    view! {
        <For each=ids key=|id| *id let:id>
            <ComparisonView id />
        </For>
    }
}

/// The seeds and the button that starts a comparison (in the train card).
#[component]
pub fn CompareControls(settings: RwSignal<RunSettings>) -> impl IntoView {
    let app = AppState::get();
    let seeds = RwSignal::new(DEFAULT_SEEDS);
    let can_start =
        move || app.active_run.get().is_none() && app.model.with(|m| m.ready().is_some());
    let start = move |_| {
        let base = settings.get_untracked();
        let id = app
            .runs
            .with_untracked(|r| app.queue.with_untracked(|q| next_comparison(r, q)));
        trainer::start_queue(app, plan(&base, seeds.get_untracked(), id));
    };
    let label = move || {
        let bpt = bpt_method(settings.with(|s| s.method));
        let n = seeds.get();
        format!(
            "Compare head-only, VPT and {} ({n} seed{})",
            method_label(bpt),
            if n == 1 { "" } else { "s" }
        )
    };
    let waiting = move || {
        let left = app.queue.with(Vec::len);
        (left > 0).then(|| format!("{left} more run(s) of the comparison wait their turn."))
    };
    view! {
        <div class="actions">
            <label class="field inline">
                <span>"Seeds"</span>
                <input
                    type="number"
                    min="1"
                    max=MAX_SEEDS
                    step="1"
                    data-testid="compare-seeds"
                    prop:value=move || seeds.get().to_string()
                    on:change=move |ev| {
                        if let Ok(n) = event_target_value(&ev).trim().parse::<u64>() {
                            seeds.set(n.clamp(1, MAX_SEEDS));
                        }
                    }
                />
            </label>
            <button
                type="button"
                class="secondary"
                data-testid="compare-start"
                disabled=move || !can_start()
                on:click=start
            >
                {label}
            </button>
            <span class="note" data-testid="compare-queue">
                {waiting}
            </span>
        </div>
    }
}
