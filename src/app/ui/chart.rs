//! Line charts as hand-written SVG: axes with rounded ticks, labels, one polyline (and point
//! markers when there are few points) per series, a shaded band around it when the series has
//! one (a 95% interval), and an HTML legend beside them.

use leptos::prelude::*;

/// One curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
    /// (x, low, high) around the curve, drawn as a shaded band; empty for none.
    pub band: Vec<(f64, f64, f64)>,
}

const W: f64 = 560.0;
const H: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 42.0;

/// About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of 10),
/// at least `min_step` apart (1 on the step and epoch axes, which count).
pub fn ticks(lo: f64, hi: f64, count: usize, min_step: f64) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / count.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power)
        .max(min_step);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Text of a tick value with as many decimals as its step needs.
fn tick_text(v: f64, step: f64, percent: bool) -> String {
    if percent {
        return format!("{:.0}%", v * 100.0);
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// The data range of all series, widened when flat.
fn extent(series: &[Series], pick: impl Fn(&(f64, f64)) -> f64) -> Option<(f64, f64)> {
    let values = series.iter().flat_map(|s| s.points.iter().map(&pick));
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    Some(if hi - lo < 1e-9 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    })
}

#[component]
pub fn LineChart(
    /// Accessible name of the figure.
    title: &'static str,
    x_label: &'static str,
    y_label: &'static str,
    series: Signal<Vec<Series>>,
    /// A fixed y range (accuracy: 0 to 1), else the data's.
    #[prop(optional)]
    y_range: Option<(f64, f64)>,
    /// Show y as percent.
    #[prop(optional)]
    percent: bool,
    testid: &'static str,
) -> impl IntoView {
    let plot = move || {
        let all = series.get();
        let Some(x) = extent(&all, |p| p.0) else {
            return view! {
                <text x=W / 2.0 y=H / 2.0 text-anchor="middle" class="chart-empty">
                    "No data yet"
                </text>
            }
            .into_any();
        };
        let (x0, x1) = (x.0.min(0.0), x.1);
        let (y0, y1) = y_range
            .or_else(|| extent(&all, |p| p.1))
            .unwrap_or((0.0, 1.0));
        let (y0, y1) = if y_range.is_none() {
            (y0.min(0.0), y1 * 1.05)
        } else {
            (y0, y1)
        };
        let sx = move |v: f64| LEFT + (v - x0) / (x1 - x0).max(1e-12) * (W - LEFT - RIGHT);
        let sy = move |v: f64| H - BOTTOM - (v - y0) / (y1 - y0).max(1e-12) * (H - TOP - BOTTOM);
        let xt = ticks(x0, x1, 6, 1.0);
        let yt = ticks(y0, y1, 5, 0.0);
        let xstep = xt.get(1).zip(xt.first()).map_or(1.0, |(b, a)| b - a);
        let ystep = yt.get(1).zip(yt.first()).map_or(1.0, |(b, a)| b - a);
        let grid = yt
            .iter()
            .map(|&v| {
                view! {
                    <line class="chart-grid" x1=LEFT x2=W - RIGHT y1=sy(v) y2=sy(v) />
                    <text class="chart-tick" x=LEFT - 6.0 y=sy(v) + 4.0 text-anchor="end">
                        {tick_text(v, ystep, percent)}
                    </text>
                }
            })
            .collect_view();
        let xticks = xt
            .iter()
            .map(|&v| {
                view! {
                    <line class="chart-axis" x1=sx(v) x2=sx(v) y1=H - BOTTOM y2=H - BOTTOM + 4.0 />
                    <text class="chart-tick" x=sx(v) y=H - BOTTOM + 16.0 text-anchor="middle">
                        {tick_text(v, xstep, false)}
                    </text>
                }
            })
            .collect_view();
        let lines = all
            .iter()
            .map(|s| {
                let finite: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .collect();
                let points = finite
                    .iter()
                    .map(|&(x, y)| format!("{:.2},{:.2}", sx(x), sy(y)))
                    .collect::<Vec<_>>()
                    .join(" ");
                let band: Vec<(f64, f64, f64)> = s
                    .band
                    .iter()
                    .copied()
                    .filter(|b| b.0.is_finite() && b.1.is_finite() && b.2.is_finite())
                    .collect();
                // Along the upper edge, then back along the lower one.
                let band = (!band.is_empty()).then(|| {
                    // An interval wider than the axis (few seeds) is cut at its ends.
                    let edge = band
                        .iter()
                        .map(|&(x, _, hi)| (x, hi.clamp(y0, y1)))
                        .chain(band.iter().rev().map(|&(x, lo, _)| (x, lo.clamp(y0, y1))))
                        .map(|(x, y)| format!("{:.2},{:.2}", sx(x), sy(y)))
                        .collect::<Vec<_>>()
                        .join(" ");
                    view! { <polygon class="chart-band" points=edge fill=s.color fill-opacity="0.16" stroke="none" /> }
                });
                let markers = (finite.len() <= 40).then(|| {
                    finite
                        .iter()
                        .map(|&(x, y)| {
                            view! { <circle cx=sx(x) cy=sy(y) r="3" fill=s.color /> }
                        })
                        .collect_view()
                });
                view! {
                    <g class="chart-series" data-label=s.label.clone()>
                        {band}
                        <polyline
                            points=points
                            fill="none"
                            stroke=s.color
                            stroke-width="2"
                            stroke-linejoin="round"
                        />
                        {markers}
                    </g>
                }
            })
            .collect_view();
        view! {
            {grid}
            <line class="chart-axis" x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM />
            <line class="chart-axis" x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM />
            {xticks}
            {lines}
        }
        .into_any()
    };
    let legend = move || {
        series
            .get()
            .into_iter()
            .map(|s| {
                view! {
                    <li>
                        <span class="swatch" style:background=s.color aria-hidden="true"></span>
                        {s.label}
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption class="chart-title">{title}</figcaption>
            <svg
                viewBox=format!("0 0 {W} {H}")
                role="img"
                aria-label=format!("{title}: {y_label} against {x_label}")
                preserveAspectRatio="xMidYMid meet"
            >
                {plot}
                <text class="chart-label" x=(LEFT + W - RIGHT) / 2.0 y=H - 6.0 text-anchor="middle">
                    {x_label}
                </text>
                <text
                    class="chart-label"
                    transform=format!("translate(14 {}) rotate(-90)", (TOP + H - BOTTOM) / 2.0)
                    text-anchor="middle"
                >
                    {y_label}
                </text>
            </svg>
            <ul class="legend">{legend}</ul>
        </figure>
    }
}
