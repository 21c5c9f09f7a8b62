//! The self-check: the moments, histogram and tail kernels, a burn matmul and our ViT linear
//! kernels on the GPU, each
//! against a plain-Rust reference computed in this tab; its verdict in the GPU card's status
//! line, its figures in the card's details.

use leptos::prelude::*;

use super::state::CheckState;
use crate::gpu::histogram::Histogram;
use crate::gpu::moments::Moments;
use crate::gpu::selfcheck::{SELFCHECK_KS, SELFCHECK_LEN, SelfCheck};
use crate::kernels::selftest::TOL;

/// The GPU figures as JSON, for the browser tests to check on their own.
fn result_json(report: &SelfCheck) -> String {
    let g = &report.gpu;
    let h = &report.histogram_gpu;
    let t = &report.tail_gpu;
    serde_json::json!({
        "len": SELFCHECK_LEN,
        "count": g.count,
        "nan": g.nan,
        "inf": g.inf,
        "min": g.min,
        "max": g.max,
        "mean": g.mean,
        "variance": g.variance(),
        "skewness": g.skewness(),
        "excess_kurtosis": g.excess_kurtosis(),
        "histogram": h.to_json(),
        "tail": {
            "center": report.tail_spec.center,
            "ks": SELFCHECK_KS,
            "thresholds": report.tail_spec.thresholds,
            "finite": t.finite,
            "beyond": t.beyond,
            "abs_dev_sum": t.power_sum,
        },
        "matmul_max_abs_err": report.matmul_max_abs_err,
        "kernels": {
            "on": report.kernels_on,
            "cases": report.kernels.iter().map(|c| serde_json::json!({
                "name": c.name, "worst": c.worst,
            })).collect::<Vec<_>>(),
        },
    })
    .to_string()
}

fn row(name: &'static str, gpu: String, cpu: String) -> impl IntoView {
    view! {
        <tr>
            <th scope="row">{name}</th>
            <td>{gpu}</td>
            <td>{cpu}</td>
        </tr>
    }
}

fn table(report: &SelfCheck) -> impl IntoView {
    let (g, c): (Moments, Moments) = (report.gpu, report.cpu);
    let bins = |h: &Histogram| {
        let inside: u64 = h.counts.iter().sum();
        format!(
            "{inside} in {} bins, {} below, {} above",
            h.counts.len(),
            h.underflow,
            h.overflow
        )
    };
    let tails = |t: &[u64]| format!("{t:?}");
    view! {
        <table class="figures">
            <thead>
                <tr>
                    <th scope="col">""</th>
                    <th scope="col">"GPU (WGSL)"</th>
                    <th scope="col">"CPU (Rust)"</th>
                </tr>
            </thead>
            <tbody>
                {row("finite values", g.count.to_string(), c.count.to_string())}
                {row(
                    "NaN / \u{00b1}inf",
                    format!("{} / {}", g.nan, g.inf),
                    format!("{} / {}", c.nan, c.inf),
                )} {row("min", format!("{:.7}", g.min), format!("{:.7}", c.min))}
                {row("max", format!("{:.7}", g.max), format!("{:.7}", c.max))}
                {row("mean", format!("{:.9}", g.mean), format!("{:.9}", c.mean))}
                {row("variance", format!("{:.9}", g.variance()), format!("{:.9}", c.variance()))}
                {row("skewness", format!("{:.6}", g.skewness()), format!("{:.6}", c.skewness()))}
                {row(
                    "excess kurtosis",
                    format!("{:.6}", g.excess_kurtosis()),
                    format!("{:.6}", c.excess_kurtosis()),
                )} {row("histogram", bins(&report.histogram_gpu), bins(&report.histogram_cpu))}
                {row(
                    "beyond k\u{00b7}std",
                    tails(&report.tail_gpu.beyond),
                    tails(&report.tail_cpu.beyond),
                )}
            </tbody>
        </table>
    }
}

/// Our ViT kernels' cases: how many, the worst error, and any case over the tolerance.
fn kernels_note(report: &SelfCheck) -> impl IntoView {
    let worst = report.kernels.iter().map(|c| c.worst).fold(0.0, f32::max);
    let failed: Vec<String> = report
        .kernels
        .iter()
        .filter(|c| !c.ok())
        .map(|c| format!("{} ({:.1e})", c.name, c.worst))
        .collect();
    let half = report
        .kernels
        .iter()
        .filter(|c| c.name.contains("f16 weights"))
        .count();
    let whose = if report.kernels_on {
        "Our ViT kernels (linear layers with bias, GELU, LayerScale and residual fused; LayerNorm; softmax; input gradients)"
    } else {
        "burn's ops in place of our ViT kernels (off on this device)"
    };
    view! {
        <p class="note" data-testid="kernels-selfcheck" class:status-bad=!failed.is_empty()>
            {whose}
            ": "
            {report.kernels.len()}
            " cases against the Rust twin"
            {(half > 0).then(|| format!(" ({half} with the weights in f16)"))}
            ", worst error "
            {format!("{worst:.1e}")}
            " (tolerance "
            {format!("{TOL:.0e}")}
            ")"
            {(!failed.is_empty()).then(|| format!("; over it: {}", failed.join(", ")))}
            "."
        </p>
    }
}

/// Why the self-check could not run, shown below the GPU card's status line (so without opening
/// the details); nothing otherwise.
pub fn check_notice(state: &CheckState) -> Option<AnyView> {
    let CheckState::Failed(message) = state else {
        return None;
    };
    Some(
        view! {
            <div class="notice notice-error" role="alert">
                <p class="notice-title" data-testid="selfcheck-status" data-state="error">
                    "The self-check could not run"
                </p>
                <p>{message.clone()}</p>
            </div>
        }
        .into_any(),
    )
}

/// The self-check's item of the GPU card's status line (`selfcheck-status`, but when the check
/// could not run: then its notice carries the test id).
#[component]
pub fn CheckSummary(state: RwSignal<CheckState, LocalStorage>) -> impl IntoView {
    move || match state.get() {
        CheckState::Waiting => view! {
            <span class="status-item muted" data-testid="selfcheck-status" data-state="waiting">
                "self-check waits for the GPU"
            </span>
        }
        .into_any(),
        CheckState::Running => view! {
            <span class="status-item muted" data-testid="selfcheck-status" data-state="running">
                "self-check running\u{2026}"
            </span>
        }
        .into_any(),
        CheckState::Failed(_) => view! {
            <span class="status-item status-bad">
                <span class="dot dot-bad" aria-hidden="true"></span>
                "self-check could not run"
            </span>
        }
        .into_any(),
        CheckState::Done(report) => {
            let passed = report.passed();
            let (class, state_name, verdict) = if passed {
                ("status-item", "passed", "self-check passed")
            } else {
                (
                    "status-item status-bad",
                    "failed",
                    "self-check mismatch: the GPU disagrees with the CPU",
                )
            };
            view! {
                <span class=class data-testid="selfcheck-status" data-state=state_name>
                    <span
                        class=if passed { "dot dot-ok" } else { "dot dot-bad" }
                        aria-hidden="true"
                    ></span>
                    {verdict}
                </span>
            }
            .into_any()
        }
    }
}

/// The self-check's figures, GPU beside CPU, for the GPU card's details.
#[component]
pub fn SelfCheckDetails(state: RwSignal<CheckState, LocalStorage>) -> impl IntoView {
    let body = move || {
        match state.get() {
        CheckState::Waiting => view! { <p class="muted">"Waiting for the GPU."</p> }.into_any(),
        CheckState::Running => view! { <p class="muted">"Running the kernels on " {SELFCHECK_LEN} " values\u{2026}"</p> }
        .into_any(),
        CheckState::Failed(_) => {
            view! { <p class="muted">"No figures: the self-check could not run (see above)."</p> }
                .into_any()
        }
        CheckState::Done(report) => {
            let verdict = if report.passed() {
                "Verified: the GPU agrees with the CPU reference."
            } else {
                "Mismatch: the GPU disagrees with the CPU reference."
            };
            let matmul = format!("{:.2e}", report.matmul_max_abs_err);
            view! {
                <p class="status-line" class:status-bad=!report.passed()>
                    {verdict}
                </p>
                {table(&report)}
                <p class="note">
                    "Tails: values with |x \u{2212} mean| above k = " {format!("{SELFCHECK_KS:?}")}
                    " standard deviations."
                </p>
                <p class="note">
                    "burn matmul 64\u{00d7}96\u{00b7}96\u{00d7}48 on the same device: largest error "
                    <span data-testid="matmul-error">{matmul}</span> " against an f64 reference."
                </p>
                {kernels_note(&report)}
                <pre class="hidden" data-testid="selfcheck-result">
                    {result_json(&report)}
                </pre>
            }
            .into_any()
        }
    }
    };
    view! {
        <section class="detail-block" aria-labelledby="check-heading">
            <h3 id="check-heading">"Self-check"</h3>
            <p class="lede">
                "Moments up to the fourth, extremes, NaN/inf counts, a histogram and tail counts of a million numbers, computed on the GPU by "
                <code>"shaders/moments.wgsl"</code>", "<code>"histogram.wgsl"</code>" and "
                <code>"tail.wgsl"</code> " and recomputed in Rust on the CPU."
            </p>
            {body}
        </section>
    }
}
