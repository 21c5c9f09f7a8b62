//! `bpt-lab train`: prompt tuning on a folder of images, with per-epoch metrics as JSON lines
//! and the run exported as safetensors (names in `train::export`).

use crate::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::by_name::by_name;
use super::images::read_folder;
use super::progress::Progress;
use super::run_args::RunArgs;
use super::{Backend, ModelFiles, write_folder};
use crate::prompt::Method;
use crate::train::run::{self, EvalPoint, Flow, Observer, Plan};
use crate::train::{Dataset, Session, StepStats, export};

#[derive(clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    files: ModelFiles,
    /// Training images: one sub-folder per class.
    #[arg(long)]
    data: PathBuf,
    /// Held-out images in the same layout; without it, --holdout of --data is held out.
    #[arg(long)]
    test: Option<PathBuf>,
    /// Share of each class held out when there is no --test folder, in [0, 1).
    #[arg(long, default_value_t = 0.2)]
    holdout: f64,
    /// The prompt method; head trains no prompts, only the head (the baseline).
    #[arg(long, value_parser = by_name(&Method::ALL, Method::name), default_value = "bpt-bilinear")]
    method: Method,
    #[command(flatten)]
    run: RunArgs,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder for metrics.jsonl and run.safetensors.
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Backend::Wgpu)]
    backend: Backend,
}

/// The training folder and the held-out folder (or `holdout` of each class, chosen with
/// `seed`), with a line on standard error saying what was read.
pub fn load_data(
    dir: &Path,
    test: Option<&Path>,
    holdout: f64,
    seed: u64,
) -> Result<Dataset, Error> {
    let train = read_folder(dir, None)?;
    let mut skipped = train.skipped;
    let data = match test {
        Some(dir) => {
            let test = read_folder(dir, Some(&train.classes))?;
            skipped += test.skipped;
            let data = Dataset {
                classes: train.classes,
                train: train.samples,
                test: test.samples,
            };
            data.validate()?;
            data
        }
        None => Dataset::split(train.classes, train.samples, holdout, seed)?,
    };
    eprintln!(
        "data: {} classes, {} training and {} held-out images{}",
        data.classes.len(),
        data.train.len(),
        data.test.len(),
        if skipped > 0 {
            format!(" ({skipped} files without an image extension skipped)")
        } else {
            String::new()
        }
    );
    Ok(data)
}

/// Prints each epoch's figures and keeps them as JSON lines; a progress bar between.
struct Printer {
    progress: Option<Progress>,
    started: Instant,
    lines: Vec<String>,
}

impl Observer for Printer {
    fn started(&mut self, total_steps: usize) {
        self.progress = Some(Progress::new(total_steps));
    }

    fn step(&mut self, stats: &StepStats) {
        if let Some(p) = &self.progress {
            p.set(
                stats.step + 1,
                &format!("epoch {} loss {:.4}", stats.epoch + 1, stats.loss),
            );
        }
    }

    fn evaluated(&mut self, point: &EvalPoint) {
        if let Some(p) = &self.progress {
            p.clear();
        }
        let seconds = self.started.elapsed().as_secs_f64();
        let train_loss = point.train_loss.unwrap_or(f64::NAN);
        self.lines.push(
            json!({
                "epoch": point.epoch,
                "step": point.step,
                "train_loss": finite_or_null(train_loss),
                "test_accuracy": point.test.map(|t| t.accuracy()),
                "test_loss": point.test.map(|t| finite_or_null(t.loss)),
                "seconds": seconds,
            })
            .to_string(),
        );
        let held_out = match point.test {
            Some(t) => format!(
                "held-out accuracy {:.2}% ({}/{})",
                100.0 * t.accuracy(),
                t.correct,
                t.total
            ),
            None => "no held-out images".into(),
        };
        eprintln!(
            "epoch {:>3}  train loss {train_loss:.4}  {held_out}  {seconds:.0}s",
            point.epoch
        );
    }

    async fn proceed(&mut self) -> Flow {
        Flow::Continue
    }
}

fn finite_or_null(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

pub fn run(args: TrainArgs) -> Result<(), Error> {
    let config = args.files.config()?;
    let prompt = args.run.prompt_config(args.method);
    let train = args.run.train_config(args.method, args.seed)?;
    prompt.validate(config.embed_dim)?;
    let data = load_data(&args.data, args.test.as_deref(), args.holdout, args.seed)?;
    let (device, gpu) = args.backend.device()?;
    let backbone = args.files.load(config, &device, gpu.as_ref())?;

    eprintln!(
        "preparing {}{} ...",
        prompt.method.name(),
        if prompt.deep { " (deep)" } else { "" }
    );
    let session = pollster::block_on(Session::new(
        Arc::new(backbone),
        prompt,
        train,
        args.run.whiten_config(),
        &data,
        &device,
    ))?;
    eprintln!(
        "{} trainable prompt values; {} steps of {} images",
        session.model.prompts.trainable_count(),
        session.total_steps(),
        args.run.batch
    );

    let mut printer = Printer {
        progress: None,
        started: Instant::now(),
        lines: Vec::new(),
    };
    let outcome = pollster::block_on(run::run(session, &data, &Plan::default(), &mut printer));
    if let Some(p) = &printer.progress {
        p.clear();
    }
    let outcome = outcome?;
    let model_name = args.files.name();
    let extra = run::metadata(&outcome.session, &model_name);
    let bytes = pollster::block_on(export::to_safetensors(&outcome.session.model, extra))?;
    let metrics = printer.lines.join("\n") + "\n";
    write_folder(
        &args.out,
        &[
            ("metrics.jsonl", metrics.as_bytes()),
            ("run.safetensors", &bytes),
        ],
    )?;
    eprintln!(
        "wrote {}/metrics.jsonl and run.safetensors",
        args.out.display()
    );
    Ok(())
}
