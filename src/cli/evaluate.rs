//! `bpt-lab evaluate`: a run file on a folder with one sub-folder per class (names matched to
//! the run's classes): accuracy, per-class accuracy, the confusion matrix and the loss.

use crate::error::Error;
use std::path::PathBuf;

use serde_json::json;

use super::images::read_folder;
use super::predict::load_run;
use super::{Backend, ModelFiles};
use crate::train::confusion::Confusion;

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// A run file (`train`'s run.safetensors, or one exported by the page).
    #[arg(long)]
    run: PathBuf,
    #[command(flatten)]
    files: ModelFiles,
    /// Images: one sub-folder per class of the run, named as its classes.
    #[arg(long)]
    data: PathBuf,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
    #[arg(long, value_enum, default_value_t = Backend::Wgpu)]
    backend: Backend,
}

/// The class folders of `data` that are not among `classes`, and the classes without a folder.
fn mismatched(
    data: &std::path::Path,
    classes: &[String],
) -> Result<(Vec<String>, Vec<String>), Error> {
    let folders: Vec<String> = std::fs::read_dir(data)
        .map_err(|e| Error::at(data, e))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut unknown: Vec<String> = folders
        .iter()
        .filter(|f| !classes.contains(f))
        .cloned()
        .collect();
    unknown.sort();
    let missing = classes
        .iter()
        .filter(|c| !folders.contains(c))
        .cloned()
        .collect();
    Ok((unknown, missing))
}

pub fn run(args: EvaluateArgs) -> Result<(), Error> {
    let config = args.files.config()?;
    let (device, gpu) = args.backend.device()?;
    let backbone = args.files.load(config, &device, gpu.as_ref())?;
    let classifier = load_run(&args.run, &backbone, &device)?;
    let classes = &classifier.classes;
    let (unknown, missing) = mismatched(&args.data, classes)?;
    if !unknown.is_empty() || !missing.is_empty() {
        let mut why = Vec::new();
        if !unknown.is_empty() {
            why.push(format!(
                "folders the run has no class for: {}",
                unknown.join(", ")
            ));
        }
        if !missing.is_empty() {
            why.push(format!(
                "run classes without a folder: {}",
                missing.join(", ")
            ));
        }
        return Err(format!(
            "{}: the folders do not match the run's classes ({}): {}",
            args.data.display(),
            classes.join(", "),
            why.join("; ")
        )
        .into());
    }
    let folder = read_folder(&args.data, Some(classes))?;
    if folder.samples.is_empty() {
        return Err(format!("{}: no images", args.data.display()).into());
    }
    let probs =
        pollster::block_on(classifier.probabilities_of(&backbone, &folder.samples, &device))?;
    let labels: Vec<usize> = folder.samples.iter().map(|s| s.label).collect();
    let mut counts = Confusion::new(classes.len());
    counts.add(&probs, &labels);
    if args.json {
        let per_class: serde_json::Map<String, serde_json::Value> = classes
            .iter()
            .zip(counts.per_class())
            .map(|(c, a)| (c.clone(), json!(a)))
            .collect();
        println!(
            "{}",
            json!({
                "images": counts.total(),
                "accuracy": counts.accuracy(),
                "loss": counts.loss(),
                "per_class": per_class,
                "classes": classes,
                "confusion": counts.matrix,
            })
        );
        return Ok(());
    }
    println!(
        "accuracy {:.2}% ({}/{}), loss {:.4}",
        100.0 * counts.accuracy(),
        counts.correct(),
        counts.total(),
        counts.loss()
    );
    for (class, acc) in classes.iter().zip(counts.per_class()) {
        println!(
            "  {class}: {}",
            acc.map_or("no images".to_string(), |a| format!("{:.2}%", 100.0 * a))
        );
    }
    println!("confusion (rows: true class, columns: predicted, in the order above):");
    for row in &counts.matrix {
        println!(
            "  {}",
            row.iter().map(|n| format!("{n:>5}")).collect::<String>()
        );
    }
    Ok(())
}
