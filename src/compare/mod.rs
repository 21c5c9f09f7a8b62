//! A comparison of methods on one data set: every cell (method, learning rate, seed) trained on
//! the same training, validation and held-out images, seeds paired across methods. This module
//! is the arithmetic, shared by `bpt-lab compare` and the page: the learning rate chosen per
//! method on validation accuracy alone, per-epoch means with 95% intervals over seeds, the
//! accuracy after 20% of the steps (how fast) and at the end, and paired differences against
//! VPT and against head-only.

pub mod stats;
pub mod svg;

use serde::{Deserialize, Serialize};

pub use stats::Estimate;

/// One evaluation of one cell.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub step: usize,
    /// Epochs completed.
    pub epoch: usize,
    pub epoch_end: bool,
    pub test_accuracy: f64,
    pub validation_accuracy: f64,
    pub validation_loss: f64,
}

/// One trained cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The method as the grid names it (with its options, e.g. `bpt-bilinear:b-init=xavier`).
    pub method: String,
    pub lr: f64,
    pub seed: u64,
    pub total_steps: usize,
    /// The step whose loss was not finite, for a cell that diverged (its later evaluations
    /// are recorded at zero accuracy).
    pub diverged_at: Option<usize>,
    pub history: Vec<Point>,
}

impl Cell {
    fn last(&self) -> Option<&Point> {
        self.history.last()
    }

    /// The evaluation at `step`, if one was made.
    fn at(&self, step: usize) -> Option<&Point> {
        self.history.iter().find(|p| p.step == step)
    }
}

/// The step at which "after 20% of the steps" is measured: 20% rounded up, at least 1.
pub fn early_step(total_steps: usize) -> usize {
    total_steps.div_ceil(5).max(1)
}

/// One learning rate's standing on validation, over seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub lr: f64,
    pub validation_accuracy: f64,
    pub validation_loss: f64,
}

/// What one method achieved at its chosen learning rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MethodResult {
    pub method: String,
    /// Every learning rate tried, with its mean final validation figures.
    pub candidates: Vec<Candidate>,
    /// The learning rate with the best validation accuracy (see [`choose_lr`]).
    pub lr: f64,
    pub seeds: Vec<u64>,
    /// Held-out accuracy at each epoch's end over seeds: (epoch, estimate).
    pub curve: Vec<(usize, Estimate)>,
    pub early_step: usize,
    pub early: Option<Estimate>,
    pub last: Option<Estimate>,
    /// This method minus VPT, paired by seed: after 20% of the steps, and at the end.
    pub minus_vpt: Option<(Estimate, Estimate)>,
    /// This method minus head-only, paired by seed.
    pub minus_head: Option<(Estimate, Estimate)>,
    /// This method minus the summary's `baseline` method, paired by seed (ablations).
    pub minus_baseline: Option<(Estimate, Estimate)>,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub selection: &'static str,
    /// A method every other is differenced against besides VPT and head-only.
    pub baseline: Option<String>,
    pub methods: Vec<MethodResult>,
}

pub const SELECTION: &str = "per method, the learning rate with the highest mean validation accuracy \
at the last step over the seeds (ties: the lower mean validation loss, then the smaller rate); \
held-out images never enter the choice";

/// Mean final validation (accuracy, loss) of a method's cells at one rate.
fn validation_at(cells: &[&Cell], lr: f64) -> Option<Candidate> {
    let finals: Vec<&Point> = cells
        .iter()
        .filter(|c| c.lr == lr)
        .filter_map(|c| c.last())
        .collect();
    if finals.is_empty() {
        return None;
    }
    let n = finals.len() as f64;
    Some(Candidate {
        lr,
        validation_accuracy: finals.iter().map(|p| p.validation_accuracy).sum::<f64>() / n,
        validation_loss: finals.iter().map(|p| p.validation_loss).sum::<f64>() / n,
    })
}

/// The learning rate [`SELECTION`] picks among `candidates`.
pub fn choose_lr(candidates: &[Candidate]) -> Option<f64> {
    candidates
        .iter()
        .min_by(|a, b| {
            b.validation_accuracy
                .total_cmp(&a.validation_accuracy)
                .then(a.validation_loss.total_cmp(&b.validation_loss))
                .then(a.lr.total_cmp(&b.lr))
        })
        .map(|c| c.lr)
}

/// Test accuracy at `step` of each seed's cell, in seed order; None if any seed lacks it.
fn per_seed(cells: &[&Cell], seeds: &[u64], step: Option<usize>) -> Option<Vec<f64>> {
    seeds
        .iter()
        .map(|s| {
            let cell = cells.iter().find(|c| c.seed == *s)?;
            let p = match step {
                Some(step) => cell.at(step),
                None => cell.last(),
            }?;
            Some(p.test_accuracy)
        })
        .collect()
}

/// Summarises `cells`, methods in the order they first appear.
pub fn summarise(cells: &[Cell]) -> Summary {
    summarise_against(cells, None)
}

/// [`summarise`], with paired differences against `baseline` as well.
pub fn summarise_against(cells: &[Cell], baseline: Option<&str>) -> Summary {
    let mut names: Vec<&str> = Vec::new();
    for c in cells {
        if !names.contains(&c.method.as_str()) {
            names.push(&c.method);
        }
    }
    // Each method at its chosen rate: (name, chosen cells, candidates, rate).
    let mut chosen = Vec::new();
    for name in &names {
        let mine: Vec<&Cell> = cells.iter().filter(|c| c.method == *name).collect();
        let mut lrs: Vec<f64> = mine.iter().map(|c| c.lr).collect();
        lrs.sort_by(f64::total_cmp);
        lrs.dedup();
        let candidates: Vec<Candidate> = lrs
            .iter()
            .filter_map(|&lr| validation_at(&mine, lr))
            .collect();
        let Some(lr) = choose_lr(&candidates) else {
            continue;
        };
        let at_lr: Vec<&Cell> = mine.into_iter().filter(|c| c.lr == lr).collect();
        chosen.push((name.to_string(), at_lr, candidates, lr));
    }
    let cells_of = |name: &str| {
        chosen
            .iter()
            .find(|(n, ..)| n == name)
            .map(|(_, c, ..)| c.clone())
    };
    let (vpt, head) = (cells_of("vpt"), cells_of("head"));
    let other = baseline.and_then(cells_of);

    let methods = chosen
        .iter()
        .map(|(name, at_lr, candidates, lr)| {
            let mut seeds: Vec<u64> = at_lr.iter().map(|c| c.seed).collect();
            seeds.sort_unstable();
            let total = at_lr.first().map_or(0, |c| c.total_steps);
            let early = early_step(total);
            let epochs: Vec<usize> = at_lr
                .first()
                .map(|c| {
                    c.history
                        .iter()
                        .filter(|p| p.epoch_end)
                        .map(|p| p.epoch)
                        .collect()
                })
                .unwrap_or_default();
            let curve = epochs
                .iter()
                .filter_map(|&e| {
                    let values: Option<Vec<f64>> = seeds
                        .iter()
                        .map(|s| {
                            let cell = at_lr.iter().find(|c| c.seed == *s)?;
                            let p = cell.history.iter().find(|p| p.epoch_end && p.epoch == e)?;
                            Some(p.test_accuracy)
                        })
                        .collect();
                    Some((e, Estimate::of(&values?)?))
                })
                .collect();
            let mine_early = per_seed(at_lr, &seeds, Some(early));
            let mine_last = per_seed(at_lr, &seeds, None);
            let against = |other: &Option<Vec<&Cell>>| -> Option<(Estimate, Estimate)> {
                let other = other.as_ref()?;
                let e =
                    Estimate::paired(mine_early.as_ref()?, &per_seed(other, &seeds, Some(early))?)?;
                let l = Estimate::paired(mine_last.as_ref()?, &per_seed(other, &seeds, None)?)?;
                Some((e, l))
            };
            MethodResult {
                method: name.clone(),
                candidates: candidates.clone(),
                lr: *lr,
                early_step: early,
                early: mine_early.as_deref().and_then(Estimate::of),
                last: mine_last.as_deref().and_then(Estimate::of),
                minus_vpt: (name != "vpt").then(|| against(&vpt)).flatten(),
                minus_head: (name != "head").then(|| against(&head)).flatten(),
                minus_baseline: (Some(name.as_str()) != baseline)
                    .then(|| against(&other))
                    .flatten(),
                curve,
                seeds,
            }
        })
        .collect();
    Summary {
        selection: SELECTION,
        baseline: baseline.map(String::from),
        methods,
    }
}

impl Summary {
    /// The headline of a comparison: `method` minus VPT, paired by seed, at the end and after 20%
    /// of the steps, in points (`label` names the method), e.g. "BPT-bilinear minus VPT: +1.5 ±
    /// 9.4 points at the end, -0.7 ± 27.6 after 20% of the steps". None until both have results.
    pub fn verdict(&self, method: &str, label: &str) -> Option<String> {
        let m = self.methods.iter().find(|m| m.method == method)?;
        let (early, last) = m.minus_vpt.as_ref()?;
        Some(format!(
            "{label} minus VPT: {} points at the end, {} after 20% of the steps ({} seed{})",
            last.show(100.0, true),
            early.show(100.0, true),
            last.n,
            if last.n == 1 { "" } else { "s" }
        ))
    }

    /// The comparison as Markdown: the main table, then held-out accuracy per epoch.
    pub fn markdown(&self) -> String {
        let show = |e: &Option<Estimate>, signed| {
            e.as_ref()
                .map_or("-".to_string(), |e| e.show(100.0, signed))
        };
        let pair = |p: &Option<(Estimate, Estimate)>, end: bool| {
            p.as_ref().map_or("-".to_string(), |(early, last)| {
                (if end { last } else { early }).show(100.0, true)
            })
        };
        let mut out = String::from(
            "| method | lr (chosen on validation) | validation acc. | test acc. after 20% of steps | test acc. at the end | minus VPT, 20% | minus VPT, end | minus head-only, end |",
        );
        if let Some(b) = &self.baseline {
            out += &format!(" minus {b}, 20% | minus {b}, end |");
        }
        out += "\n|---|---|---|---|---|---|---|---|";
        if self.baseline.is_some() {
            out += "---|---|";
        }
        out += "\n";
        for m in &self.methods {
            let val = m
                .candidates
                .iter()
                .find(|c| c.lr == m.lr)
                .map_or(f64::NAN, |c| c.validation_accuracy);
            out += &format!(
                "| {} | {:e} | {:.1} | {} | {} | {} | {} | {} |",
                m.method,
                m.lr,
                100.0 * val,
                show(&m.early, false),
                show(&m.last, false),
                pair(&m.minus_vpt, false),
                pair(&m.minus_vpt, true),
                pair(&m.minus_head, true),
            );
            if self.baseline.is_some() {
                out += &format!(
                    " {} | {} |",
                    pair(&m.minus_baseline, false),
                    pair(&m.minus_baseline, true)
                );
            }
            out += "\n";
        }
        out += "\nHeld-out accuracy (%) per epoch, mean ± 95% interval over seeds:\n\n| epoch |";
        for m in &self.methods {
            out += &format!(" {} |", m.method);
        }
        out += "\n|---|";
        out += &"---|".repeat(self.methods.len());
        out += "\n";
        let epochs: Vec<usize> = self
            .methods
            .first()
            .map(|m| m.curve.iter().map(|(e, _)| *e).collect())
            .unwrap_or_default();
        for e in epochs {
            out += &format!("| {e} |");
            for m in &self.methods {
                let cell = m.curve.iter().find(|(x, _)| *x == e).map(|(_, est)| *est);
                out += &format!(" {} |", show(&cell, false));
            }
            out += "\n";
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cell whose validation and test accuracies are constant over its two epochs.
    fn cell(method: &str, lr: f64, seed: u64, val: f64, test: f64) -> Cell {
        let point = |epoch, step| Point {
            step,
            epoch,
            epoch_end: step.is_multiple_of(5),
            test_accuracy: test + 0.01 * seed as f64,
            validation_accuracy: val,
            validation_loss: 1.0 - val,
        };
        Cell {
            method: method.into(),
            lr,
            seed,
            total_steps: 10,
            diverged_at: None,
            history: vec![point(0, 2), point(1, 5), point(2, 10)],
        }
    }

    #[test]
    fn the_verdict_is_the_paired_difference_from_vpt_at_the_end_and_early() {
        // test accuracy 0.6 + 0.01 seed for BPT, 0.5 + 0.01 seed for VPT: +10 points, no spread.
        let cells: Vec<Cell> = (0..3)
            .flat_map(|seed| {
                [
                    cell("vpt", 0.1, seed, 0.5, 0.5),
                    cell("bpt", 0.1, seed, 0.5, 0.6),
                ]
            })
            .collect();
        let summary = summarise(&cells);
        assert_eq!(
            summary.verdict("bpt", "BPT-bilinear").as_deref(),
            Some(
                "BPT-bilinear minus VPT: +10.0 ± 0.0 points at the end, +10.0 ± 0.0 after 20% of \
                 the steps (3 seeds)"
            )
        );
        assert_eq!(
            summary.verdict("vpt", "VPT"),
            None,
            "VPT is not differenced from itself"
        );
        let one_side = summarise(&cells[..1]);
        assert_eq!(one_side.verdict("bpt", "BPT"), None, "no BPT results yet");
    }

    #[test]
    fn the_rate_is_chosen_on_validation_even_where_the_test_set_prefers_another() {
        let mut cells = Vec::new();
        for seed in 0..3 {
            // lr 0.1 is best on validation, 0.01 on the held-out images.
            cells.push(cell("vpt", 0.1, seed, 0.8, 0.5));
            cells.push(cell("vpt", 0.01, seed, 0.6, 0.9));
        }
        let s = summarise(&cells);
        assert_eq!(s.methods[0].lr, 0.1);
        assert!((s.methods[0].last.unwrap().mean - 0.51).abs() < 1e-12);
    }

    #[test]
    fn ties_on_validation_go_to_the_lower_loss_then_the_smaller_rate() {
        let c = |lr, acc, loss| Candidate {
            lr,
            validation_accuracy: acc,
            validation_loss: loss,
        };
        assert_eq!(
            choose_lr(&[c(0.1, 0.8, 0.5), c(0.01, 0.8, 0.4)]),
            Some(0.01)
        );
        assert_eq!(
            choose_lr(&[c(0.1, 0.8, 0.4), c(0.01, 0.8, 0.4)]),
            Some(0.01)
        );
        assert_eq!(choose_lr(&[]), None);
    }

    #[test]
    fn differences_pair_seeds_against_vpt_and_head_only() {
        let mut cells = Vec::new();
        for seed in 0..3 {
            cells.push(cell("head", 0.1, seed, 0.5, 0.40));
            cells.push(cell("vpt", 0.1, seed, 0.6, 0.50));
            cells.push(cell("bpt-bilinear", 0.1, seed, 0.7, 0.65));
        }
        let s = summarise(&cells);
        let bpt = &s.methods[2];
        let (early, last) = bpt.minus_vpt.unwrap();
        assert!((last.mean - 0.15).abs() < 1e-9 && (early.mean - 0.15).abs() < 1e-9);
        assert!(last.half_width.unwrap() < 1e-9, "paired by seed");
        assert!((bpt.minus_head.unwrap().1.mean - 0.25).abs() < 1e-9);
        assert!(s.methods[1].minus_vpt.is_none() && s.methods[0].minus_head.is_none());
        assert_eq!(bpt.early_step, 2);
        assert_eq!(
            bpt.curve.iter().map(|(e, _)| *e).collect::<Vec<_>>(),
            vec![1, 2]
        );
        let md = s.markdown();
        assert!(md.contains("| bpt-bilinear | 1e-1 | 70.0 | 66.0 ± 2.5 | 66.0 ± 2.5 | +15.0 ± 0.0 | +15.0 ± 0.0 | +25.0 ± 0.0 |"), "{md}");
    }

    #[test]
    fn a_named_baseline_gets_its_own_paired_differences() {
        let mut cells = Vec::new();
        for seed in 0..2 {
            cells.push(cell("base", 0.1, seed, 0.5, 0.40));
            cells.push(cell("variant", 0.1, seed, 0.5, 0.45));
        }
        let s = summarise_against(&cells, Some("base"));
        assert!(s.methods[0].minus_baseline.is_none());
        let (_, last) = s.methods[1].minus_baseline.unwrap();
        assert!((last.mean - 0.05).abs() < 1e-9);
        assert!(s.markdown().contains("minus base, end |"));
        assert!(summarise(&cells).methods[1].minus_baseline.is_none());
    }
}
