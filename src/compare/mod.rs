//! A comparison of methods on one data set: every cell (method, setting, draw, seed) trained
//! on the same pictures as its pair in every other method, the held-out images shared by all.
//! This module is the arithmetic, shared by `bpt-lab compare` and the page: the setting (prompt
//! rate, head rate, epsilon) chosen per method on validation accuracy alone, means with 95%
//! intervals over the (draw, seed) pairs, held-out accuracy and training loss after 20% of the
//! steps (how fast) and at the end, paired differences against VPT and against head-only, and
//! the whitening's diagnostics of the whitened methods.
//!
//! Pairing: a pair is one draw of the shots and one seed. Two methods are differenced pair by
//! pair, so the draw is a blocking factor: what a draw makes easy or hard for both cancels.
//! The interval of a difference is Student's t over the pairs' differences (draws x seeds - 1
//! degrees of freedom), which treats the pairs as exchangeable; the per-draw means are in
//! `per_draw` for a reader who wants the draws alone.

pub mod stats;
pub mod svg;

use serde::{Deserialize, Serialize};

pub use stats::Estimate;

use crate::whiten::diagnostics::Diagnostics;

/// One evaluation of one cell.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub step: usize,
    /// Epochs completed.
    pub epoch: usize,
    pub epoch_end: bool,
    pub test_accuracy: f64,
    pub validation_accuracy: f64,
    /// Infinite after a cell diverged, which JSON writes as null.
    #[serde(deserialize_with = "null_as_infinity")]
    pub validation_loss: f64,
}

/// A number, or null (how serde_json writes an infinity) as +infinity.
fn null_as_infinity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

/// What a grid varies besides the method, and chooses per method on validation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    /// The prompts' peak learning rate (head-only: the head's).
    pub lr: f64,
    /// The head's peak learning rate; None where the run did not record it apart (the page's
    /// runs, and compare.json files from before it was a grid axis).
    #[serde(default)]
    pub lr_head: Option<f64>,
    /// The whitening's epsilon, for the methods that whiten.
    #[serde(default)]
    pub epsilon: Option<f64>,
}

impl Setting {
    fn same(&self, other: &Setting) -> bool {
        let opt = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => a.total_cmp(&b).is_eq(),
            (None, None) => true,
            _ => false,
        };
        self.lr.total_cmp(&other.lr).is_eq()
            && opt(self.lr_head, other.lr_head)
            && opt(self.epsilon, other.epsilon)
    }

    /// The order ties are broken in: the smaller prompt rate, head rate, then epsilon.
    fn order(&self, other: &Setting) -> std::cmp::Ordering {
        let opt = |a: Option<f64>, b: Option<f64>| a.unwrap_or(0.0).total_cmp(&b.unwrap_or(0.0));
        self.lr
            .total_cmp(&other.lr)
            .then(opt(self.lr_head, other.lr_head))
            .then(opt(self.epsilon, other.epsilon))
    }
}

/// One trained cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The method as the grid names it (with its options, e.g. `bpt-bilinear:b-init=xavier`).
    pub method: String,
    #[serde(flatten)]
    pub setting: Setting,
    /// Which draw of the shots it trained on (0 with a single draw).
    #[serde(default)]
    pub draw: usize,
    pub seed: u64,
    pub total_steps: usize,
    /// Steps in one epoch (0 where unknown: inferred from the history).
    #[serde(default)]
    pub steps_per_epoch: usize,
    /// The step whose loss was not finite, for a cell that diverged (its later evaluations
    /// are recorded at zero accuracy).
    pub diverged_at: Option<usize>,
    pub history: Vec<Point>,
    /// Mean training loss of each epoch's steps, in order (epochs a diverged cell did not
    /// finish are missing).
    #[serde(default)]
    pub train_loss: Vec<f64>,
    /// Mean training loss of the epoch's worth of steps that ends at the 20% mark
    /// ([`early_step`]); None for a diverged cell that did not get there.
    #[serde(default)]
    pub train_loss_early: Option<f64>,
    /// The whitening's diagnostics, for a method that whitens.
    #[serde(default)]
    pub diagnostics: Option<Diagnostics>,
}

impl Cell {
    fn last(&self) -> Option<&Point> {
        self.history.last()
    }

    /// The evaluation at `step`, if one was made.
    fn at(&self, step: usize) -> Option<&Point> {
        self.history.iter().find(|p| p.step == step)
    }

    fn pair(&self) -> (usize, u64) {
        (self.draw, self.seed)
    }

    /// Steps per epoch: recorded, else read off an epoch-end evaluation.
    pub fn epoch_steps(&self) -> Option<usize> {
        if self.steps_per_epoch > 0 {
            return Some(self.steps_per_epoch);
        }
        self.history
            .iter()
            .find(|p| p.epoch_end && p.epoch > 0)
            .map(|p| p.step / p.epoch)
    }
}

/// The step at which "after 20% of the steps" is measured: 20% rounded up, at least 1.
pub fn early_step(total_steps: usize) -> usize {
    total_steps.div_ceil(5).max(1)
}

/// The mean of the per-step losses `losses` (step 1 first) over the `window` steps that end at
/// step `end` (fewer at the start); None when the run did not get to `end`.
pub fn window_mean(losses: &[f32], end: usize, window: usize) -> Option<f64> {
    if end == 0 || end > losses.len() {
        return None;
    }
    let start = end.saturating_sub(window.max(1));
    let part = &losses[start..end];
    Some(part.iter().map(|&l| l as f64).sum::<f64>() / part.len() as f64)
}

/// The mean of each whole epoch's step losses.
pub fn epoch_means(losses: &[f32], steps_per_epoch: usize) -> Vec<f64> {
    losses
        .chunks_exact(steps_per_epoch.max(1))
        .map(|c| c.iter().map(|&l| l as f64).sum::<f64>() / c.len() as f64)
        .collect()
}

/// One setting's standing on validation, over the pairs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    #[serde(flatten)]
    pub setting: Setting,
    pub validation_accuracy: f64,
    pub validation_loss: f64,
    /// Cells averaged.
    pub runs: usize,
}

/// A paired difference after 20% of the steps and at the end (either None where the runs were
/// not evaluated there).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Pair {
    pub early: Option<Estimate>,
    pub last: Option<Estimate>,
}

/// What one method achieved at its chosen setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MethodResult {
    pub method: String,
    /// Every setting tried, with its mean final validation figures.
    pub candidates: Vec<Candidate>,
    /// The setting with the best validation accuracy (see [`choose`]).
    #[serde(flatten)]
    pub setting: Setting,
    /// The draws and seeds of the pairs at that setting.
    pub draws: Vec<usize>,
    pub seeds: Vec<u64>,
    /// (draw, seed) pairs every estimate is over.
    pub pairs: usize,
    pub steps_per_epoch: Option<usize>,
    /// Held-out accuracy at each epoch's end: (epoch, estimate) (runs evaluated every epoch).
    pub curve: Vec<(usize, Estimate)>,
    /// Held-out accuracy at every evaluation all pairs made: (step, estimate).
    pub at_steps: Vec<(usize, Estimate)>,
    /// Mean training loss per epoch: (epoch, estimate), epoch 1 first.
    pub loss_curve: Vec<(usize, Estimate)>,
    pub early_step: usize,
    pub early: Option<Estimate>,
    pub last: Option<Estimate>,
    /// Held-out accuracy per draw at the end (mean over its seeds), draw order.
    pub per_draw: Vec<(usize, f64)>,
    pub loss_early: Option<Estimate>,
    pub loss_last: Option<Estimate>,
    /// This method minus VPT, paired: held-out accuracy after 20% of the steps and at the end.
    pub minus_vpt: Option<Pair>,
    /// This method minus head-only, paired.
    pub minus_head: Option<Pair>,
    /// This method minus the summary's `baseline` method, paired (ablations).
    pub minus_baseline: Option<Pair>,
    /// Training loss minus VPT's and minus head-only's, paired, after 20% and at the end.
    pub loss_minus_vpt: Option<Pair>,
    pub loss_minus_head: Option<Pair>,
    /// The whitening's diagnostics at the chosen setting, for a method that whitens: k (the
    /// top directions covering 90% of Sigma's trace, mean over pairs) and the share of the
    /// prompt's energy after norm1 in them, at initialisation and at the end.
    pub whitening: Option<WhiteningSummary>,
}

/// [`Diagnostics`] over the pairs of a method's chosen setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WhiteningSummary {
    pub k: f64,
    pub share_init: Option<Estimate>,
    pub share_end: Option<Estimate>,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub selection: &'static str,
    /// How intervals are formed.
    pub intervals: &'static str,
    /// A method every other is differenced against besides VPT and head-only.
    pub baseline: Option<String>,
    pub methods: Vec<MethodResult>,
}

pub const SELECTION: &str = "per method, the setting (prompt rate, head rate, epsilon) with the \
highest mean validation accuracy at the last step over every draw and seed (ties: the lower mean \
validation loss, then the smaller rate, head rate and epsilon); held-out images never enter the \
choice";

pub const INTERVALS: &str = "95% Student t intervals over the (draw, seed) pairs, differences \
paired by draw and seed";

/// Mean final validation (accuracy, loss) of cells at one setting.
fn validation_at(cells: &[&Cell], setting: &Setting) -> Option<Candidate> {
    let finals: Vec<&Point> = cells
        .iter()
        .filter(|c| c.setting.same(setting))
        .filter_map(|c| c.last())
        .collect();
    if finals.is_empty() {
        return None;
    }
    let n = finals.len() as f64;
    Some(Candidate {
        setting: *setting,
        validation_accuracy: finals.iter().map(|p| p.validation_accuracy).sum::<f64>() / n,
        validation_loss: finals.iter().map(|p| p.validation_loss).sum::<f64>() / n,
        runs: finals.len(),
    })
}

/// The setting [`SELECTION`] picks among `candidates`.
pub fn choose(candidates: &[Candidate]) -> Option<Setting> {
    candidates
        .iter()
        .min_by(|a, b| {
            b.validation_accuracy
                .total_cmp(&a.validation_accuracy)
                .then(a.validation_loss.total_cmp(&b.validation_loss))
                .then(a.setting.order(&b.setting))
        })
        .map(|c| c.setting)
}

/// `value` of each pair's cell, in `pairs` order; None if any pair lacks it.
fn per_pair(
    cells: &[&Cell],
    pairs: &[(usize, u64)],
    value: impl Fn(&Cell) -> Option<f64>,
) -> Option<Vec<f64>> {
    pairs
        .iter()
        .map(|p| cells.iter().find(|c| c.pair() == *p).and_then(|c| value(c)))
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
    // Each method at its chosen setting: (name, chosen cells, candidates, setting).
    let mut chosen = Vec::new();
    for name in &names {
        let mine: Vec<&Cell> = cells.iter().filter(|c| c.method == *name).collect();
        let mut settings: Vec<Setting> = Vec::new();
        for c in &mine {
            if !settings.iter().any(|s| s.same(&c.setting)) {
                settings.push(c.setting);
            }
        }
        settings.sort_by(Setting::order);
        let candidates: Vec<Candidate> = settings
            .iter()
            .filter_map(|s| validation_at(&mine, s))
            .collect();
        let Some(setting) = choose(&candidates) else {
            continue;
        };
        let at: Vec<&Cell> = mine
            .into_iter()
            .filter(|c| c.setting.same(&setting))
            .collect();
        chosen.push((name.to_string(), at, candidates, setting));
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
        .map(|(name, at, candidates, setting)| {
            method_result(
                name, at, candidates, *setting, &vpt, &head, &other, baseline,
            )
        })
        .collect();
    Summary {
        selection: SELECTION,
        intervals: INTERVALS,
        baseline: baseline.map(String::from),
        methods,
    }
}

#[allow(clippy::too_many_arguments)]
fn method_result(
    name: &str,
    at: &[&Cell],
    candidates: &[Candidate],
    setting: Setting,
    vpt: &Option<Vec<&Cell>>,
    head: &Option<Vec<&Cell>>,
    other: &Option<Vec<&Cell>>,
    baseline: Option<&str>,
) -> MethodResult {
    let mut pairs: Vec<(usize, u64)> = at.iter().map(|c| c.pair()).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut draws: Vec<usize> = pairs.iter().map(|p| p.0).collect();
    draws.dedup();
    let mut seeds: Vec<u64> = pairs.iter().map(|p| p.1).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let first = at.first();
    let total = first.map_or(0, |c| c.total_steps);
    let early = early_step(total);
    let estimate = |f: &dyn Fn(&Cell) -> Option<f64>| {
        per_pair(at, &pairs, f).as_deref().and_then(Estimate::of)
    };
    let evaluations: &[Point] = first.map_or(&[], |c| &c.history);
    let at_steps: Vec<(usize, Estimate)> = evaluations
        .iter()
        .filter_map(|p| {
            let acc = |c: &Cell| c.at(p.step).map(|q| q.test_accuracy);
            Some((p.step, estimate(&acc)?))
        })
        .collect();
    // The epoch ends among them, by epoch.
    let curve = evaluations
        .iter()
        .filter(|p| p.epoch_end)
        .filter_map(|p| {
            let (_, e) = at_steps.iter().find(|(s, _)| *s == p.step)?;
            Some((p.epoch, *e))
        })
        .collect();
    let loss_epochs = first.map_or(0, |c| c.train_loss.len());
    let loss_curve = (0..loss_epochs)
        .filter_map(|e| Some((e + 1, estimate(&|c: &Cell| c.train_loss.get(e).copied())?)))
        .collect();
    let acc_early = |c: &Cell| c.at(early_step(c.total_steps)).map(|p| p.test_accuracy);
    let acc_last = |c: &Cell| c.last().map(|p| p.test_accuracy);
    let loss_early = |c: &Cell| c.train_loss_early;
    let loss_last = |c: &Cell| {
        let whole = c
            .epoch_steps()
            .is_none_or(|s| c.train_loss.len() * s >= c.total_steps);
        c.train_loss.last().copied().filter(|_| whole)
    };
    let against = |other: &Option<Vec<&Cell>>,
                   early: &dyn Fn(&Cell) -> Option<f64>,
                   last: &dyn Fn(&Cell) -> Option<f64>|
     -> Option<Pair> {
        let other = other.as_ref()?;
        let diff = |f: &dyn Fn(&Cell) -> Option<f64>| {
            Estimate::paired(&per_pair(at, &pairs, f)?, &per_pair(other, &pairs, f)?)
        };
        let (early, last) = (diff(early), diff(last));
        (early.is_some() || last.is_some()).then_some(Pair { early, last })
    };
    let per_draw = draws
        .iter()
        .filter_map(|&d| {
            let values: Vec<f64> = at
                .iter()
                .filter(|c| c.draw == d)
                .filter_map(|c| acc_last(c))
                .collect();
            (!values.is_empty()).then(|| (d, values.iter().sum::<f64>() / values.len() as f64))
        })
        .collect();
    let whitening = at.iter().all(|c| c.diagnostics.is_some()).then(|| {
        let k = at
            .iter()
            .filter_map(|c| c.diagnostics.as_ref().map(|d| d.k as f64))
            .sum::<f64>()
            / at.len().max(1) as f64;
        WhiteningSummary {
            k,
            share_init: estimate(&|c: &Cell| c.diagnostics.as_ref().map(|d| d.share_init)),
            share_end: estimate(&|c: &Cell| c.diagnostics.as_ref().and_then(|d| d.share_end)),
        }
    });
    let is = |n: &str| name == n;
    MethodResult {
        method: name.to_string(),
        candidates: candidates.to_vec(),
        setting,
        pairs: pairs.len(),
        steps_per_epoch: first.and_then(|c| c.epoch_steps()),
        early_step: early,
        early: estimate(&acc_early),
        last: estimate(&acc_last),
        per_draw,
        loss_early: estimate(&loss_early),
        loss_last: estimate(&loss_last),
        minus_vpt: (!is("vpt"))
            .then(|| against(vpt, &acc_early, &acc_last))
            .flatten(),
        minus_head: (!is("head"))
            .then(|| against(head, &acc_early, &acc_last))
            .flatten(),
        minus_baseline: (Some(name) != baseline)
            .then(|| against(other, &acc_early, &acc_last))
            .flatten(),
        loss_minus_vpt: (!is("vpt"))
            .then(|| against(vpt, &loss_early, &loss_last))
            .flatten(),
        loss_minus_head: (!is("head"))
            .then(|| against(head, &loss_early, &loss_last))
            .flatten(),
        whitening,
        curve,
        at_steps,
        loss_curve,
        draws,
        seeds,
    }
}

/// "3 draws x 2 seeds", "2 seeds" or "1 seed".
fn runs_label(m: &MethodResult) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    if m.draws.len() > 1 {
        format!(
            "{} x {}",
            plural(m.draws.len(), "draw"),
            plural(m.seeds.len(), "seed")
        )
    } else {
        plural(m.seeds.len(), "seed")
    }
}

/// "1e-2" for a setting's value, "-" for none.
fn show_value(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:e}"))
}

impl Summary {
    /// The headline of a comparison: `method` minus VPT, paired, at the end and after 20% of the
    /// steps, in points (`label` names the method), e.g. "BPT-bilinear minus VPT: +1.5 ± 9.4
    /// points at the end, -0.7 ± 27.6 after 20% of the steps (3 seeds)". None until both have
    /// results.
    pub fn verdict(&self, method: &str, label: &str) -> Option<String> {
        let m = self.methods.iter().find(|m| m.method == method)?;
        let d = m.minus_vpt.as_ref()?;
        Some(format!(
            "{label} minus VPT: {} points at the end, {} after 20% of the steps ({})",
            cell(d.last.as_ref(), points),
            cell(d.early.as_ref(), points),
            runs_label(m)
        ))
    }

    /// The comparison as Markdown: held-out accuracy, training loss, the whitening's
    /// diagnostics, then accuracy at every evaluation and loss per epoch.
    pub fn markdown(&self) -> String {
        let mut out = self.accuracy_table();
        out += "\nTraining loss (mean of the steps' losses over the last epoch's worth of steps), \
                paired differences (negative: lower loss):\n\n";
        out += &self.loss_table();
        if self.methods.iter().any(|m| m.whitening.is_some()) {
            out += "\nThe whitening (block 0): k = Sigma's top directions that cover 90% of its \
                    trace; the share of the prompt's energy after norm1 that lies in them:\n\n";
            out += &self.whitening_table();
        }
        out += &format!(
            "\nHeld-out accuracy (%) at each evaluation, mean ± 95% interval over {}:\n\n",
            self.methods.first().map_or("the runs".into(), runs_label)
        );
        out += &self.series_table("step", |m| &m.at_steps, percent);
        if self.methods.iter().any(|m| !m.loss_curve.is_empty()) {
            out += "\nTraining loss per epoch (mean of its steps):\n\n";
            out += &self.series_table("epoch", |m| &m.loss_curve, loss);
        }
        out
    }

    fn accuracy_table(&self) -> String {
        let mut out = String::from(
            "| method | lr (chosen on validation) | head lr | epsilon | validation acc. | test acc. after 20% of steps | test acc. at the end | minus VPT, 20% | minus VPT, end | minus head-only, 20% | minus head-only, end |",
        );
        if let Some(b) = &self.baseline {
            out += &format!(" minus {b}, 20% | minus {b}, end |");
        }
        out += "\n|---|---|---|---|---|---|---|---|---|---|---|";
        if self.baseline.is_some() {
            out += "---|---|";
        }
        out += "\n";
        for m in &self.methods {
            let val = m
                .candidates
                .iter()
                .find(|c| c.setting.same(&m.setting))
                .map_or(f64::NAN, |c| c.validation_accuracy);
            out += &format!(
                "| {} | {:e} | {} | {} | {:.1} | {} | {} | {} | {} | {} | {} |",
                m.method,
                m.setting.lr,
                show_value(m.setting.lr_head),
                show_value(m.setting.epsilon),
                100.0 * val,
                cell(m.early.as_ref(), percent),
                cell(m.last.as_ref(), percent),
                cell(side(&m.minus_vpt, false), points),
                cell(side(&m.minus_vpt, true), points),
                cell(side(&m.minus_head, false), points),
                cell(side(&m.minus_head, true), points),
            );
            if self.baseline.is_some() {
                out += &format!(
                    " {} | {} |",
                    cell(side(&m.minus_baseline, false), points),
                    cell(side(&m.minus_baseline, true), points)
                );
            }
            out += "\n";
        }
        out
    }

    fn loss_table(&self) -> String {
        let mut out = String::from(
            "| method | loss after 20% of steps | loss at the end | minus VPT, 20% | minus VPT, end | minus head-only, 20% | minus head-only, end |\n|---|---|---|---|---|---|---|\n",
        );
        for m in &self.methods {
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                m.method,
                cell(m.loss_early.as_ref(), loss),
                cell(m.loss_last.as_ref(), loss),
                cell(side(&m.loss_minus_vpt, false), loss_difference),
                cell(side(&m.loss_minus_vpt, true), loss_difference),
                cell(side(&m.loss_minus_head, false), loss_difference),
                cell(side(&m.loss_minus_head, true), loss_difference),
            );
        }
        out
    }

    fn whitening_table(&self) -> String {
        let mut out = String::from(
            "| method | epsilon | k | share at init (%) | share at the end (%) |\n|---|---|---|---|---|\n",
        );
        for m in &self.methods {
            let Some(w) = &m.whitening else { continue };
            out += &format!(
                "| {} | {} | {:.1} | {} | {} |\n",
                m.method,
                show_value(m.setting.epsilon),
                w.k,
                cell(w.share_init.as_ref(), share),
                cell(w.share_end.as_ref(), share),
            );
        }
        out
    }

    /// One row per key (step or epoch) of `series`, one column per method.
    fn series_table(
        &self,
        key: &str,
        series: impl Fn(&MethodResult) -> &Vec<(usize, Estimate)>,
        write: fn(&Estimate) -> String,
    ) -> String {
        let mut out = format!("| {key} |");
        for m in &self.methods {
            out += &format!(" {} |", m.method);
        }
        out += "\n|---|";
        out += &"---|".repeat(self.methods.len());
        out += "\n";
        let mut keys: Vec<usize> = self
            .methods
            .iter()
            .flat_map(|m| series(m).iter().map(|(k, _)| *k))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            out += &format!("| {k} |");
            for m in &self.methods {
                let e = series(m).iter().find(|(x, _)| *x == k).map(|(_, e)| e);
                out += &format!(" {} |", cell(e, write));
            }
            out += "\n";
        }
        out
    }
}

/// `e` as `write` writes it; "-" for none.
fn cell(e: Option<&Estimate>, write: fn(&Estimate) -> String) -> String {
    e.map_or("-".into(), write)
}

/// A paired difference after 20% of the steps, or at the end.
fn side(p: &Option<Pair>, end: bool) -> Option<&Estimate> {
    p.as_ref().and_then(|p| {
        if end {
            p.last.as_ref()
        } else {
            p.early.as_ref()
        }
    })
}

/// An accuracy in percent: "62.4 ± 3.1".
fn percent(e: &Estimate) -> String {
    e.show(100.0, false)
}

/// A difference of accuracies in points: "+1.5 ± 9.4".
fn points(e: &Estimate) -> String {
    e.show(100.0, true)
}

/// A loss: "0.693 ± 0.012".
fn loss(e: &Estimate) -> String {
    e.show_with(1.0, false, 3)
}

/// A difference of losses: "-0.100 ± 0.000".
fn loss_difference(e: &Estimate) -> String {
    e.show_with(1.0, true, 3)
}

/// A share in percent with enough digits for the tiny shares whitening can leave:
/// "3.10e-3 ± 1.20e-3".
fn share(e: &Estimate) -> String {
    let digits = |v: f64| format!("{:.2e}", 100.0 * v);
    match e.half_width {
        Some(h) => format!("{} ± {}", digits(e.mean), digits(h)),
        None => digits(e.mean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cell whose validation and test accuracies are constant over its two epochs.
    /// Its training loss is 1 - accuracy in the first epoch and half that in the second.
    fn cell(method: &str, lr: f64, seed: u64, val: f64, test: f64) -> Cell {
        let acc = test + 0.01 * seed as f64;
        let point = |epoch, step| Point {
            step,
            epoch,
            epoch_end: step.is_multiple_of(5),
            test_accuracy: acc,
            validation_accuracy: val,
            validation_loss: 1.0 - val,
        };
        Cell {
            method: method.into(),
            setting: Setting {
                lr,
                lr_head: None,
                epsilon: None,
            },
            draw: 0,
            seed,
            total_steps: 10,
            steps_per_epoch: 5,
            diverged_at: None,
            history: vec![point(0, 2), point(1, 5), point(2, 10)],
            train_loss: vec![1.0 - acc, 0.5 - acc / 2.0],
            train_loss_early: Some(1.0 - acc),
            diagnostics: None,
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
        assert_eq!(s.methods[0].setting.lr, 0.1);
        assert!((s.methods[0].last.unwrap().mean - 0.51).abs() < 1e-12);
    }

    #[test]
    fn ties_on_validation_go_to_the_lower_loss_then_the_smaller_rate() {
        let c = |lr, acc, loss| Candidate {
            setting: Setting {
                lr,
                lr_head: None,
                epsilon: None,
            },
            validation_accuracy: acc,
            validation_loss: loss,
            runs: 1,
        };
        let lr = |c: &[Candidate]| choose(c).map(|s| s.lr);
        assert_eq!(lr(&[c(0.1, 0.8, 0.5), c(0.01, 0.8, 0.4)]), Some(0.01));
        assert_eq!(lr(&[c(0.1, 0.8, 0.4), c(0.01, 0.8, 0.4)]), Some(0.01));
        assert_eq!(lr(&[]), None);
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
        let Pair { early, last } = bpt.minus_vpt.unwrap();
        let (early, last) = (early.unwrap(), last.unwrap());
        assert!((last.mean - 0.15).abs() < 1e-9 && (early.mean - 0.15).abs() < 1e-9);
        assert!(last.half_width.unwrap() < 1e-9, "paired by seed");
        assert!((bpt.minus_head.unwrap().last.unwrap().mean - 0.25).abs() < 1e-9);
        assert!(s.methods[1].minus_vpt.is_none() && s.methods[0].minus_head.is_none());
        assert_eq!(bpt.early_step, 2);
        assert_eq!(
            bpt.curve.iter().map(|(e, _)| *e).collect::<Vec<_>>(),
            vec![1, 2]
        );
        let md = s.markdown();
        assert!(md.contains("| bpt-bilinear | 1e-1 | - | - | 70.0 | 66.0 ± 2.5 | 66.0 ± 2.5 | +15.0 ± 0.0 | +15.0 ± 0.0 | +25.0 ± 0.0 | +25.0 ± 0.0 |"), "{md}");
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
        let last = s.methods[1].minus_baseline.unwrap().last.unwrap();
        assert!((last.mean - 0.05).abs() < 1e-9);
        assert!(s.markdown().contains("minus base, end |"));
        assert!(summarise(&cells).methods[1].minus_baseline.is_none());
    }

    #[test]
    fn draws_pair_with_draws_and_the_interval_covers_every_pair() {
        // Two draws x two seeds. Draw 1 is 20 points easier for both methods; BPT is 5 points
        // above VPT in every pair but one (+7): paired by draw and seed, the draw cancels.
        let mut cells = Vec::new();
        for draw in 0..2 {
            for seed in 0..2 {
                let easy = 0.2 * draw as f64;
                let mut v = cell("vpt", 0.1, seed, 0.5, 0.4 + easy);
                let extra = if (draw, seed) == (1, 1) { 0.02 } else { 0.0 };
                let mut b = cell("bpt", 0.1, seed, 0.5, 0.45 + easy + extra);
                v.draw = draw;
                b.draw = draw;
                cells.push(v);
                cells.push(b);
            }
        }
        let s = summarise(&cells);
        let bpt = &s.methods[1];
        assert_eq!(
            (bpt.pairs, bpt.draws.clone(), bpt.seeds.clone()),
            (4, vec![0, 1], vec![0, 1])
        );
        let last = bpt.minus_vpt.unwrap().last.unwrap();
        assert_eq!(last.n, 4, "one difference per (draw, seed) pair");
        assert!((last.mean - 0.055).abs() < 1e-9);
        // The differences 5, 5, 5, 7 points: s = 1 point, t(0.975, 3) = 3.182.
        assert!((last.half_width.unwrap() - 3.182_446 * 0.01 / 2.0).abs() < 1e-6);
        // Unpaired by draw, the 20-point draw effect would swamp it.
        assert!(bpt.last.unwrap().half_width.unwrap() > 0.15);
        assert_eq!(bpt.per_draw.len(), 2);
        assert!((bpt.per_draw[1].1 - bpt.per_draw[0].1 - 0.21).abs() < 1e-9);
        assert!(
            s.verdict("bpt", "BPT")
                .unwrap()
                .ends_with("(2 draws x 2 seeds)"),
            "{:?}",
            s.verdict("bpt", "BPT")
        );
    }

    #[test]
    fn training_loss_is_summarised_early_and_at_the_end_and_paired() {
        let mut cells = Vec::new();
        for seed in 0..3 {
            cells.push(cell("vpt", 0.1, seed, 0.5, 0.5));
            cells.push(cell("bpt", 0.1, seed, 0.5, 0.6));
        }
        let s = summarise(&cells);
        let bpt = &s.methods[1];
        // test accuracy 0.6 + 0.01 seed: early loss 0.4 - 0.01 seed, end 0.2 - 0.005 seed.
        assert!((bpt.loss_early.unwrap().mean - 0.39).abs() < 1e-9);
        assert!((bpt.loss_last.unwrap().mean - 0.195).abs() < 1e-9);
        let d = bpt.loss_minus_vpt.unwrap();
        let (early, last) = (d.early.unwrap(), d.last.unwrap());
        assert!((early.mean + 0.1).abs() < 1e-9 && (last.mean + 0.05).abs() < 1e-9);
        assert_eq!(
            bpt.loss_curve.iter().map(|(e, _)| *e).collect::<Vec<_>>(),
            [1, 2]
        );
        let md = s.markdown();
        assert!(
            md.contains(
                "| bpt | 0.390 ± 0.025 | 0.195 ± 0.012 | -0.100 ± 0.000 | -0.050 ± 0.000 | - | - |"
            ),
            "{md}"
        );
        // A cell without its last epoch's loss (diverged) has no end figure.
        let mut short = cells.clone();
        short[1].train_loss.pop();
        assert!(summarise(&short).methods[1].loss_last.is_none());
    }

    #[test]
    fn step_windows_and_epoch_means_of_the_losses() {
        let losses = [4.0, 3.0, 2.0, 1.0, 0.5, 0.5];
        assert_eq!(epoch_means(&losses, 2), [3.5, 1.5, 0.5]);
        assert_eq!(
            epoch_means(&losses[..5], 2),
            [3.5, 1.5],
            "whole epochs only"
        );
        assert_eq!(window_mean(&losses, 4, 2), Some(1.5));
        assert_eq!(
            window_mean(&losses, 1, 2),
            Some(4.0),
            "fewer steps at the start"
        );
        assert_eq!(window_mean(&losses, 7, 2), None);
        assert_eq!(window_mean(&losses, 0, 2), None);
    }

    #[test]
    fn the_head_rate_and_epsilon_are_chosen_with_the_rate_on_validation() {
        let mut cells = Vec::new();
        for seed in 0..2 {
            for (eps, val) in [(1e-5, 0.6), (1e-1, 0.8)] {
                let mut c = cell("bpt-fwhiten", 0.1, seed, val, 0.5);
                c.setting.lr_head = Some(5e-3);
                c.setting.epsilon = Some(eps);
                c.diagnostics = Some(Diagnostics {
                    eigenvalues: vec![2.0, 1.0],
                    k: 2,
                    share_init: eps,
                    share_end: Some(2.0 * eps),
                });
                cells.push(c);
            }
        }
        let s = summarise(&cells);
        let m = &s.methods[0];
        assert_eq!(m.candidates.len(), 2);
        assert_eq!(
            (m.setting.epsilon, m.setting.lr_head),
            (Some(1e-1), Some(5e-3))
        );
        let w = m.whitening.as_ref().unwrap();
        assert_eq!(w.k, 2.0);
        assert!((w.share_init.unwrap().mean - 0.1).abs() < 1e-12);
        assert!((w.share_end.unwrap().mean - 0.2).abs() < 1e-12);
        let md = s.markdown();
        assert!(
            md.contains("| bpt-fwhiten | 1e-1 | 2.0 | 1.00e1 ± 0.00e0 | 2.00e1 ± 0.00e0 |"),
            "{md}"
        );
        // compare.json's cells read back, settings flattened beside the method.
        let json = serde_json::to_string(&cells[0]).unwrap();
        assert!(
            json.contains("\"lr\":0.1,\"lr_head\":0.005,\"epsilon\":0.00001"),
            "{json}"
        );
        let back: Cell = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cells[0]);
    }

    #[test]
    fn a_diverged_cell_reads_back_from_its_json() {
        let mut c = cell("vpt", 1.0, 0, 0.0, 0.0);
        c.diverged_at = Some(3);
        c.history[2].validation_loss = f64::INFINITY;
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"validation_loss\":null"), "{json}");
        let back: Cell = serde_json::from_str(&json).unwrap();
        assert_eq!(back.history[2].validation_loss, f64::INFINITY);
    }

    #[test]
    fn cells_written_before_draws_and_losses_still_read() {
        let old = r#"{"method":"vpt","lr":0.01,"seed":1,"total_steps":10,"diverged_at":null,
            "history":[{"step":5,"epoch":1,"epoch_end":true,"test_accuracy":0.5,
            "validation_accuracy":0.5,"validation_loss":0.7}]}"#;
        let c: Cell = serde_json::from_str(old).unwrap();
        assert_eq!(
            (c.draw, c.setting.lr_head, c.train_loss.len()),
            (0, None, 0)
        );
        assert_eq!(c.epoch_steps(), Some(5));
    }
}
