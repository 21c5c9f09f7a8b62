//! `bpt-lab compare`: a grid of methods x settings (prompt rate, head rate, epsilon) x draws of
//! the shots x seeds on one data set, in one process (the backbone loaded once). Within a draw
//! every cell trains on the same pictures and is evaluated on the same validation pictures; the
//! held-out pictures are shared by every draw; draws and seeds are paired across methods. Each
//! method's setting is chosen on validation only (`compare::SELECTION`). Writes `compare.json`
//! (settings, every cell's history, losses and whitening diagnostics, the summary),
//! `compare.md` and `compare.svg`.

use crate::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::progress::{Progress, format_seconds};
use super::run_args::RunArgs;
use super::train::load_data;
use super::{Backend, ModelFiles, write_folder};
use crate::compare::{self, Cell, Point, Setting, svg};
use crate::kernels::half::WeightStorage;
use crate::model::Backbone;
use crate::prompt::{BInit, Method};
use crate::train::data::Portion;
use crate::train::run::{self, EvalPoint, Flow, Observer, Plan};
use crate::train::{Dataset, Sample, Session, StepStats};
use crate::whiten::diagnostics::{Diagnostics, TRACE_SHARE, k_covering};

#[derive(clap::Args)]
pub struct CompareArgs {
    /// The model weights (.safetensors, timm or HF naming).
    #[arg(long, required_unless_present = "replot")]
    model: Option<PathBuf>,
    /// The architecture: a timm-style JSON or an HF config.json.
    #[arg(long, required_unless_present = "replot")]
    config: Option<PathBuf>,
    /// How the blocks' linear weights are stored on wgpu: f32, or f16 where the adapter has
    /// shader-f16 (see `bpt-lab train --help`).
    #[arg(long, value_enum, default_value_t = WeightStorage::F32)]
    weight_dtype: WeightStorage,
    /// Training images: one sub-folder per class.
    #[arg(long, required_unless_present = "replot")]
    data: Option<PathBuf>,
    /// Held-out images in the same layout; without it, --holdout of --data is held out.
    #[arg(long)]
    test: Option<PathBuf>,
    /// Share of each class held out when there is no --test folder, in [0, 1).
    #[arg(long, default_value_t = 0.2)]
    holdout: f64,
    /// Validation pictures for choosing the setting: a share of each class's training pictures
    /// (0.2), or a count per class (5). With --shots, per draw (a share of what it takes).
    #[arg(long, default_value = "0.2")]
    validation: Portion,
    /// Training pictures per class in each draw (the shots); without it every training picture
    /// not set aside for validation is used, in one draw.
    #[arg(long)]
    shots: Option<usize>,
    /// Disjoint draws of the shots from the training folder (needs --shots above 1 draw); the
    /// held-out pictures are shared. Intervals are over draw x seed pairs.
    #[arg(long, default_value_t = 1)]
    draws: usize,
    /// Seed of the held-out and validation splits (the same for every cell).
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
    /// Methods, comma-separated; each may carry options after colons:
    /// `b-init=whiten|xavier`, `rank=P`, `prompts=M`, `deep`, `source=block-input|norm1`,
    /// `views=train|eval`, `side=query|key|both`, `epsilon=E` (e.g.
    /// `bpt-bilinear:b-init=xavier`).
    #[arg(long, default_value = "head,vpt,bpt-fwhiten,bpt-bilinear")]
    methods: String,
    /// The prompts' peak learning rates, comma-separated; each method takes the best setting on
    /// validation (head-only has no prompts: its grid is --head-lrs).
    #[arg(long, default_value = "1e-3,5e-3,2e-2,1e-1")]
    lrs: String,
    /// The head's peak learning rates, comma-separated: the same axis for every method,
    /// head-only included [default: 5e-3, one value: the same head rate for all].
    #[arg(long)]
    head_lrs: Option<String>,
    /// The whitening's epsilons, comma-separated: an axis of the methods that whiten, chosen
    /// on validation like the rate [default: --epsilon].
    #[arg(long)]
    epsilons: Option<String>,
    /// When held-out and validation accuracy are measured: fractions of the run's steps,
    /// comma-separated (0.2 is the "how fast" mark; the end is always measured).
    #[arg(long, default_value = "0.2,1")]
    eval_at: String,
    /// Also evaluate at every epoch's end (curves; costs an evaluation per epoch).
    #[arg(long)]
    eval_every_epoch: bool,
    /// Seeds, comma-separated (initialisation, order, crops, dropout).
    #[arg(long, default_value = "0,1,2")]
    seeds: String,
    #[command(flatten)]
    run: RunArgs,
    /// Folder for compare.json, compare.md and compare.svg.
    #[arg(long, default_value = "runs/compare")]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Backend::Wgpu)]
    backend: Backend,
    /// Train nothing: summarise the cells of this compare.json again and rewrite the table and
    /// the plot beside it in --out (for a new plot layout, or a grid merged by hand).
    #[arg(long)]
    replot: Option<PathBuf>,
    /// A method (as --methods names it) that every other is also differenced against, paired
    /// by seed: the base of an ablation.
    #[arg(long)]
    baseline: Option<String>,
}

/// One method of the grid with its options applied to the shared settings.
#[derive(Clone, Debug)]
struct MethodSpec {
    label: String,
    method: Method,
    run: RunArgs,
    /// Set by the method's own `epsilon=` option: the epsilon axis does not apply.
    fixed_epsilon: bool,
}

fn parse_methods(list: &str, base: &RunArgs) -> Result<Vec<MethodSpec>, Error> {
    let mut specs: Vec<MethodSpec> = Vec::new();
    for label in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut parts = label.split(':');
        let method: Method = parts.next().unwrap_or_default().parse()?;
        let mut run = base.clone();
        let mut fixed_epsilon = false;
        for option in parts {
            let (key, value) = option.split_once('=').unwrap_or((option, ""));
            let bad = |e: String| format!("{label}: {key}: {e}");
            let number = |v: &str| v.parse::<f64>().map_err(|e| bad(e.to_string()));
            let count = |v: &str| v.parse::<usize>().map_err(|e| bad(e.to_string()));
            match key {
                "b-init" => run.b_init = Some(value.parse::<BInit>().map_err(bad)?),
                "rank" => run.rank = Some(count(value)?),
                "prompts" => run.prompts = Some(count(value)?),
                "deep" => run.deep = true,
                "epsilon" => {
                    run.epsilon = number(value)?;
                    fixed_epsilon = true;
                }
                // The same names as the flags --whiten-source and --whiten-views take.
                "source" => {
                    run.whiten_source = clap::ValueEnum::from_str(value, false)
                        .map_err(|_| bad("block-input or norm1".into()))?;
                }
                "views" => {
                    run.whiten_views = clap::ValueEnum::from_str(value, false)
                        .map_err(|_| bad("train or eval".into()))?;
                }
                // The same names as --whiten-side takes.
                "side" => {
                    run.whiten_side = clap::ValueEnum::from_str(value, false)
                        .map_err(|_| bad("query, key or both".into()))?;
                }
                _ => {
                    return Err(format!(
                        "{label}: unknown option {key:?} (b-init, rank, prompts, deep, source, views, side, epsilon)"
                    ).into());
                }
            }
        }
        if specs.iter().any(|s| s.label == label) {
            return Err(format!("{label} is listed twice").into());
        }
        specs.push(MethodSpec {
            label: label.to_string(),
            method,
            run,
            fixed_epsilon,
        });
    }
    if specs.is_empty() {
        return Err("--methods lists no method".into());
    }
    Ok(specs)
}

fn parse_list<T: std::str::FromStr>(flag: &str, list: &str) -> Result<Vec<T>, Error>
where
    T::Err: std::fmt::Display,
{
    let values: Vec<T> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|e| format!("{flag} {s:?}: {e}")))
        .collect::<Result<_, _>>()?;
    if values.is_empty() {
        return Err(format!("{flag} lists nothing").into());
    }
    Ok(values)
}

/// The grid's progress bar, each cell's evaluations and its step losses.
struct Tracker<'a> {
    progress: &'a Progress,
    done_before: usize,
    label: String,
    points: Vec<Point>,
    losses: Vec<f32>,
}

impl Observer for Tracker<'_> {
    fn step(&mut self, stats: &StepStats) {
        self.losses.push(stats.loss);
        self.progress.set(
            self.done_before + stats.step + 1,
            &format!(
                "{} epoch {} loss {:.3}",
                self.label,
                stats.epoch + 1,
                stats.loss
            ),
        );
    }

    fn evaluated(&mut self, p: &EvalPoint) {
        let (val, test) = (p.validation.unwrap_or_default(), p.test.unwrap_or_default());
        self.points.push(Point {
            step: p.step,
            epoch: p.epoch,
            epoch_end: p.epoch_end,
            test_accuracy: test.accuracy(),
            validation_accuracy: val.accuracy(),
            validation_loss: val.loss,
        });
    }

    async fn proceed(&mut self) -> Flow {
        Flow::Continue
    }
}

fn replot(
    from: &std::path::Path,
    out: &std::path::Path,
    baseline: Option<&str>,
) -> Result<(), Error> {
    let mut report: serde_json::Value =
        serde_json::from_slice(&super::read(from)?).map_err(|e| Error::at(from, e))?;
    let cells: Vec<Cell> = serde_json::from_value(report["cells"].take())
        .map_err(|e| format!("{}: cells: {e}", from.display()))?;
    let summary = compare::summarise_against(&cells, baseline);
    let title = report["title"].as_str().unwrap_or_default().to_string();
    report["summary"] = json!(summary);
    report["cells"] = json!(cells);
    write_outputs(out, &report, &summary, &title)
}

/// compare.json, compare.md and compare.svg into `out`, each whole or not at all.
fn write_outputs(
    out: &std::path::Path,
    report: &serde_json::Value,
    summary: &compare::Summary,
    title: &str,
) -> Result<(), Error> {
    let markdown = summary.markdown();
    let json = serde_json::to_string_pretty(report)?;
    let svg = svg::plot(summary, title);
    write_folder(
        out,
        &[
            ("compare.json", json.as_bytes()),
            ("compare.md", markdown.as_bytes()),
            ("compare.svg", svg.as_bytes()),
        ],
    )?;
    println!("{markdown}");
    Ok(())
}

/// The settings a method is tried at: head-only at each head rate (its only rate); the others
/// at each prompt rate x head rate, and each epsilon where the method whitens.
fn settings_of(spec: &MethodSpec, lrs: &[f64], head_lrs: &[f64], epsilons: &[f64]) -> Vec<Setting> {
    if spec.method == Method::Head {
        return head_lrs
            .iter()
            .map(|&h| Setting {
                lr: h,
                lr_head: Some(h),
                epsilon: None,
            })
            .collect();
    }
    let whitens = spec.run.prompt_config(spec.method).needs_whitening();
    let eps: Vec<Option<f64>> = match (whitens, spec.fixed_epsilon) {
        (false, _) => vec![None],
        (true, true) => vec![Some(spec.run.epsilon)],
        (true, false) => epsilons.iter().map(|&e| Some(e)).collect(),
    };
    let mut out = Vec::new();
    for &lr in lrs {
        for &h in head_lrs {
            for &epsilon in &eps {
                out.push(Setting {
                    lr,
                    lr_head: Some(h),
                    epsilon,
                });
            }
        }
    }
    out
}

/// The run settings of one cell.
fn cell_args(spec: &MethodSpec, setting: &Setting) -> RunArgs {
    let mut run = spec.run.clone();
    run.lr = Some(setting.lr);
    run.lr_head = setting.lr_head;
    if let Some(e) = setting.epsilon {
        run.epsilon = e;
    }
    run
}

/// The steps to evaluate after, for `fractions` of `total` steps (each rounded up, at least
/// one), the end always among them.
fn eval_steps(fractions: &[f64], total: usize) -> Result<Vec<usize>, Error> {
    let mut steps = vec![total];
    for &f in fractions {
        if !(f > 0.0 && f <= 1.0) {
            return Err(format!("--eval-at {f}: fractions of the run must be in (0, 1]").into());
        }
        // Rounded up, but a product that is whole up to rounding (0.2 x 15) stays whole.
        let at = f * total as f64;
        let at = if (at - at.round()).abs() < 1e-9 {
            at.round()
        } else {
            at.ceil()
        };
        steps.push((at as usize).clamp(1, total));
    }
    steps.sort_unstable();
    steps.dedup();
    Ok(steps)
}

/// The data of each draw: (training set, validation pictures).
fn draws_of(data: &Dataset, args: &CompareArgs) -> Result<Vec<(Dataset, Vec<Sample>)>, Error> {
    match args.shots {
        Some(shots) => Ok(data
            .draw_shots(args.draws, shots, args.validation, args.split_seed)
            .map_err(|e| format!("drawing the shots: {e}"))?),
        None if args.draws > 1 => Err(format!(
            "--draws {} needs --shots N: how many training pictures per class each draw takes",
            args.draws
        )
        .into()),
        None => Ok(vec![
            data.carve_validation(args.validation, args.split_seed)
                .map_err(|e| format!("validation split: {e}"))?,
        ]),
    }
}

pub fn run(args: CompareArgs) -> Result<(), Error> {
    if let Some(from) = &args.replot {
        return replot(from, &args.out, args.baseline.as_deref());
    }
    let (Some(model), Some(config), Some(dir)) = (&args.model, &args.config, &args.data) else {
        return Err("--model, --config and --data are needed".into());
    };
    let files = ModelFiles {
        model: model.clone(),
        config: config.clone(),
        weight_dtype: args.weight_dtype,
    };
    let config = files.config()?;
    let specs = parse_methods(&args.methods, &args.run)?;
    let lrs: Vec<f64> = parse_list("--lrs", &args.lrs)?;
    let head_lrs: Vec<f64> = match &args.head_lrs {
        Some(list) => parse_list("--head-lrs", list)?,
        None => vec![crate::train::DEFAULT_LR_HEAD],
    };
    let epsilons: Vec<f64> = match &args.epsilons {
        Some(list) => parse_list("--epsilons", list)?,
        None => vec![args.run.epsilon],
    };
    let fractions: Vec<f64> = parse_list("--eval-at", &args.eval_at)?;
    eval_steps(&fractions, 1)?; // refused before anything is loaded
    let seeds: Vec<u64> = parse_list("--seeds", &args.seeds)?;
    let grid: Vec<(&MethodSpec, Vec<Setting>)> = specs
        .iter()
        .map(|s| (s, settings_of(s, &lrs, &head_lrs, &epsilons)))
        .collect();
    let choices = grid.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
    if choices > 1 && args.validation.per_class(1)? == 0 {
        return Err(format!(
            "--validation 0: choosing among {choices} settings needs validation pictures"
        )
        .into());
    }
    // Every setting is checked before anything trains.
    for (spec, settings) in &grid {
        spec.run
            .prompt_config(spec.method)
            .validate(config.embed_dim)
            .map_err(|e| format!("{}: {e}", spec.label))?;
        for setting in settings {
            cell_args(spec, setting)
                .train_config(spec.method, 0)
                .map_err(|e| format!("{}: {e}", spec.label))?;
        }
    }
    let data = load_data(dir, args.test.as_deref(), args.holdout, args.split_seed)?;
    if data.test.is_empty() {
        return Err(
            "a comparison needs held-out images: give --test or a positive --holdout".into(),
        );
    }
    let draws = draws_of(&data, &args)?;
    let (first, validation) = &draws[0];
    eprintln!(
        "{} draw(s), each {} training and {} validation pictures; {} held out",
        draws.len(),
        first.train.len(),
        validation.len(),
        first.test.len()
    );
    let (device, gpu) = args.backend.device()?;
    let backbone: Arc<Backbone> = Arc::new(files.load(config, &device, gpu.as_ref())?);

    let per_epoch = first.train.len().div_ceil(args.run.batch);
    let steps_per_cell = per_epoch * args.run.epochs;
    let evals = eval_steps(&fractions, steps_per_cell)?;
    let cells_total = draws.len() * seeds.len() * grid.iter().map(|(_, s)| s.len()).sum::<usize>();
    let progress = Progress::new(steps_per_cell * cells_total);
    let started = Instant::now();
    let mut cells = Vec::with_capacity(cells_total);
    for (draw, (data, validation)) in draws.iter().enumerate() {
        let plan = Plan {
            every_epoch: args.eval_every_epoch,
            extra_evals: evals.clone(),
            validation: validation.clone(),
        };
        for (spec, settings) in &grid {
            for setting in settings {
                for &seed in &seeds {
                    let label = format!(
                        "{} lr {:e}{}{}{} seed {seed}",
                        spec.label,
                        setting.lr,
                        setting
                            .lr_head
                            .filter(|_| spec.method != Method::Head)
                            .map_or(String::new(), |h| format!(" head {h:e}")),
                        setting
                            .epsilon
                            .map_or(String::new(), |e| format!(" eps {e:e}")),
                        if draws.len() > 1 {
                            format!(" draw {draw}")
                        } else {
                            String::new()
                        },
                    );
                    let mut tracker = Tracker {
                        progress: &progress,
                        done_before: cells.len() * steps_per_cell,
                        label: label.clone(),
                        points: Vec::new(),
                        losses: Vec::new(),
                    };
                    let cell = train_cell(
                        spec,
                        setting,
                        draw,
                        seed,
                        data,
                        &plan,
                        &backbone,
                        &device,
                        &mut tracker,
                    )
                    .map_err(|e| format!("{label}: {e}"))?;
                    progress.clear();
                    let last = cell.history.last().map_or(0.0, |p| p.test_accuracy);
                    eprintln!(
                        "{label}: held-out {:.1}%  [{} elapsed]",
                        100.0 * last,
                        format_seconds(started.elapsed().as_secs_f64())
                    );
                    cells.push(cell);
                }
            }
        }
    }

    let summary = compare::summarise_against(&cells, args.baseline.as_deref());
    let title = format!(
        "{}: {} classes, {} training pictures x {} draw(s), {} px",
        files.name(),
        first.classes.len(),
        first.train.len(),
        draws.len(),
        args.run.size
    );
    let seconds = started.elapsed().as_secs_f64();
    let report = json!({
        "format": 2,
        "title": title,
        "model": files.name(),
        "classes": first.classes,
        "images": {"train": first.train.len(), "validation": validation.len(), "test": first.test.len()},
        "split_seed": args.split_seed,
        "draws": draws.len(),
        "shots": args.shots,
        "settings": {
            "epochs": args.run.epochs, "batch": args.run.batch, "size": args.run.size,
            "recipe": args.run.recipe.map(|r| r.name), "lrs": lrs, "head_lrs": head_lrs,
            "epsilons": epsilons, "seeds": seeds, "eval_steps": evals,
            "eval_every_epoch": args.eval_every_epoch,
            "augment": args.run.augment.name(), "crop_scale": args.run.crop_scale,
            "methods": specs.iter().map(|s| {
                let prompt = s.run.prompt_config(s.method);
                let whiten = s.run.whiten_config();
                json!({
                    "label": s.label,
                    "prompts": prompt.effective().num_prompts,
                    "rank": prompt.effective().rank,
                    "b_init": prompt.b_init.name(),
                    "whiten": whiten.estimator.name(),
                    "whiten_source": whiten.source.name(),
                    "whiten_views": whiten.views.name(),
                    "whiten_side": whiten.side.name(),
                    "epsilon": whiten.epsilon,
                })
            }).collect::<Vec<_>>(),
        },
        "seconds": seconds,
        "seconds_per_cell": seconds / cells.len().max(1) as f64,
        "summary": summary,
        "cells": cells,
    });
    write_outputs(&args.out, &report, &summary, &title)?;
    eprintln!(
        "wrote {0}/compare.json, compare.md and compare.svg ({1}, {2:.1} s per cell)",
        args.out.display(),
        format_seconds(seconds),
        seconds / cells.len().max(1) as f64
    );
    Ok(())
}

/// Trains one cell and records it: its evaluations, its losses, and for a method that whitens
/// the whitening's diagnostics at initialisation and at the end.
#[allow(clippy::too_many_arguments)]
fn train_cell(
    spec: &MethodSpec,
    setting: &Setting,
    draw: usize,
    seed: u64,
    data: &Dataset,
    plan: &Plan,
    backbone: &Arc<Backbone>,
    device: &burn::tensor::Device,
    tracker: &mut Tracker,
) -> Result<Cell, Error> {
    let run = cell_args(spec, setting);
    let session = pollster::block_on(Session::new(
        backbone.clone(),
        run.prompt_config(spec.method),
        run.train_config(spec.method, seed)?,
        run.whiten_config(),
        data,
        device,
    ))?;
    let (total_steps, per_epoch) = (session.total_steps(), session.steps_per_epoch());
    let share_init = pollster::block_on(session.prompt_energy_share())?;
    let eigenvalues = session.whitening.first().map(|w| w.spectrum.values.clone());
    let outcome = pollster::block_on(run::run(session, data, plan, tracker));
    // A diverged cell is a result (this setting is too fast), not a failure of the grid.
    let (history, diverged_at, share_end) = match outcome {
        Ok(outcome) => {
            let share = pollster::block_on(outcome.session.prompt_energy_share())?;
            (std::mem::take(&mut tracker.points), None, share)
        }
        Err(crate::train::TrainError::NonFinite { step, .. }) => {
            eprintln!(
                "{}: diverged at step {step}; 0% accuracy from then on",
                tracker.label
            );
            let points = std::mem::take(&mut tracker.points);
            (
                diverged(
                    points,
                    &plan.extra_evals,
                    total_steps,
                    per_epoch,
                    plan.every_epoch,
                ),
                Some(step),
                None,
            )
        }
        Err(e) => return Err(e.into()),
    };
    let losses = &tracker.losses;
    let diagnostics = match (eigenvalues, share_init) {
        (Some(eigenvalues), Some(share_init)) => Some(Diagnostics {
            k: k_covering(&eigenvalues, TRACE_SHARE),
            eigenvalues,
            share_init,
            share_end,
        }),
        _ => None,
    };
    Ok(Cell {
        method: spec.label.clone(),
        setting: *setting,
        draw,
        seed,
        total_steps,
        steps_per_epoch: per_epoch,
        diverged_at,
        history,
        train_loss: compare::epoch_means(losses, per_epoch),
        train_loss_early: compare::window_mean(losses, compare::early_step(total_steps), per_epoch),
        diagnostics,
    })
}

/// The history of a cell whose loss stopped being finite: the evaluations it made, then each
/// later one the plan would have made (its steps, and epoch ends when it evaluates every epoch)
/// at zero accuracy and infinite validation loss: a diverged classifier predicts nothing, its
/// setting loses the validation choice, and its history keeps the steps of the others so that
/// pairs stay whole.
fn diverged(
    mut points: Vec<Point>,
    planned: &[usize],
    total_steps: usize,
    steps_per_epoch: usize,
    every_epoch: bool,
) -> Vec<Point> {
    let last = points.last().map_or(0, |p| p.step);
    let per_epoch = steps_per_epoch.max(1);
    let mut marks: Vec<usize> = planned.to_vec();
    if every_epoch {
        marks.extend(
            (1..)
                .map(|e| e * per_epoch)
                .take_while(|&s| s <= total_steps),
        );
    }
    marks.sort_unstable();
    marks.dedup();
    for step in marks.into_iter().filter(|&s| s > last) {
        points.push(Point {
            step,
            epoch: step / per_epoch,
            epoch_end: step.is_multiple_of(per_epoch),
            test_accuracy: 0.0,
            validation_accuracy: 0.0,
            validation_loss: f64::INFINITY,
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::whiten::{Side, Source, Views};

    #[derive(clap::Parser)]
    struct Shared {
        #[command(flatten)]
        run: RunArgs,
    }

    #[test]
    fn method_options_set_the_same_settings_as_the_flags() {
        let base = Shared::parse_from(["x"]).run;
        let specs = parse_methods(
            "head,bpt-fwhiten:source=norm1:views=eval:side=both:epsilon=0.1,bpt-bilinear:b-init=xavier:rank=8",
            &base,
        )
        .unwrap();
        let w = specs[1].run.whiten_config();
        assert_eq!(
            (w.source, w.views, w.side, w.epsilon),
            (Source::Norm1, Views::Eval, Side::Both, 0.1)
        );
        let p = specs[2].run.prompt_config(specs[2].method);
        assert_eq!((p.b_init, p.rank), (BInit::Xavier, 8));
        for bad in [
            "vpt:source=input",
            "vpt:views=test",
            "vpt:side=left",
            "vpt:colour=red",
            "vpt,vpt",
            "sgd",
        ] {
            assert!(parse_methods(bad, &base).is_err(), "{bad}");
        }
    }
}
