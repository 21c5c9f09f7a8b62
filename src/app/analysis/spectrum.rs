//! The whitening's own diagnostics on the Distributions panel (`crate::whiten::diagnostics`):
//! Sigma's eigenvalues on a log scale with k, the fewest top directions that cover 90% of its
//! trace, and how much of a prompt's energy, after the block's norm1, lies in those directions:
//! VPT's initial prompt, and BPT-fWhiten's at each epsilon. Whitening amplifies the directions
//! where X~ hardly varies, and a prompt there moves the attention logits least.

use leptos::prelude::*;

use crate::analysis::WhiteningReport;
use crate::app::ui::chart::{LineChart, Series};
use crate::whiten::diagnostics::log_spectrum;

fn percent(share: f64) -> String {
    format!("{:.3}%", 100.0 * share)
}

#[component]
pub fn SpectrumCard(report: WhiteningReport) -> impl IntoView {
    let points = log_spectrum(&report.eigenvalues);
    let low = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let high = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let range = if low.is_finite() && high.is_finite() {
        (low.floor(), high.ceil().max(low.floor() + 1.0))
    } else {
        (0.0, 1.0)
    };
    let (k, d) = (report.k, report.eigenvalues.len());
    let series = Signal::stored(vec![
        Series {
            label: "eigenvalues of Sigma".into(),
            color: "#0072b2",
            points,
            band: Vec::new(),
        },
        Series {
            label: format!("k = {k}: 90% of the trace"),
            color: "#d55e00",
            points: vec![(k as f64, range.0), (k as f64, range.1)],
            band: Vec::new(),
        },
    ]);
    let shares = report
        .fwhiten_share
        .iter()
        .map(|s| {
            view! {
                <li data-testid="prompt-share" data-epsilon=s.epsilon data-share=s.share>
                    {format!("BPT-fWhiten, epsilon {:e}: {}", s.epsilon, percent(s.share))}
                </li>
            }
        })
        .collect_view();
    view! {
        <div
            class="dist-card"
            data-testid="dist-spectrum"
            data-k=k
            data-dims=d
            data-vpt-share=report.vpt_share
        >
            <LineChart
                title="Sigma: the eigenvalues of X~'s covariance, log10"
                x_label="eigen-direction"
                y_label="log10 eigenvalue"
                series=series
                y_range=range
                testid="spectrum-chart"
            />
            <p class="dist-stats">
                {format!(
                    "The top {k} of {d} directions hold 90% of the trace. Share of an initial \
                     prompt's energy (m = {}, after norm1) in them, where an isotropic prompt \
                     would have about {}:",
                    report.prompts,
                    percent(k as f64 / d.max(1) as f64),
                )}
            </p>
            <ul class="dist-stats">
                <li data-testid="prompt-share-vpt">
                    {format!("VPT: {}", percent(report.vpt_share))}
                </li>
                {shares}
            </ul>
        </div>
    }
}
