//! `bpt-lab analyse`: histograms, moments, tails and fits of X, W_q W_k^T, X~ and whitened X~
//! (in-sample and on held-out images) for a block, for X as the block's input and as its norm1
//! output, and of the prompt tokens of exported runs, as JSON; and the whitening's diagnostics
//! (Sigma's spectrum, and the share of an initial prompt's energy in its top directions for
//! each epsilon).

use crate::error::Error;
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::images::read_folder;
use super::{Backend, ModelFiles, read, write_files};
use crate::analysis::{
    DIAGNOSTIC_EPSILONS, DIAGNOSTIC_PROMPTS, Summarizer, gather, summarize_views,
    whitening_diagnostics,
};
use crate::model::checkpoint::{Checkpoint, to_safetensors};
use crate::stats::{StatsKernels, SummaryOptions};
use crate::train::export;

#[derive(clap::Args)]
pub struct AnalyseArgs {
    #[command(flatten)]
    files: ModelFiles,
    /// Images: one sub-folder per class (as for `train`); all classes are used.
    #[arg(long)]
    data: PathBuf,
    /// The block whose input tokens and attention weights are analysed (0 = first).
    #[arg(long, default_value_t = 0)]
    block: usize,
    /// Input side in pixels (a multiple of the patch size).
    #[arg(long, default_value_t = 224)]
    size: usize,
    /// At most this many images (the first in folder order).
    #[arg(long, default_value_t = 32)]
    images: usize,
    /// Histogram bins.
    #[arg(long, default_value_t = 256)]
    bins: u32,
    /// Epsilons of the whitening diagnostics: for each, the share of BPT-fWhiten's initial
    /// prompt's energy (after norm1) in Sigma's top directions.
    #[arg(long, value_delimiter = ',', default_values_t = DIAGNOSTIC_EPSILONS)]
    epsilons: Vec<f64>,
    /// Prompt tokens m of the diagnostics' initial prompts.
    #[arg(long, default_value_t = DIAGNOSTIC_PROMPTS)]
    prompts: usize,
    /// Run files (`train`'s run.safetensors) whose prompt tokens are summarised too.
    #[arg(long, num_args = 1..)]
    runs: Vec<PathBuf>,
    /// Where to write the JSON (standard output without it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the raw views (x, wq_wk, x_tilde, x_tilde_whitened) as safetensors, for an
    /// independent check (scripts/stats/check_analysis.py).
    #[arg(long)]
    dump: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Backend::Wgpu)]
    backend: Backend,
}

pub fn run(args: AnalyseArgs) -> Result<(), Error> {
    let config = args.files.config()?;
    let folder = read_folder(&args.data, None)?;
    let samples: Vec<_> = folder
        .samples
        .into_iter()
        .take(args.images.max(1))
        .collect();
    let (device, gpu) = args.backend.device()?;
    let backbone = args.files.load(config, &device, gpu.as_ref())?;
    let views = pollster::block_on(gather(&backbone, &samples, args.block, args.size, &device))?;
    let by = match &gpu {
        Some(ctx) => Summarizer::Gpu(ctx, StatsKernels::new(ctx)),
        None => Summarizer::Cpu,
    };
    let options = SummaryOptions {
        bins: args.bins,
        ..SummaryOptions::default()
    };
    let mut out = pollster::block_on(summarize_views(&views, &by, &options))?;
    out["model"] = json!(args.files.name());
    out["size"] = json!(args.size);
    if args.prompts == 0 {
        return Err("--prompts must be at least 1".into());
    }
    let mut whitening = serde_json::Map::new();
    for (name, source) in [("block_input", &views.block_input), ("norm1", &views.norm1)] {
        let diagnostics = whitening_diagnostics(
            &backbone,
            args.block,
            &source.spectrum,
            &args.epsilons,
            args.prompts,
            &device,
        );
        whitening.insert(name.into(), json!(pollster::block_on(diagnostics)?));
    }
    out["whitening"] = Value::Object(whitening);

    let mut prompts = serde_json::Map::new();
    for path in &args.runs {
        let bytes = read(path)?;
        let ck = Checkpoint::from_safetensors(&bytes).map_err(|e| Error::at(path, e))?;
        let mut tokens = Vec::new();
        for name in ck
            .names()
            .filter(|n| n.starts_with("prompt.") && n.ends_with(".tokens"))
        {
            tokens.extend_from_slice(&ck.get(name).expect("listed").data);
        }
        let method = export::recorded_text(&bytes, "method").unwrap_or_default();
        if tokens.is_empty() {
            return Err(if method == "head" {
                format!(
                    "{}: a head-only run has no prompt tokens to analyse",
                    path.display()
                )
                .into()
            } else {
                format!("{}: no prompt.*.tokens: not a run file", path.display()).into()
            });
        }
        let summary = pollster::block_on(by.summarize(&tokens, &options))?;
        prompts.insert(
            path.display().to_string(),
            json!({ "method": method, "tokens": summary.to_json() }),
        );
    }
    out["prompts"] = Value::Object(prompts);

    let dump = match &args.dump {
        Some(path) => {
            let mut tensors = BTreeMap::from([("wq_wk".to_string(), views.wq_wk.clone())]);
            for (prefix, source) in [("", &views.block_input), ("norm1.", &views.norm1)] {
                for (key, t) in source.named() {
                    tensors.insert(format!("{prefix}{key}"), t.clone());
                }
            }
            Some((path.clone(), to_safetensors(&tensors)?))
        }
        None => None,
    };
    let text = serde_json::to_string_pretty(&out).expect("JSON values serialise");
    // The JSON and the dump are one result: both written, or neither.
    let mut files: Vec<(PathBuf, &[u8])> = Vec::new();
    if let Some(path) = &args.out {
        files.push((path.clone(), text.as_bytes()));
    }
    if let Some((path, bytes)) = &dump {
        files.push((path.clone(), bytes));
    }
    write_files(&files)?;
    if args.out.is_none() {
        println!("{text}");
    }
    Ok(())
}
