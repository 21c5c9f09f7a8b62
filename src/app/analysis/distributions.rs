//! The "Distributions" panel: for the loaded model, the class pictures, a chosen block and a
//! source of X (the block's input or its norm1 output), the histograms (log y, with Gaussian and
//! Laplace fits) of X, W_q W_k^T, X~ and whitened X~ (on the pictures the whitening was fitted
//! on, and on the others), computed with `crate::analysis` and summarised by the statistics
//! kernels on this GPU, and the whitening's own diagnostics (`spectrum`).

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::analysis::{AnalysisError, WhiteningReport};
use crate::app::analysis::gathering::{self, gather_views};
use crate::app::analysis::spectrum::SpectrumCard;
use crate::app::browser::js;
use crate::app::state::AppState;
use crate::app::ui::hist_chart::HistogramChart;
use crate::error::Error;
use crate::stats::{StatsKernels, Summary, SummaryOptions};
use crate::train::Sample;

/// At most this many pictures go into the statistics (the first of each class in turn).
const MAX_IMAGES: usize = 16;

#[derive(Clone)]
enum DistState {
    Idle,
    Working,
    Done {
        block: usize,
        images: usize,
        fit: usize,
        held: usize,
        norm1: bool,
        size: usize,
        views: Vec<(&'static str, &'static str, Summary)>,
        whitening: WhiteningReport,
    },
    Failed(String),
    /// The user stopped it.
    Stopped,
}

/// The cards: key (test id), caption with X as the block input, caption with X as norm1's output.
const VIEWS: [(&str, &str, &str); 5] = [
    (
        "x",
        "X: tokens entering the block",
        "X: the block's norm1 output",
    ),
    ("wq_wk", "entries of W_q W_k^T", "entries of W_q W_k^T"),
    ("x_tilde", "X~ = W_q W_k^T X^T", "X~ = W_q W_k^T norm1(X)^T"),
    (
        "x_tilde_whitened",
        "X~ whitened (pictures it was fitted on)",
        "X~ whitened (pictures it was fitted on)",
    ),
    (
        "x_tilde_whitened_held_out",
        "X~ whitened (the other pictures)",
        "X~ whitened (the other pictures)",
    ),
];

async fn analyse(app: AppState, block: usize, norm1: bool, out: RwSignal<DistState, LocalStorage>) {
    out.set(DistState::Working);
    let result = async {
        let model = app.ready_model()?;
        let ctx = app.gpu()?;
        let samples: Vec<Sample> = app.data.with_untracked(|d| {
            let longest = d.classes.iter().map(|c| c.images.len()).max().unwrap_or(0);
            (0..longest)
                .flat_map(|i| d.classes.iter().filter_map(move |c| c.images.get(i)))
                .take(MAX_IMAGES)
                .map(|img| Sample {
                    image: Arc::clone(&img.image),
                    label: 0,
                    name: img.name.clone(),
                })
                .collect()
        });
        if samples.is_empty() {
            return Err("add some pictures first".into());
        }
        let c = &model.backbone.config;
        // The trained size when small, else 112 px: the statistics barely change with size.
        let size = (c.img_size.min(112) / c.patch_size).max(1) * c.patch_size;
        let gathered = gather_views(app, &model, samples, (block, size, norm1)).await?;
        let kernels = StatsKernels::new(&ctx);
        let options = SummaryOptions {
            bins: 96,
            ..SummaryOptions::default()
        };
        let mut done = Vec::new();
        for (key, input_label, norm1_label) in VIEWS {
            // One picture: nothing is held out.
            let Some((_, t)) = gathered.tensors.iter().find(|(name, _)| name == key) else {
                continue;
            };
            let label = if norm1 { norm1_label } else { input_label };
            let s = kernels.summarize(&ctx, &t.data, &options).await?;
            done.push((key, label, s));
            // Each summary reads back from the GPU; the page paints between them.
            js::sleep(0).await;
        }
        Ok(DistState::Done {
            block,
            images: gathered.counts.images,
            fit: gathered.counts.fit,
            held: gathered.counts.held_out,
            norm1,
            size,
            views: done,
            whitening: gathered.whitening,
        })
    }
    .await;
    out.set(match result {
        Ok(done) => done,
        Err(Error::Analysis(AnalysisError::Stopped)) => DistState::Stopped,
        Err(e) => DistState::Failed(e.to_string()),
    });
}

#[component]
pub fn DistributionsPanel() -> impl IntoView {
    let app = AppState::get();
    let state = RwSignal::new_local(DistState::Idle);
    let block = RwSignal::new(0usize);
    let norm1 = RwSignal::new(false);
    let depth = move || {
        app.model
            .with(|m| m.ready().map(|m| m.backbone.config.depth))
            .unwrap_or(1)
    };
    let run = move |_| {
        let block = block.get_untracked().min(depth() - 1);
        spawn_local(analyse(app, block, norm1.get_untracked(), state))
    };
    let busy = move || matches!(state.get(), DistState::Working);
    let working = move || match app.gather.progress.get() {
        Some((done, total)) if total > 0 && done < total => {
            format!("Picture {} of {total} through the model\u{2026}", done + 1)
        }
        Some(_) => "Estimating the whitening\u{2026}".to_string(),
        None => "Summarising on this GPU with the statistics kernels\u{2026}".to_string(),
    };

    let body = move || {
        match state.get() {
        DistState::Idle => view! {
            <p class="muted" data-testid="dist-status" data-state="idle">
                "Not analysed yet."
            </p>
        }.into_any(),
        DistState::Working => view! {
            <div class="row">
                <p class="muted" data-testid="dist-status" data-state="working">
                    {working}
                </p>
                <button
                    type="button"
                    class="secondary small"
                    data-testid="dist-stop"
                    disabled=move || app.gather.stop.get() || app.gather.progress.get().is_none()
                    on:click=move |_| gathering::stop(app)
                >
                    "Stop"
                </button>
            </div>
        }.into_any(),
        DistState::Stopped => view! {
            <p class="muted" data-testid="dist-status" data-state="stopped">
                "Stopped. Analyse again when you like."
            </p>
        }.into_any(),
        DistState::Failed(m) => view! {
            <div
                class="notice notice-error"
                role="alert"
                data-testid="dist-status"
                data-state="failed"
            >
                {m}
            </div>
        }.into_any(),
        DistState::Done { block, images, fit, held, norm1, size, views, whitening } => view! {
            <p class="muted" data-testid="dist-status" data-state="done">
                {format!(
                    "Block {block}, {images} pictures at {size} px, X = {}. The whitening is fitted on {fit} of them and applied to those and to the other {held}. Bars: counts (log scale); lines: Gaussian and Laplace fits.",
                    if norm1 { "the block's norm1 output" } else { "the tokens entering the block" },
                )}
            </p>
            <div class="dist-grid">
                {views
                    .into_iter()
                    .map(|(key, label, s)| {
                        let kurt = s.moments.excess_kurtosis();
                        let beta = s.fits.gen_gaussian.map_or(f64::NAN, |g| g.beta);
                        let better = s.fits.better_of_gaussian_and_laplace().unwrap_or("—");
                        view! {
                            <figure
                                class="dist-card"
                                data-testid=format!("dist-{key}")
                                data-kurtosis=kurt.to_string()
                                data-beta=beta.to_string()
                            >
                                <figcaption>{label}</figcaption>
                                <HistogramChart
                                    title=label.to_string()
                                    summary=s.clone()
                                    testid=format!("hist-{key}")
                                />
                                <p class="dist-stats">
                                    {format!(
                                        "kurtosis {kurt:.2} · shape β {beta:.2} · better fit: {better} · range {:.3} to {:.3}",
                                        s.moments.min,
                                        s.moments.max,
                                    )}
                                </p>
                            </figure>
                        }
                    })
                    .collect_view()} <SpectrumCard report=whitening />
            </div>
            <p class="legend">
                <span class="fit-swatch fit-gauss-swatch"></span>
                "Gaussian fit "
                <span class="fit-swatch fit-laplace-swatch"></span>
                "Laplace fit"
            </p>
        }.into_any(),
    }
    };

    view! {
        <section class="panel panel-wide" aria-labelledby="dist-heading">
            <h2 id="dist-heading">"Distributions"</h2>
            <p class="lede">
                "What a prompt meets inside attention (BPT, section 3): Laplacian patch tokens, \
                 hyper-Laplacian W_q W_k^T, bursty X~, and X~ after whitening, from your pictures. \
                 The attention logits contain W_q W_k^T applied to the block's norm1 output; the \
                 official code whitens the tokens entering the block. Whitening fitted on some \
                 pictures is shown on the others too: that is what it does for new images."
            </p>
            <div class="row">
                <label class="field">
                    <span>"Block"</span>
                    <input
                        type="number"
                        min="0"
                        max=move || (depth() - 1).to_string()
                        data-testid="dist-block"
                        prop:value=move || block.get().to_string()
                        on:change=move |ev| block.set(event_target_value(&ev).parse().unwrap_or(0))
                    />
                </label>
                <label class="field">
                    <span>"X"</span>
                    <select
                        data-testid="dist-source"
                        on:change=move |ev| norm1.set(event_target_value(&ev) == "norm1")
                    >
                        <option value="input" selected=move || !norm1.get()>
                            "tokens entering the block"
                        </option>
                        <option value="norm1" selected=move || norm1.get()>
                            "the block's norm1 output"
                        </option>
                    </select>
                </label>
                <button data-testid="dist-analyse" disabled=busy on:click=run>
                    "Analyse"
                </button>
            </div>
            {body}
        </section>
    }
}
