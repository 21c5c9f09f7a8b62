//! A comparison on the page: head-only, VPT and one BPT method trained on the same pictures for
//! N seeds, one after the other, and summarised by the engine's `compare` arithmetic (paired
//! seeds, means with 95% intervals, the accuracy after 20% of the steps and at the end).
//!
//! The learning rate is the form's, for every method: the page has no validation split to
//! choose one on, so the comparison says so rather than choose on the held-out pictures.

use super::state::{Member, Queued, RunRecord, RunSettings, RunStatus, method_label};
use crate::compare::{self, Cell, Point, Setting};
use crate::prompt::Method;

pub const DEFAULT_SEEDS: u64 = 3;

/// The BPT method a comparison pits against VPT: the form's when it is a BPT method, else
/// BPT-bilinear.
pub fn bpt_method(chosen: Method) -> Method {
    match chosen {
        Method::Head | Method::Vpt => Method::BptBilinear,
        other => other,
    }
}

/// The methods of a comparison, in the order they run for each seed.
pub fn methods(bpt: Method) -> [Method; 3] {
    [Method::Head, Method::Vpt, bpt]
}

/// The number for a new comparison: past every one on the page.
pub fn next_comparison(runs: &[RunRecord], queue: &[Queued]) -> u32 {
    let of_runs = runs.iter().filter_map(|r| r.member.as_ref());
    let of_queue = queue.iter().map(|q| &q.member);
    of_runs
        .chain(of_queue)
        .map(|m| m.comparison.saturating_add(1))
        .max()
        .unwrap_or(1)
}

/// The runs of comparison `comparison`: every seed from the form's on, each seed trains the three
/// methods in turn (so that a stopped comparison still has paired results).
pub fn plan(base: &RunSettings, seeds: u64, comparison: u32) -> Vec<Queued> {
    let bpt = bpt_method(base.method);
    (0..seeds.max(1))
        .flat_map(|k| {
            methods(bpt).into_iter().map(move |method| {
                let seed = base.seed.saturating_add(k);
                Queued {
                    settings: RunSettings {
                        method,
                        seed,
                        early_eval: true,
                        ..base.clone()
                    },
                    member: Member {
                        comparison,
                        method: method.name().to_string(),
                        lr: base.lr,
                        seed,
                    },
                }
            })
        })
        .collect()
}

/// The finished runs of `comparison` as the engine's cells (validation figures are NaN: the
/// rate was not chosen), with their training losses.
pub fn cells(runs: &[RunRecord], comparison: u32) -> Vec<Cell> {
    runs.iter()
        .filter(|r| r.status == RunStatus::Finished)
        .filter_map(|r| {
            let m = r.member.as_ref().filter(|m| m.comparison == comparison)?;
            let history = r
                .evals
                .iter()
                .map(|e| Point {
                    step: e.step,
                    epoch: e.epoch,
                    epoch_end: e.epoch_end,
                    test_accuracy: e.accuracy,
                    validation_accuracy: f64::NAN,
                    validation_loss: f64::NAN,
                })
                .collect();
            let mut cell = Cell {
                method: m.method.clone(),
                setting: Setting {
                    lr: m.lr,
                    lr_head: None,
                    epsilon: None,
                },
                draw: 0,
                seed: m.seed,
                total_steps: r.total_steps,
                steps_per_epoch: 0,
                diverged_at: None,
                history,
                train_loss: Vec::new(),
                train_loss_early: None,
                diagnostics: None,
            };
            let mut losses = r.losses.clone();
            losses.sort_by_key(|(step, _)| *step);
            let losses: Vec<f32> = losses.into_iter().map(|(_, l)| l).collect();
            if let Some(per_epoch) = cell.epoch_steps() {
                cell.steps_per_epoch = per_epoch;
                cell.train_loss = compare::epoch_means(&losses, per_epoch);
                let early = compare::early_step(cell.total_steps);
                cell.train_loss_early = compare::window_mean(&losses, early, per_epoch);
            }
            Some(cell)
        })
        .collect()
}

/// The comparisons on the page, oldest first.
pub fn comparisons(runs: &[RunRecord]) -> Vec<u32> {
    let mut ids: Vec<u32> = runs
        .iter()
        .filter_map(|r| r.member.as_ref().map(|m| m.comparison))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What a comparison pits against VPT (its third method), from its runs.
pub fn bpt_of(runs: &[RunRecord], comparison: u32) -> Option<Method> {
    runs.iter()
        .filter_map(|r| r.member.as_ref())
        .filter(|m| m.comparison == comparison)
        .filter_map(|m| Method::from_name(&m.method))
        .find(|m| !matches!(m, Method::Head | Method::Vpt))
}

/// Each prompt method minus head-only at the end (the baseline every comparison reports), e.g.
/// "Against head-only at the end: VPT -2.0 ± 4.1, BPT-bilinear +1.0 ± 3.3 points".
pub fn against_head(summary: &compare::Summary) -> Option<String> {
    let parts: Vec<String> = summary
        .methods
        .iter()
        .filter_map(|m| {
            let last = m.minus_head.as_ref()?.last.as_ref()?;
            let name = Method::from_name(&m.method).map_or(m.method.as_str(), |x| method_label(x));
            Some(format!("{name} {}", last.show(100.0, true)))
        })
        .collect();
    (!parts.is_empty())
        .then(|| format!("Against head-only at the end: {} points", parts.join(", ")))
}

/// The summary and its verdict line (None until BPT and VPT share a seed).
pub fn summary(runs: &[RunRecord], comparison: u32) -> (compare::Summary, Option<String>) {
    let summary = compare::summarise(&cells(runs, comparison));
    let verdict =
        bpt_of(runs, comparison).and_then(|bpt| summary.verdict(bpt.name(), method_label(bpt)));
    (summary, verdict)
}
