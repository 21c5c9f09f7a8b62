//! The "Runs" panel: the loss and held-out accuracy curves of every run overlaid, and the list
//! of runs with export and import of run files. Runs are set up and started in the train card
//! (`train_panel`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::HtmlInputElement;

use crate::app::browser::js;
use crate::app::runs::compare_panel::Comparisons;
use crate::app::runs::files;
use crate::app::runs::state::RunRecord;
use crate::app::state::AppState;
use crate::app::ui::chart::{LineChart, Series};

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
            <td>
                <span class="swatch" style:background=run.color aria-hidden="true"></span>
                {run.label.clone()}
            </td>
            <td>{run.model.clone()}</td>
            <td>{run.status.name()}</td>
            <td>{format!("{}/{}", run.step, run.total_steps)}</td>
            <td>{accuracy}</td>
            <td class="row-actions">
                <button
                    type="button"
                    class="secondary small"
                    data-testid="run-export"
                    disabled=run.result.is_none()
                    on:click=export
                >
                    "Export"
                </button>
                <button
                    type="button"
                    class="secondary small"
                    data-testid="run-remove"
                    disabled=active
                    on:click=remove
                    aria-label=format!("Remove run {}", run.label)
                >
                    "Remove"
                </button>
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
                            <th scope="rowgroup" colspan="6">
                                {heading}
                            </th>
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
    let import = move |ev: leptos::ev::Event| {
        let files = js::take_input_files(&event_target::<HtmlInputElement>(&ev));
        if let Some(file) = files.into_iter().next() {
            spawn_local(files::import(app, file));
        }
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
                view! {
                    <tr>
                        <td class="muted" colspan="6">
                            "No runs yet."
                        </td>
                    </tr>
                }
                .into_any()
            } else {
                grouped_rows(runs).into_any()
            }
        })
    };

    view! {
        <section class="panel panel-wide" aria-labelledby="runs-heading">
            <h2 id="runs-heading">"Runs"</h2>
            <p class="lede">
                "Every run's curves, overlaid; export a run to use its prompts and head elsewhere."
            </p>
            <Comparisons />
            <div class="charts">
                <LineChart
                    title="Training loss"
                    x_label="step"
                    y_label="cross-entropy"
                    series=loss_series
                    testid="loss-chart"
                />
                <LineChart
                    title="Held-out accuracy"
                    x_label="epoch"
                    y_label="accuracy"
                    series=acc_series
                    y_range=(0.0, 1.0)
                    percent=true
                    testid="accuracy-chart"
                />
            </div>
            <h3>"All runs"</h3>
            <table class="runs-table">
                <thead>
                    <tr>
                        <th scope="col">"Run"</th>
                        <th scope="col">"Model"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Steps"</th>
                        <th scope="col">"Held-out"</th>
                        <th scope="col">""</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <div class="row">
                <label class="field inline">
                    <span>
                        "Import a run file (.safetensors, as exported here or by "
                        <code>"bpt-lab train"</code> ")"
                    </span>
                    <input
                        type="file"
                        accept=".safetensors"
                        data-testid="run-import"
                        on:change=import
                    />
                </label>
            </div>
            {move || {
                app.io_error
                    .get()
                    .map(|e| {
                        view! {
                            <div class="notice notice-error" role="alert">
                                <p class="notice-title">"Run file"</p>
                                <p data-testid="run-io-error">{e}</p>
                            </div>
                        }
                    })
            }}
        </section>
    }
}
