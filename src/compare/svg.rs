//! The comparison's plot as a standalone SVG, two panels side by side: held-out accuracy at every
//! evaluation step and the training loss per epoch, one line per method (its mean over the
//! pairs) inside a band (its 95% interval), with axes and a legend.

use super::{Estimate, MethodResult, Summary};

/// Colours that stay apart for the usual five or six methods (Okabe and Ito's palette).
const COLOURS: [&str; 7] = [
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7",
];

/// Size and margins in pixels: two panels, then the legend on the right.
const W: f64 = 1060.0;
const H: f64 = 400.0;
const PANEL: f64 = 340.0;
const GAP: f64 = 70.0;
const LEFT: f64 = 56.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 44.0;

/// One panel's frame: x and y ranges mapped into its box.
struct Frame {
    x0: f64,
    x1: f64,
    max_x: f64,
    y_low: f64,
    y_high: f64,
}

impl Frame {
    fn x(&self, v: f64) -> f64 {
        self.x0 + (self.x1 - self.x0) * v / self.max_x
    }

    fn y(&self, v: f64) -> f64 {
        let (y0, y1) = (H - BOTTOM, TOP);
        let t = ((v - self.y_low) / (self.y_high - self.y_low)).clamp(0.0, 1.0);
        y0 + (y1 - y0) * t
    }

    /// Axes, grid lines and labels; y ticks shown as `tick(value)`.
    fn axes(&self, x_label: &str, y_label: &str, tick: impl Fn(f64) -> String) -> String {
        let (y0, y1) = (H - BOTTOM, TOP);
        let mut out = String::new();
        for i in 0..=5 {
            let v = self.y_low + (self.y_high - self.y_low) * i as f64 / 5.0;
            out += &format!(
                "<line x1=\"{}\" x2=\"{}\" y1=\"{2:.1}\" y2=\"{2:.1}\" stroke=\"#ddd\"/>\n<text x=\"{3}\" y=\"{4:.1}\" text-anchor=\"end\">{5}</text>\n",
                self.x0,
                self.x1,
                self.y(v),
                self.x0 - 6.0,
                self.y(v) + 4.0,
                tick(v)
            );
        }
        let every = (self.max_x / 8.0).ceil().max(1.0) as usize;
        for v in (0..=self.max_x as usize).step_by(every) {
            out += &format!(
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{v}</text>\n",
                self.x(v as f64),
                y0 + 16.0
            );
        }
        out + &format!(
            "<line x1=\"{0}\" x2=\"{1}\" y1=\"{y0}\" y2=\"{y0}\" stroke=\"#333\"/>\n<line x1=\"{0}\" x2=\"{0}\" y1=\"{y0}\" y2=\"{y1}\" stroke=\"#333\"/>\n<text x=\"{2:.1}\" y=\"{3}\" text-anchor=\"middle\">{x_label}</text>\n<text transform=\"translate({4:.1} {5:.1}) rotate(-90)\" text-anchor=\"middle\">{y_label}</text>\n",
            self.x0,
            self.x1,
            (self.x0 + self.x1) / 2.0,
            H - 8.0,
            self.x0 - 42.0,
            (y0 + y1) / 2.0
        )
    }

    /// A method's band and mean line through `series` (x, estimate).
    fn series(
        &self,
        series: &[(usize, Estimate)],
        colour: &str,
        name: &str,
        panel: &str,
    ) -> String {
        let points = |f: &dyn Fn(&Estimate) -> f64, rev: bool| {
            let mut p: Vec<String> = series
                .iter()
                .map(|(x, e)| format!("{:.1},{:.1}", self.x(*x as f64), self.y(f(e))))
                .collect();
            if rev {
                p.reverse();
            }
            p.join(" ")
        };
        format!(
            "<g data-method=\"{name}\" data-panel=\"{panel}\"><polygon points=\"{} {}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>\n<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/></g>\n",
            points(&Estimate::high, false),
            points(&Estimate::low, true),
            points(&|e| e.mean, false),
        )
    }
}

/// The plot; `title` goes above it.
pub fn plot(summary: &Summary, title: &str) -> String {
    let max_of = |f: &dyn Fn(&MethodResult) -> Vec<usize>| {
        summary.methods.iter().flat_map(f).max().unwrap_or(1).max(1) as f64
    };
    let accuracy = Frame {
        x0: LEFT,
        x1: LEFT + PANEL,
        max_x: max_of(&|m| m.at_steps.iter().map(|(s, _)| *s).collect()),
        y_low: 0.0,
        y_high: 1.0,
    };
    let losses: Vec<f64> = summary
        .methods
        .iter()
        .flat_map(|m| m.loss_curve.iter().flat_map(|(_, e)| [e.low(), e.high()]))
        .filter(|v| v.is_finite())
        .collect();
    let loss_high = losses.iter().copied().fold(0.0, f64::max);
    let loss = Frame {
        x0: LEFT + PANEL + GAP,
        x1: LEFT + 2.0 * PANEL + GAP,
        max_x: max_of(&|m| m.loss_curve.iter().map(|(e, _)| *e).collect()),
        y_low: 0.0,
        y_high: if loss_high > 0.0 {
            loss_high * 1.05
        } else {
            1.0
        },
    };
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n<text x=\"{LEFT}\" y=\"16\" font-size=\"13\">{}</text>\n",
        escape(title)
    );
    out += &accuracy.axes("step", "held-out accuracy (%)", |v| {
        format!("{}", (v * 100.0).round())
    });
    out += &loss.axes("epoch", "training loss", |v| format!("{v:.2}"));
    let legend_x = loss.x1 + 24.0;
    for (i, m) in summary.methods.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let name = escape(&m.method);
        out += &accuracy.series(&m.at_steps, colour, &name, "accuracy");
        out += &loss.series(&m.loss_curve, colour, &name, "loss");
        let ly = TOP + 14.0 + 18.0 * i as f64;
        out += &format!(
            "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1}\" y2=\"{2:.1}\" stroke=\"{colour}\" stroke-width=\"3\"/>\n<text x=\"{3}\" y=\"{4:.1}\" font-size=\"11\">{name} (lr {5:e})</text>\n",
            legend_x,
            legend_x + 20.0,
            ly,
            legend_x + 26.0,
            ly + 4.0,
            m.setting.lr
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
    use super::super::{Cell, Point, Setting, summarise};
    use super::*;

    #[test]
    fn each_method_gets_a_band_a_line_and_a_legend_entry() {
        let cells: Vec<Cell> = ["head", "vpt<&>"]
            .iter()
            .flat_map(|m| {
                (0..2).map(move |seed| Cell {
                    method: m.to_string(),
                    setting: Setting {
                        lr: 0.01,
                        lr_head: None,
                        epsilon: None,
                    },
                    draw: 0,
                    seed,
                    total_steps: 4,
                    steps_per_epoch: 2,
                    diverged_at: None,
                    train_loss: vec![1.0, 0.5 + 0.1 * seed as f64],
                    train_loss_early: Some(1.0),
                    diagnostics: None,
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
        // Two panels (accuracy by step, training loss by epoch), each with every method.
        assert_eq!(svg.matches("<polygon").count(), 4);
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert_eq!(svg.matches("data-panel=\"loss\"").count(), 2);
        assert!(svg.contains(">training loss</text>") && svg.contains(">step</text>"));
        assert!(svg.contains("vpt&lt;&amp;&gt; (lr 1e-2)") && svg.contains("a &amp; b"));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("NaN"));
    }
}
