//! What the distribution plots show, for a model, some images and a block (BPT.md, "the
//! finding"): the tokens X entering the block, the entries of W_q W_k^T, X~ = W_q W_k^T X^T, and
//! X~ after the whitening estimated from the same images; plus the prompt tokens of runs.
//!
//! Values are summarised by the statistics kernels on the GPU when a context is given, else by
//! their plain-Rust twins; the JSON layout is the same either way.

use burn::tensor::{Device, Tensor};
use serde_json::{Value, json};

use crate::gpu::GpuContext;
use crate::model::Backbone;
use crate::model::checkpoint::HostTensor;
use crate::model::vit::{Prompts, Trace};
use crate::stats::{StatsError, StatsKernels, Summary, SummaryOptions, summarize_cpu};
use crate::train::data::{Sample, batch};
use crate::train::image::Transform;
use crate::whiten::{Accumulator, WhitenConfig, qk_product, x_tilde};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Whiten(#[from] crate::whiten::WhitenError),
    #[error(transparent)]
    Stats(#[from] StatsError),
}

/// The four views of one block, on the host.
pub struct Views {
    pub block: usize,
    pub images: usize,
    /// Tokens entering the block (class token and patches): [images * T, D].
    pub x: HostTensor,
    /// W_q W_k^T: [D, D].
    pub wq_wk: HostTensor,
    /// X~ as rows x W_k W_q^T: [images * T, D].
    pub x_tilde: HostTensor,
    /// X~ whitened with the centred estimate from these images: [images * T, D].
    pub whitened: HostTensor,
}

/// Runs the backbone on the evaluation view of `samples` at `size` px and collects the views
/// of `block`.
pub async fn gather(
    backbone: &Backbone,
    samples: &[Sample],
    block: usize,
    size: usize,
    device: &Device,
) -> Result<Views, AnalysisError> {
    let depth = backbone.config.depth;
    if block >= depth {
        return Err(AnalysisError::Input(format!(
            "block {block}: the model has blocks 0 to {}",
            depth - 1
        )));
    }
    if samples.is_empty() {
        return Err(AnalysisError::Input("no images to analyse".into()));
    }
    let pos = backbone.pos_embed(size, size, device)?;
    let transform = Transform::imagenet(size);
    let qk = qk_product(&backbone.vit.blocks[block].attn);
    let mut acc = Accumulator::new(backbone, vec![block], crate::whiten::Source::BlockInput);
    let mut xs = Vec::new();
    for chunk in samples.chunks(8) {
        let chosen: Vec<&Sample> = chunk.iter().collect();
        let (images, _) = batch(&chosen, &transform, None, device);
        let mut trace = Trace::default();
        let _ = backbone.vit.forward_tokens(
            backbone.vit.embed(images, pos.clone()),
            &Prompts::None,
            Some(&mut trace),
        );
        acc.add(&trace)?;
        xs.push(trace.block_inputs.swap_remove(block));
    }
    let x = Tensor::cat(xs, 0); // [N, T, D]
    let [n, t, d] = x.dims();
    let whitening = acc.finish(&WhitenConfig::default()).await?.remove(0);
    let w = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(whitening.matrix.data.clone(), [d, d]),
        device,
    );
    let xt = x_tilde(x.clone(), qk.clone()); // [N, T, D]
    let whitened = xt.clone().reshape([n * t, d]).matmul(w); // rows x~ W^T = x~ W
    let read = |e: crate::model::ModelError| AnalysisError::Input(e.to_string());
    Ok(Views {
        block,
        images: n,
        x: HostTensor::read(x.reshape([n * t, d]))
            .await
            .map_err(read)?,
        wq_wk: HostTensor::read(qk).await.map_err(read)?,
        x_tilde: HostTensor::read(xt.reshape([n * t, d]))
            .await
            .map_err(read)?,
        whitened: HostTensor::read(whitened).await.map_err(read)?,
    })
}

/// Where summaries are computed.
pub enum Summarizer<'a> {
    Gpu(&'a GpuContext, StatsKernels),
    Cpu,
}

impl Summarizer<'_> {
    pub async fn summarize(
        &self,
        values: &[f32],
        options: &SummaryOptions,
    ) -> Result<Summary, StatsError> {
        match self {
            Summarizer::Gpu(ctx, kernels) => kernels.summarize(ctx, values, options).await,
            Summarizer::Cpu => summarize_cpu(values, options),
        }
    }
}

/// The views' statistics as JSON: `{block, images, x, wq_wk, x_tilde, x_tilde_whitened}`, each
/// a [`Summary::to_json`].
pub async fn summarize_views(
    views: &Views,
    by: &Summarizer<'_>,
    options: &SummaryOptions,
) -> Result<Value, AnalysisError> {
    let mut out =
        json!({ "block": views.block, "images": views.images, "tokens": views.x.shape[0] });
    for (key, t) in [
        ("x", &views.x),
        ("wq_wk", &views.wq_wk),
        ("x_tilde", &views.x_tilde),
        ("x_tilde_whitened", &views.whitened),
    ] {
        out[key] = by.summarize(&t.data, options).await?.to_json();
    }
    Ok(out)
}
