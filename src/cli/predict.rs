//! `bpt-lab predict`: class probabilities of images from a run file on its model, with the
//! run's normalisation and evaluation crop. Also the run loading `evaluate` shares.

use crate::error::Error;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde_json::{Value, json};

use super::images::decode;
use super::{Backend, ModelFiles, read};
use crate::model::Backbone;
use crate::train::{Classifier, Sample, export};

#[derive(clap::Args)]
pub struct PredictArgs {
    /// A run file (`train`'s run.safetensors, or one exported by the page).
    #[arg(long)]
    run: PathBuf,
    #[command(flatten)]
    files: ModelFiles,
    /// Images to classify (JPEG, PNG, WebP, BMP, GIF).
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// How many classes to show per image.
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Print JSON: one object per image with every class's probability.
    #[arg(long)]
    json: bool,
    #[arg(long, value_enum, default_value_t = Backend::Wgpu)]
    backend: Backend,
}

/// The run file at `path` on `backbone`, refused with the reason when it does not fit.
pub fn load_run(path: &Path, backbone: &Backbone, device: &Device) -> Result<Classifier, Error> {
    let bytes = read(path)?;
    let trained_on =
        export::recorded_text(&bytes, "model").unwrap_or_else(|| "an unnamed model".into());
    let refuse = |why: String| {
        format!(
            "{}: the run (trained on {trained_on}) does not fit this model ({} wide, {} blocks, patch {}): {why}",
            path.display(),
            backbone.config.embed_dim,
            backbone.config.depth,
            backbone.config.patch_size
        )
    };
    let recorded = export::recorded_model_hash(&bytes);
    match recorded {
        Some(hash) if hash != backbone.weights_hash => {
            return Err(refuse(format!(
                "its weights hash {hash} is not this model's {}",
                backbone.weights_hash
            ))
            .into());
        }
        Some(_) => {}
        None => eprintln!(
            "note: {} records no model hash (an older file); it is checked by shape only",
            path.display()
        ),
    }
    let classifier = export::from_safetensors(&bytes, backbone.config.embed_dim, device).map_err(
        |e| match e {
            crate::train::TrainError::Export(m) if m.contains("shape") => refuse(m),
            e => format!("{}: {e}", path.display()),
        },
    )?;
    classifier.check_fits(backbone).map_err(refuse)?;
    Ok(classifier)
}

pub fn run(args: PredictArgs) -> Result<(), Error> {
    let config = args.files.config()?;
    let mut samples = Vec::with_capacity(args.images.len());
    let mut errors = Vec::new();
    for path in &args.images {
        match read(path).and_then(|b| decode(&b).map_err(|e| Error::at(path, e))) {
            Ok(image) => samples.push(Sample {
                image: std::sync::Arc::new(image),
                label: 0,
                name: path.display().to_string(),
            }),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(format!(
            "{} unreadable image(s):\n  {}",
            errors.len(),
            errors.join("\n  ")
        )
        .into());
    }
    let (device, gpu) = args.backend.device()?;
    let backbone = args.files.load(config, &device, gpu.as_ref())?;
    let classifier = load_run(&args.run, &backbone, &device)?;
    let probs = pollster::block_on(classifier.probabilities_of(&backbone, &samples, &device))?;
    let n = classifier.classes.len();
    let mut lines = Vec::new();
    for (sample, row) in samples.iter().zip(probs.chunks(n)) {
        let mut ranked: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if args.json {
            let all: serde_json::Map<String, Value> = classifier
                .classes
                .iter()
                .zip(row)
                .map(|(c, p)| (c.clone(), json!(p)))
                .collect();
            lines.push(
                json!({
                    "image": sample.name,
                    "class": classifier.classes[ranked[0].0],
                    "probabilities": all,
                })
                .to_string(),
            );
        } else {
            let top: Vec<String> = ranked
                .iter()
                .take(args.top.max(1))
                .map(|(i, p)| format!("{} {:.1}%", classifier.classes[*i], 100.0 * p))
                .collect();
            lines.push(format!("{}: {}", sample.name, top.join(", ")));
        }
    }
    println!("{}", lines.join("\n"));
    Ok(())
}
