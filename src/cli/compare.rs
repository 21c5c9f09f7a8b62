//! `bpt-lab compare`: a grid of methods x learning rates x seeds on one data set, in one
//! process (the backbone loaded once). Every cell trains on the same training images and is
//! evaluated on the same validation and held-out images; seeds are paired across methods. The
//! learning rate of each method is chosen on validation only (`compare::SELECTION`). Writes
//! `compare.json` (settings, every cell's history, the summary), `compare.md` and `compare.svg`.

use crate::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::progress::{Progress, format_seconds};
use super::run_args::RunArgs;
use super::train::load_data;
use super::{Backend, ModelFiles, write_folder};
use crate::compare::{self, Cell, Point, svg};
use crate::kernels::half::WeightStorage;
use crate::model::Backbone;
use crate::prompt::{BInit, Method};
use crate::train::run::{self, EvalPoint, Flow, Observer, Plan};
use crate::train::{Session, StepStats};

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
    /// Share of each class's training images set aside for choosing the learning rate.
    #[arg(long, default_value_t = 0.2)]
    validation: f64,
    /// Seed of the held-out and validation splits (the same for every cell).
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
    /// Methods, comma-separated; each may carry options after colons:
    /// `b-init=whiten|xavier`, `rank=P`, `prompts=M`, `deep`, `source=block-input|norm1`,
    /// `views=train|eval`, `epsilon=E` (e.g. `bpt-bilinear:b-init=xavier`).
    #[arg(long, default_value = "head,vpt,bpt-fwhiten,bpt-bilinear")]
    methods: String,
    /// Learning rates, comma-separated; each method takes the best on validation.
    #[arg(long, default_value = "5e-3,5e-2")]
    lrs: String,
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
}

fn parse_methods(list: &str, base: &RunArgs) -> Result<Vec<MethodSpec>, Error> {
    let mut specs: Vec<MethodSpec> = Vec::new();
    for label in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut parts = label.split(':');
        let method: Method = parts.next().unwrap_or_default().parse()?;
        let mut run = base.clone();
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
                "epsilon" => run.epsilon = number(value)?,
                // The same names as the flags --whiten-source and --whiten-views take.
                "source" => {
                    run.whiten_source = clap::ValueEnum::from_str(value, false)
                        .map_err(|_| bad("block-input or norm1".into()))?;
                }
                "views" => {
                    run.whiten_views = clap::ValueEnum::from_str(value, false)
                        .map_err(|_| bad("train or eval".into()))?;
                }
                _ => {
                    return Err(format!(
                        "{label}: unknown option {key:?} (b-init, rank, prompts, deep, source, views, epsilon)"
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

/// The grid's progress bar and each cell's evaluations.
struct Tracker<'a> {
    progress: &'a Progress,
    done_before: usize,
    label: String,
    points: Vec<Point>,
}

impl Observer for Tracker<'_> {
    fn step(&mut self, stats: &StepStats) {
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
    let seeds: Vec<u64> = parse_list("--seeds", &args.seeds)?;
    if lrs.len() > 1 && !(args.validation > 0.0 && args.validation < 1.0) {
        return Err(format!(
            "--validation {}: choosing among {} rates needs a validation share in (0, 1)",
            args.validation,
            lrs.len()
        )
        .into());
    }
    // Every setting is checked before anything trains.
    for spec in &specs {
        spec.run
            .prompt_config(spec.method)
            .validate(config.embed_dim)
            .map_err(|e| format!("{}: {e}", spec.label))?;
        for &lr in &lrs {
            let mut r = spec.run.clone();
            r.lr = Some(lr);
            r.train_config(spec.method, 0)
                .map_err(|e| format!("{}: {e}", spec.label))?;
        }
    }
    let data = load_data(dir, args.test.as_deref(), args.holdout, args.split_seed)?;
    let (data, validation) = data
        .carve_validation(args.validation, args.split_seed)
        .map_err(|e| format!("validation split: {e}"))?;
    eprintln!(
        "validation: {} images carved from the training images ({} left to train on)",
        validation.len(),
        data.train.len()
    );
    if data.test.is_empty() {
        return Err(
            "a comparison needs held-out images: give --test or a positive --holdout".into(),
        );
    }
    let (device, gpu) = args.backend.device()?;
    let backbone: Arc<Backbone> = Arc::new(files.load(config, &device, gpu.as_ref())?);

    let steps_per_cell = data.train.len().div_ceil(args.run.batch) * args.run.epochs;
    let cells_total = specs.len() * lrs.len() * seeds.len();
    let progress = Progress::new(steps_per_cell * cells_total);
    let started = Instant::now();
    let plan = Plan {
        extra_evals: vec![compare::early_step(steps_per_cell)],
        validation,
    };
    let mut cells = Vec::with_capacity(cells_total);
    for spec in &specs {
        for &lr in &lrs {
            for &seed in &seeds {
                let mut settings = spec.run.clone();
                settings.lr = Some(lr);
                let label = format!("{} lr {lr:e} seed {seed}", spec.label);
                let session = pollster::block_on(Session::new(
                    backbone.clone(),
                    settings.prompt_config(spec.method),
                    settings.train_config(spec.method, seed)?,
                    settings.whiten_config(),
                    &data,
                    &device,
                ))
                .map_err(|e| format!("{label}: {e}"))?;
                let (total_steps, per_epoch) = (session.total_steps(), session.steps_per_epoch());
                let mut tracker = Tracker {
                    progress: &progress,
                    done_before: cells.len() * steps_per_cell,
                    label: label.clone(),
                    points: Vec::new(),
                };
                let outcome = pollster::block_on(run::run(session, &data, &plan, &mut tracker));
                progress.clear();
                // A diverged cell is a result (this rate is too high), not a failure of the grid.
                let (points, diverged_at) = match outcome {
                    Ok(_) => (tracker.points, None),
                    Err(crate::train::TrainError::NonFinite { step, .. }) => {
                        eprintln!("{label}: diverged at step {step}; 0% accuracy from then on");
                        (diverged(tracker.points, total_steps, per_epoch), Some(step))
                    }
                    Err(e) => return Err(format!("{label}: {e}").into()),
                };
                let last = points.last().map_or(0.0, |p| p.test_accuracy);
                eprintln!(
                    "{label}: held-out {:.1}%  [{} elapsed]",
                    100.0 * last,
                    format_seconds(started.elapsed().as_secs_f64())
                );
                cells.push(Cell {
                    method: spec.label.clone(),
                    lr,
                    seed,
                    total_steps,
                    diverged_at,
                    history: points,
                });
            }
        }
    }

    let summary = compare::summarise_against(&cells, args.baseline.as_deref());
    let title = format!(
        "{}: {} classes, {} training images, {} px",
        files.name(),
        data.classes.len(),
        data.train.len(),
        args.run.size
    );
    let report = json!({
        "format": 1,
        "title": title,
        "model": files.name(),
        "classes": data.classes,
        "images": {"train": data.train.len(), "validation": plan.validation.len(), "test": data.test.len()},
        "split_seed": args.split_seed,
        "settings": {
            "epochs": args.run.epochs, "batch": args.run.batch, "size": args.run.size,
            "recipe": args.run.recipe.map(|r| r.name), "lrs": lrs, "seeds": seeds,
            "methods": specs.iter().map(|s| {
                let prompt = s.run.prompt_config(s.method);
                let whiten = s.run.whiten_config();
                json!({
                    "label": s.label,
                    "prompts": prompt.effective().num_prompts,
                    "rank": prompt.effective().rank,
                    "b_init": prompt.b_init.name(),
                    "whiten_source": whiten.source.name(),
                    "whiten_views": whiten.views.name(),
                    "epsilon": whiten.epsilon,
                })
            }).collect::<Vec<_>>(),
        },
        "seconds": started.elapsed().as_secs_f64(),
        "summary": summary,
        "cells": cells,
    });
    write_outputs(&args.out, &report, &summary, &title)?;
    eprintln!(
        "wrote {0}/compare.json, compare.md and compare.svg ({1})",
        args.out.display(),
        format_seconds(started.elapsed().as_secs_f64())
    );
    Ok(())
}

/// The history of a cell whose loss stopped being finite: the evaluations it made, then each
/// later one (epoch ends and the 20% mark) at zero accuracy and infinite validation loss: a
/// diverged classifier predicts nothing, its rate loses the validation choice, and its curve
/// keeps the length of the others so seeds stay paired.
fn diverged(mut points: Vec<Point>, total_steps: usize, steps_per_epoch: usize) -> Vec<Point> {
    let last = points.last().map_or(0, |p| p.step);
    let early = compare::early_step(total_steps);
    let mut marks: Vec<usize> = (1..)
        .map(|e| e * steps_per_epoch.max(1))
        .take_while(|&s| s <= total_steps)
        .collect();
    marks.push(early);
    marks.sort_unstable();
    marks.dedup();
    for step in marks.into_iter().filter(|&s| s > last) {
        let epoch_end = step.is_multiple_of(steps_per_epoch.max(1));
        points.push(Point {
            step,
            epoch: step / steps_per_epoch.max(1),
            epoch_end,
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
    use crate::whiten::{Source, Views};

    #[derive(clap::Parser)]
    struct Shared {
        #[command(flatten)]
        run: RunArgs,
    }

    #[test]
    fn method_options_set_the_same_settings_as_the_flags() {
        let base = Shared::parse_from(["x"]).run;
        let specs = parse_methods(
            "head,bpt-fwhiten:source=norm1:views=eval:epsilon=0.1,bpt-bilinear:b-init=xavier:rank=8",
            &base,
        )
        .unwrap();
        let w = specs[1].run.whiten_config();
        assert_eq!(
            (w.source, w.views, w.epsilon),
            (Source::Norm1, Views::Eval, 0.1)
        );
        let p = specs[2].run.prompt_config(specs[2].method);
        assert_eq!((p.b_init, p.rank), (BInit::Xavier, 8));
        for bad in [
            "vpt:source=input",
            "vpt:views=test",
            "vpt:colour=red",
            "vpt,vpt",
            "sgd",
        ] {
            assert!(parse_methods(bad, &base).is_err(), "{bad}");
        }
    }
}
