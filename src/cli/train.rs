//! `bpt-lab train`: prompt tuning on a folder of images, with per-epoch metrics as JSON lines
//! and the run exported as safetensors (names in `train::export`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::images::read_folder;
use super::progress::Progress;
use super::{Backend, ModelFiles, write_atomically};
use crate::prompt::{BInit, Method, PromptConfig};
use crate::train::{Dataset, Session, TrainConfig, export};
use crate::whiten::{Estimator, Source, WhitenConfig};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum MethodArg {
    Vpt,
    BptFwhiten,
    BptTwhiten,
    BptBilinear,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum EstimatorArg {
    Centred,
    Official,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SourceArg {
    BlockInput,
    Norm1,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum BInitArg {
    Whiten,
    Xavier,
}

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
    /// Share of each class held out when there is no --test folder.
    #[arg(long, default_value_t = 0.2)]
    holdout: f64,
    #[arg(long, value_enum, default_value_t = MethodArg::BptBilinear)]
    method: MethodArg,
    /// One prompt set per block instead of one before the first block.
    #[arg(long)]
    deep: bool,
    /// m, the number of prompt tokens [default: 100 shallow, 50 deep].
    #[arg(long)]
    prompts: Option<usize>,
    /// p, the rank of BPT-bilinear [default: 75 shallow, 50 deep].
    #[arg(long)]
    rank: Option<usize>,
    #[arg(long, value_enum, default_value_t = BInitArg::Whiten)]
    b_init: BInitArg,
    /// Prompt dropout [default: 0.1 for deep VPT, else 0].
    #[arg(long)]
    dropout: Option<f64>,
    #[arg(long, default_value_t = 1e-2)]
    lr: f64,
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Input side in pixels (a multiple of the patch size).
    #[arg(long, default_value_t = 224)]
    size: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Weight decay of the prompt factors.
    #[arg(long, default_value_t = 5e-3)]
    wd: f64,
    /// Weight decay of the head's weight.
    #[arg(long, default_value_t = 0.1)]
    wd_head: f64,
    #[arg(long, value_enum, default_value_t = EstimatorArg::Centred)]
    whiten: EstimatorArg,
    #[arg(long, value_enum, default_value_t = SourceArg::BlockInput)]
    whiten_source: SourceArg,
    /// Training views used for the whitening statistics.
    #[arg(long, default_value_t = 100)]
    whiten_images: usize,
    /// Regulariser of the centred estimator, relative to the mean eigenvalue.
    #[arg(long, default_value_t = 1e-5)]
    epsilon: f64,
    /// Folder for metrics.jsonl and run.safetensors.
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Backend::Wgpu)]
    backend: Backend,
}

impl TrainArgs {
    fn prompt_config(&self) -> PromptConfig {
        let method = match self.method {
            MethodArg::Vpt => Method::Vpt,
            MethodArg::BptFwhiten => Method::BptFWhiten,
            MethodArg::BptTwhiten => Method::BptTWhiten,
            MethodArg::BptBilinear => Method::BptBilinear,
        };
        let paper = PromptConfig::paper(method, self.deep);
        PromptConfig {
            num_prompts: self.prompts.unwrap_or(paper.num_prompts),
            rank: self.rank.unwrap_or(paper.rank),
            dropout: self.dropout.unwrap_or(paper.dropout),
            b_init: match self.b_init {
                BInitArg::Whiten => BInit::Whiten,
                BInitArg::Xavier => BInit::Xavier,
            },
            ..paper
        }
    }

    fn whiten_config(&self) -> WhitenConfig {
        WhitenConfig {
            estimator: match self.whiten {
                EstimatorArg::Centred => Estimator::Centred,
                EstimatorArg::Official => Estimator::Official,
            },
            source: match self.whiten_source {
                SourceArg::BlockInput => Source::BlockInput,
                SourceArg::Norm1 => Source::Norm1,
            },
            epsilon: self.epsilon,
            max_images: self.whiten_images,
        }
    }

    fn train_config(&self) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            min_lr: 1e-8,
            warmup_epochs: self.warmup,
            weight_decay: self.wd,
            weight_decay_head: self.wd_head,
            size: self.size,
            seed: self.seed,
        }
    }
}

fn load_data(args: &TrainArgs) -> Result<Dataset, String> {
    let train = read_folder(&args.data, None)?;
    let mut skipped = train.skipped;
    let data = match &args.test {
        Some(dir) => {
            let test = read_folder(dir, Some(&train.classes))?;
            skipped += test.skipped;
            let data = Dataset {
                classes: train.classes,
                train: train.samples,
                test: test.samples,
            };
            data.validate().map_err(|e| e.to_string())?;
            data
        }
        None => Dataset::split(train.classes, train.samples, args.holdout, args.seed)
            .map_err(|e| e.to_string())?,
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

pub fn run(args: TrainArgs) -> Result<(), String> {
    let config = args.files.config()?;
    let data = load_data(&args)?;
    let (device, _gpu) = args.backend.device()?;
    let backbone = args.files.load(config, &device)?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;

    let prompt = args.prompt_config();
    let started = Instant::now();
    eprintln!(
        "preparing {}{} ...",
        prompt.method.name(),
        if prompt.deep { " (deep)" } else { "" }
    );
    let mut session = pollster::block_on(Session::new(
        Arc::new(backbone),
        prompt.clone(),
        args.train_config(),
        args.whiten_config(),
        &data,
        &device,
    ))
    .map_err(|e| e.to_string())?;
    eprintln!(
        "{} trainable prompt values; {} steps of {} images",
        session.model.prompts.trainable_count(),
        session.total_steps(),
        args.batch
    );

    let mut lines = Vec::new();
    let progress = Progress::new(session.total_steps());
    let mut epoch_loss = (0.0, 0usize);
    while !session.finished() {
        let epoch = session.epoch();
        for batch in session.epoch_batches(data.train.len()) {
            let stats =
                pollster::block_on(session.step(&data.train, &batch)).map_err(|e| e.to_string())?;
            if !stats.loss.is_finite() {
                progress.clear();
                return Err(format!(
                    "the loss became {} at step {}: try a smaller --lr",
                    stats.loss, stats.step
                ));
            }
            epoch_loss = (
                epoch_loss.0 + stats.loss as f64 * batch.len() as f64,
                epoch_loss.1 + batch.len(),
            );
            progress.set(
                stats.step + 1,
                &format!("epoch {} loss {:.4}", epoch + 1, stats.loss),
            );
        }
        let eval = pollster::block_on(session.evaluate(&data.test)).map_err(|e| e.to_string())?;
        progress.clear();
        let line = json!({
            "epoch": epoch + 1,
            "step": session.step,
            "train_loss": epoch_loss.0 / epoch_loss.1.max(1) as f64,
            "test_accuracy": eval.accuracy(),
            "test_loss": eval.loss,
            "seconds": started.elapsed().as_secs_f64(),
        });
        eprintln!(
            "epoch {:>3}  train loss {:.4}  held-out accuracy {:.2}% ({}/{})  {:.0}s",
            epoch + 1,
            epoch_loss.0 / epoch_loss.1.max(1) as f64,
            100.0 * eval.accuracy(),
            eval.correct,
            eval.total,
            started.elapsed().as_secs_f64()
        );
        lines.push(line.to_string());
        epoch_loss = (0.0, 0);
    }

    let extra = json!({
        "train": {
            "lr": args.lr, "epochs": args.epochs, "batch": args.batch, "seed": args.seed,
            "warmup_epochs": args.warmup, "weight_decay": args.wd, "weight_decay_head": args.wd_head,
        },
        "whitening": format!("{:?}", args.whiten_config()),
        "model": args.files.model.display().to_string(),
    });
    let bytes = pollster::block_on(export::to_safetensors(&session.model, extra))
        .map_err(|e| e.to_string())?;
    write_atomically(
        &args.out.join("metrics.jsonl"),
        (lines.join("\n") + "\n").as_bytes(),
    )?;
    write_atomically(&args.out.join("run.safetensors"), &bytes)?;
    eprintln!(
        "wrote {}/metrics.jsonl and run.safetensors",
        args.out.display()
    );
    Ok(())
}
