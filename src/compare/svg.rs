//! The comparison's plot as a standalone SVG: held-out accuracy per epoch, one line per method
//! (its mean over seeds) inside a band (its 95% interval), with axes and a legend.

use super::Summary;

/// Colours that stay apart for the usual five or six methods (Okabe and Ito's palette).
const COLOURS: [&str; 7] = [
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7",
];

/// Size and margins in pixels (the right margin holds the legend).
const W: f64 = 760.0;
const H: f64 = 400.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 280.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 44.0;

/// The plot; `title` goes above it.
pub fn plot(summary: &Summary, title: &str) -> String {
    let max_epoch = summary
        .methods
        .iter()
        .flat_map(|m| m.curve.iter().map(|(e, _)| *e))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    let x = |epoch: f64| x0 + (x1 - x0) * epoch / max_epoch;
    let y = |acc: f64| y0 + (y1 - y0) * acc.clamp(0.0, 1.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n<text x=\"{LEFT}\" y=\"16\" font-size=\"13\">{}</text>\n",
        escape(title)
    );
    for tick in 0..=5 {
        let acc = tick as f64 / 5.0;
        out += &format!(
            "<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{0:.1}\" y2=\"{0:.1}\" stroke=\"#ddd\"/>\n<text x=\"{1}\" y=\"{2:.1}\" text-anchor=\"end\">{3}</text>\n",
            y(acc),
            x0 - 6.0,
            y(acc) + 4.0,
            (acc * 100.0).round()
        );
    }
    let step = (max_epoch / 10.0).ceil().max(1.0) as usize;
    for e in (0..=max_epoch as usize).step_by(step) {
        out += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{e}</text>\n",
            x(e as f64),
            y0 + 16.0
        );
    }
    out += &format!(
        "<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{y0}\" y2=\"{y0}\" stroke=\"#333\"/>\n<line x1=\"{x0}\" x2=\"{x0}\" y1=\"{y0}\" y2=\"{y1}\" stroke=\"#333\"/>\n<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">epoch</text>\n<text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">held-out accuracy (%)</text>\n",
        (x0 + x1) / 2.0,
        H - 8.0,
        (y0 + y1) / 2.0
    );
    for (i, m) in summary.methods.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let upper: Vec<String> = m
            .curve
            .iter()
            .map(|(e, est)| format!("{:.1},{:.1}", x(*e as f64), y(est.high())))
            .collect();
        let lower: Vec<String> = m
            .curve
            .iter()
            .rev()
            .map(|(e, est)| format!("{:.1},{:.1}", x(*e as f64), y(est.low())))
            .collect();
        let mean: Vec<String> = m
            .curve
            .iter()
            .map(|(e, est)| format!("{:.1},{:.1}", x(*e as f64), y(est.mean)))
            .collect();
        out += &format!(
            "<g data-method=\"{name}\"><polygon points=\"{} {}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>\n<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/></g>\n",
            upper.join(" "),
            lower.join(" "),
            mean.join(" "),
            name = escape(&m.method),
        );
        let ly = TOP + 14.0 + 18.0 * i as f64;
        out += &format!(
            "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1}\" y2=\"{2:.1}\" stroke=\"{colour}\" stroke-width=\"3\"/>\n<text x=\"{3}\" y=\"{4:.1}\" font-size=\"11\">{5} (lr {6:e})</text>\n",
            x1 + 12.0,
            x1 + 32.0,
            ly,
            x1 + 38.0,
            ly + 4.0,
            escape(&m.method),
            m.lr
        );
    }
    out + "</svg>\n"
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::super::{Cell, Point, summarise};
    use super::*;

    #[test]
    fn each_method_gets_a_band_a_line_and_a_legend_entry() {
        let cells: Vec<Cell> = ["head", "vpt<&>"]
            .iter()
            .flat_map(|m| {
                (0..2).map(move |seed| Cell {
                    method: m.to_string(),
                    lr: 0.01,
                    seed,
                    total_steps: 4,
                    diverged_at: None,
                    history: (1..=2)
                        .map(|e| Point {
                            step: 2 * e,
                            epoch: e,
                            epoch_end: true,
                            test_accuracy: 0.3 * e as f64 + 0.1 * seed as f64,
                            validation_accuracy: 0.5,
                            validation_loss: 0.5,
                        })
                        .collect(),
                })
            })
            .collect();
        let svg = plot(&summarise(&cells), "a & b");
        assert_eq!(svg.matches("<polygon").count(), 2);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("vpt&lt;&amp;&gt; (lr 1e-2)") && svg.contains("a &amp; b"));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("NaN"));
    }
}
