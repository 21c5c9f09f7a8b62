//! The "Prompts" panel: each trained run's learned prompt tokens P~ side by side: their
//! histogram (log y, Gaussian and Laplace fits, from the statistics kernels), a heatmap of the
//! m x D values, and the m x m correlation between tokens: the paper's claim (VPT's tokens
//! correlated, BPT's decorrelated and bursty) can be checked on the user's own runs.
//!
//! It redraws whenever the set of runs with a result changes, and on demand for another block
//! of deep runs.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::state::AppState;
use crate::app::ui::hist_chart::HistogramChart;
use crate::heatmap::{abs_max, data_url};
use crate::prompt::PromptPicture;
use crate::stats::correlation::mean_abs_off_diagonal;
use crate::stats::{StatsKernels, Summary, SummaryOptions};

/// One run's prompts, ready to draw.
#[derive(Clone)]
struct PromptCard {
    run: u32,
    label: String,
    color: &'static str,
    /// The prompt set shown: its block for deep runs, 0 for shallow ones.
    block: usize,
    deep: bool,
    tokens: usize,
    width: usize,
    summary: Summary,
    heatmap: String,
    limit: f32,
    correlation: String,
    mean_correlation: Option<f64>,
}

#[derive(Clone)]
enum PromptState {
    Idle,
    Working,
    Done(Vec<PromptCard>),
    Failed(String),
}

/// Draws the prompts of every run with a result; `generation` drops a drawing that a newer one
/// has overtaken.
async fn describe(
    app: AppState,
    block: usize,
    out: RwSignal<PromptState, LocalStorage>,
    generation: StoredValue<u64>,
) {
    generation.update_value(|g| *g += 1);
    let mine = generation.get_value();
    let out = move |state: PromptState| {
        if generation.get_value() == mine {
            out.set(state);
        }
    };
    let runs: Vec<_> = app.runs.with_untracked(|runs| {
        runs.iter()
            .filter_map(|r| Some((r.id, r.label.clone(), r.color, r.result.clone()?)))
            // Head-only runs have no prompts to show.
            .filter(|(.., trained)| !trained.classifier.prompts.sets.is_empty())
            .collect()
    });
    if runs.is_empty() {
        return out(PromptState::Idle);
    }
    let ctx = match app.gpu() {
        Ok(ctx) => ctx,
        Err(message) => return out(PromptState::Failed(message)),
    };
    out(PromptState::Working);
    let kernels = StatsKernels::new(&ctx);
    let options = SummaryOptions {
        bins: 64,
        ..SummaryOptions::default()
    };
    let mut cards = Vec::new();
    for (run, label, color, trained) in runs {
        let prompts = &trained.classifier.prompts;
        let deep = prompts.sets.len() > 1;
        let shown = block.min(prompts.sets.len() - 1);
        let card = async {
            let picture = PromptPicture::of(&prompts.sets[shown]).await?;
            let summary = kernels.summarize(&ctx, &picture.values, &options).await?;
            let limit = abs_max(&picture.values);
            let (m, d) = (picture.tokens, picture.width);
            Ok::<_, crate::error::Error>(PromptCard {
                run,
                label: label.clone(),
                color,
                block: shown,
                deep,
                tokens: m,
                width: d,
                summary,
                heatmap: data_url(&picture.values, m, d, limit),
                limit,
                correlation: data_url(&picture.correlation, m, m, 1.0),
                mean_correlation: mean_abs_off_diagonal(&picture.correlation, m),
            })
        };
        match card.await {
            Ok(card) => cards.push(card),
            Err(e) => return out(PromptState::Failed(format!("{label}: {e}"))),
        }
    }
    out(PromptState::Done(cards));
}

/// A colour bar for the diverging scale from `-limit` to `limit`.
fn scale_bar(limit: f32, what: &'static str) -> impl IntoView {
    view! {
        <div
            class="scale-bar"
            aria-label=format!("{what}: blue {:.3}, white 0, red {:.3}", -limit, limit)
        >
            <span class="mono">{format!("{:.3}", -limit)}</span>
            <span class="scale-gradient"></span>
            <span class="mono">{format!("{limit:.3}")}</span>
        </div>
    }
}

fn card_view(card: PromptCard) -> impl IntoView {
    let title = if card.deep {
        format!("{} · block {}", card.label, card.block)
    } else {
        card.label.clone()
    };
    let kurtosis = card.summary.moments.excess_kurtosis();
    let beta = card.summary.fits.gen_gaussian.map_or(f64::NAN, |g| g.beta);
    let corr = card
        .mean_correlation
        .map_or("—".to_string(), |c| format!("{c:.2}"));
    view! {
        <figure
            class="prompt-card"
            data-testid="prompt-card"
            data-run=card.run.to_string()
            data-kurtosis=kurtosis.to_string()
            data-mean-correlation=card.mean_correlation.unwrap_or(f64::NAN).to_string()
        >
            <figcaption>
                <span class="dot" style:background=card.color aria-hidden="true"></span>
                " "
                {title.clone()}
            </figcaption>
            <HistogramChart
                title=format!("{title}: histogram of the prompt values")
                summary=card.summary.clone()
                testid=format!("prompt-hist-{}", card.run)
            />
            <p class="dist-stats">
                {format!(
                    "kurtosis {kurtosis:.2} · shape β {beta:.2} · max |value| {:.3}",
                    card.limit,
                )}
            </p>
            <p class="map-title">
                {format!("Tokens ({} x {}, rows are tokens)", card.tokens, card.width)}
            </p>
            <img
                class="heatmap"
                src=card.heatmap
                data-testid="prompt-heatmap"
                alt=format!(
                    "{title}: heatmap of the {} x {} prompt values",
                    card.tokens,
                    card.width,
                )
                style=format!("aspect-ratio: {} / {}", card.width, (card.tokens * 8).max(1))
            />
            {scale_bar(card.limit, "prompt values")}
            <p class="map-title">
                {format!("Correlation between tokens (mean |r| off the diagonal {corr})")}
            </p>
            <img
                class="corrmap"
                src=card.correlation
                data-testid="prompt-corr"
                alt=format!(
                    "{title}: {} x {} correlation map, mean absolute correlation {corr}",
                    card.tokens,
                    card.tokens,
                )
            />
            {scale_bar(1.0, "correlation")}
        </figure>
    }
}

#[component]
pub fn PromptsPanel() -> impl IntoView {
    let app = AppState::get();
    let state = RwSignal::new_local(PromptState::Idle);
    let block = RwSignal::new(0usize);
    let generation = StoredValue::new(0u64);
    let redraw = move || spawn_local(describe(app, block.get_untracked(), state, generation));
    // The runs that have prompts to show, once the GPU is there; a change (a run finished,
    // imported or removed) redraws the panel. Runs change on every training step, so the
    // effect compares with what it drew last.
    Effect::new(move |drawn: Option<(bool, Vec<u32>)>| {
        let gpu = app.gpu_ready();
        let trained = app.runs.with(|runs| {
            runs.iter()
                .filter(|r| r.result.is_some())
                .map(|r| r.id)
                .collect::<Vec<_>>()
        });
        let key = (gpu, trained);
        if drawn.as_ref() != Some(&key) {
            redraw();
        }
        key
    });
    let deepest = move || {
        app.runs.with(|runs| {
            runs.iter()
                .filter_map(|r| r.result.as_ref().map(|t| t.classifier.prompts.sets.len()))
                .max()
                .unwrap_or(1)
        })
    };

    let busy = move || matches!(state.get(), PromptState::Working);

    let body = move || {
        match state.get() {
        PromptState::Idle => view! {
            <p class="muted" data-testid="prompt-status" data-state="idle">
                "Train or import a run to see its prompts."
            </p>
        }
        .into_any(),
        PromptState::Working => view! {
            <p class="muted" data-testid="prompt-status" data-state="working">
                "Reading the prompts and summarising them…"
            </p>
        }
        .into_any(),
        PromptState::Failed(m) => view! {
            <div
                class="notice notice-error"
                role="alert"
                data-testid="prompt-status"
                data-state="failed"
            >
                {m}
            </div>
        }
        .into_any(),
        PromptState::Done(cards) => view! {
            <p class="muted" data-testid="prompt-status" data-state="done">
                "Histograms: counts on a log scale, lines the Gaussian and Laplace fits. Maps: blue \
                 below zero, red above, each on its own scale."
            </p>
            <div class="prompt-grid">{cards.into_iter().map(card_view).collect_view()}</div>
        }
        .into_any(),
    }
    };

    view! {
        <section class="panel panel-wide" aria-labelledby="prompt-heading">
            <h2 id="prompt-heading">"Prompts"</h2>
            <p class="lede">
                "The learned prompt tokens of every run, side by side. The paper finds VPT's \
                 tokens correlated and BPT's, learned through the whitening, decorrelated and \
                 bursty: compare the maps and the mean |r| of your runs (short runs and tiny \
                 models barely move the tokens from their initial values)."
            </p>
            <div class="row" hidden=move || deepest() < 2>
                <label class="field">
                    <span>"Block (deep runs)"</span>
                    <input
                        type="number"
                        min="0"
                        max=move || (deepest() - 1).to_string()
                        data-testid="prompt-block"
                        prop:value=move || block.get().to_string()
                        on:change=move |ev| {
                            block.set(event_target_value(&ev).parse().unwrap_or(0));
                            redraw();
                        }
                    />
                </label>
                <button data-testid="prompt-redraw" disabled=busy on:click=move |_| redraw()>
                    "Show"
                </button>
            </div>
            {body}
        </section>
    }
}
