//! A histogram on a log-y axis as hand-written SVG, with the Gaussian and Laplace fits drawn as
//! expected counts per bin, so a straight-sided tent (Laplace) or a parabola (Gaussian) reads
//! off directly, as in the paper's figures.

use leptos::prelude::*;

use crate::stats::Summary;

const W: f64 = 300.0;
const H: f64 = 180.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 30.0;

/// Points of a fit's expected counts per bin, log10 scale, where at least 0.1 value is expected.
fn fit_curve(s: &Summary, log_density: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    let edges = s.histogram.edges();
    let n = s.moments.count as f64;
    let width = edges[1] - edges[0];
    (0..edges.len() - 1)
        .map(|i| {
            let centre = 0.5 * (edges[i] + edges[i + 1]);
            (
                centre,
                (n * width).log10() + log_density(centre) / std::f64::consts::LN_10,
            )
        })
        .filter(|(_, y)| y.is_finite() && *y >= -1.0)
        .collect()
}

#[component]
pub fn HistogramChart(title: String, summary: Summary, testid: String) -> impl IntoView {
    let edges = summary.histogram.edges();
    let counts = &summary.histogram.counts;
    let (x0, x1) = (edges[0], edges[edges.len() - 1]);
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let y1 = top.log10().ceil().max(1.0);
    let y0 = -1.0;
    let sx = move |v: f64| LEFT + (v - x0) / (x1 - x0).max(1e-30) * (W - LEFT - RIGHT);
    let sy = move |v: f64| H - BOTTOM - (v.clamp(y0, y1) - y0) / (y1 - y0) * (H - TOP - BOTTOM);
    let bars = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, &c)| {
            let (a, b) = (sx(edges[i]), sx(edges[i + 1]));
            let y = sy((c as f64).log10());
            view! { <rect class="hist-bar" x=a y=y width=(b - a).max(0.5) height=(H - BOTTOM - y).max(0.0) /> }
        })
        .collect_view();
    let line = |points: Vec<(f64, f64)>| {
        points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let gauss = summary
        .fits
        .gaussian
        .map(|g| line(fit_curve(&summary, |x| g.log_density(x))));
    let laplace = summary
        .fits
        .laplace
        .map(|l| line(fit_curve(&summary, |x| l.log_density(x))));
    let decades = (y0 as i64..=y1 as i64)
        .map(|d| {
            let y = sy(d as f64);
            view! {
                <line class="chart-grid" x1=LEFT x2=W - RIGHT y1=y y2=y />
                <text class="chart-tick" x=LEFT - 4.0 y=y + 3.0 text-anchor="end">
                    {format!("1e{d}")}
                </text>
            }
        })
        .collect_view();
    let x_ticks = [x0, 0.5 * (x0 + x1), x1]
        .into_iter()
        .map(|v| {
            view! {
                <text class="chart-tick" x=sx(v) y=H - BOTTOM + 14.0 text-anchor="middle">
                    {format!("{v:.3}")}
                </text>
            }
        })
        .collect_view();
    view! {
        <svg
            class="hist"
            viewBox=format!("0 0 {W} {H}")
            role="img"
            aria-label=title
            data-testid=testid
        >
            {decades}
            {bars}
            {gauss.map(|p| view! { <polyline class="fit-gauss" points=p /> })}
            {laplace.map(|p| view! { <polyline class="fit-laplace" points=p /> })}
            <line class="chart-axis" x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM />
            {x_ticks}
            <text class="chart-label" x=(LEFT + W - RIGHT) / 2.0 y=H - 2.0 text-anchor="middle">
                "value"
            </text>
        </svg>
    }
}
