//! What the distribution plots show, for a model, some images and a block (docs/method.md,
//! "The finding: burstiness"): the tokens X entering the block (and, as a second source, the
//! block's norm1 output, which W_q and W_k multiply), the entries of W_q W_k^T,
//! X~ = W_q W_k^T X^T, and X~
//! after a whitening estimated from half of the images, on that half and on the other.
//!
//! Values are summarised by the statistics kernels on the GPU when a context is given, else by
//! their plain-Rust twins; the JSON layout is the same either way.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::gpu::GpuContext;
use crate::model::Backbone;
use crate::model::checkpoint::HostTensor;
use crate::model::vit::{Prompts, Trace};
use crate::stats::{StatsError, StatsKernels, Summary, SummaryOptions, summarize_cpu};
use crate::train::data::{Sample, batch};
use crate::train::image::Transform;
use crate::whiten::diagnostics::{TRACE_SHARE, after_norm1, energy_share, k_covering};
use crate::whiten::{
    Accumulator, Estimator, Source, Spectrum, WhitenConfig, Whitening, qk_product,
    whitening_matrix, x_tilde,
};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{0}")]
    Input(String),
    #[error("the analysis was stopped")]
    Stopped,
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Whiten(#[from] crate::whiten::WhitenError),
    #[error(transparent)]
    Stats(#[from] StatsError),
}

/// The views of one source of X (the block's input, or its norm1 output), on the host.
pub struct SourceViews {
    /// X of every image: [images * T, D].
    pub x: HostTensor,
    /// X~ as rows x W_k W_q^T: [images * T, D].
    pub x_tilde: HostTensor,
    /// X~ of the fitting images, whitened with the centred estimate from those same images
    /// (the in-sample figure): [fit * T, D].
    pub whitened: HostTensor,
    /// X~ of the other images, whitened with that same matrix: [held * T, D]; None with one
    /// image.
    pub whitened_held_out: Option<HostTensor>,
    /// The spectrum of Sigma, the covariance of the fitting images' X~.
    pub spectrum: Spectrum,
}

/// Both sources of one block, on the host.
pub struct Views {
    pub block: usize,
    pub images: usize,
    /// Images the whitening was estimated on (every other one) and the rest.
    pub fit_images: usize,
    pub held_out_images: usize,
    /// W_q W_k^T: [D, D].
    pub wq_wk: HostTensor,
    /// X = the tokens entering the block (the official code's choice, the paper's histograms).
    pub block_input: SourceViews,
    /// X = the block's norm1 output, which W_q and W_k actually multiply.
    pub norm1: SourceViews,
}

/// Hears how far [`gather_with`] is, between batches of pictures, and may stop it.
pub trait Progress {
    /// `done` of `total` pictures have been through the backbone; false stops the analysis.
    /// The page yields to its event loop here, where a stop arrives.
    fn proceed(&mut self, done: usize, total: usize) -> impl Future<Output = bool>;
}

/// No progress to tell and never stops (the command line).
impl Progress for () {
    async fn proceed(&mut self, _done: usize, _total: usize) -> bool {
        true
    }
}

impl Views {
    /// X as the block's input, or as its norm1 output.
    pub fn source(&self, norm1: bool) -> &SourceViews {
        if norm1 {
            &self.norm1
        } else {
            &self.block_input
        }
    }

    /// The views of one source (X as the block's input, or its norm1 output) by the names the
    /// page's distribution cards use: `x`, `wq_wk`, `x_tilde`, `x_tilde_whitened` and, with more
    /// than one picture, `x_tilde_whitened_held_out`.
    pub fn of_source(&self, norm1: bool) -> Vec<(&'static str, &HostTensor)> {
        let source = self.source(norm1);
        let mut tensors = vec![
            ("x", &source.x),
            ("wq_wk", &self.wq_wk),
            ("x_tilde", &source.x_tilde),
            ("x_tilde_whitened", &source.whitened),
        ];
        if let Some(held) = &source.whitened_held_out {
            tensors.push(("x_tilde_whitened_held_out", held));
        }
        tensors
    }
}

/// Runs the backbone on the evaluation view of `samples` at `size` px and collects the views
/// of `block` for both sources. The whitening of each source is estimated on every other image
/// (the 1st, 3rd, ...) and applied both to those and to the others, so the figures show what
/// whitening does for images it was not fitted to.
pub async fn gather(
    backbone: &Backbone,
    samples: &[Sample],
    block: usize,
    size: usize,
    device: &Device,
) -> Result<Views, AnalysisError> {
    gather_with(backbone, samples, block, size, device, &mut ()).await
}

/// [`gather`], telling `progress` after every batch of pictures.
pub async fn gather_with(
    backbone: &Backbone,
    samples: &[Sample],
    block: usize,
    size: usize,
    device: &Device,
    progress: &mut impl Progress,
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
    let transform = Transform::new(size, &backbone.config.preprocess);
    let qk = qk_product(&backbone.vit.blocks[block].attn);
    let fit: Vec<&Sample> = samples.iter().step_by(2).collect();
    let held: Vec<&Sample> = samples.iter().skip(1).step_by(2).collect();
    let mut acc_input = Accumulator::new(backbone, vec![block], Source::BlockInput);
    let mut acc_norm1 = Accumulator::new(backbone, vec![block], Source::Norm1);
    // (block input, norm1) of the fitting images, then of the others.
    let mut tokens: [Vec<(Tensor<3>, Tensor<3>)>; 2] = [Vec::new(), Vec::new()];
    let mut done = 0;
    for (part, images) in [&fit, &held].into_iter().enumerate() {
        for chunk in images.chunks(8) {
            if !progress.proceed(done, samples.len()).await {
                return Err(AnalysisError::Stopped);
            }
            done += chunk.len();
            let (images, _) = batch(chunk, &transform, None, device);
            let mut trace = Trace::default();
            let _ = backbone.vit.forward_blocks(
                backbone.vit.embed(images, pos.clone()),
                &Prompts::None,
                Some(&mut trace),
            );
            if part == 0 {
                acc_input.add(&trace)?;
                acc_norm1.add(&trace)?;
            }
            tokens[part].push((
                trace.block_inputs.swap_remove(block),
                trace.norm1_outputs.swap_remove(block),
            ));
        }
    }
    if !progress.proceed(done, samples.len()).await {
        return Err(AnalysisError::Stopped);
    }
    let config = WhitenConfig::default();
    let w_input = acc_input.finish(&config).await?.remove(0);
    let w_norm1 = acc_norm1.finish(&config).await?.remove(0);
    let [fit_tokens, held_tokens] = tokens;
    let pick = |parts: &[(Tensor<3>, Tensor<3>)], norm1: bool| -> Option<Tensor<3>> {
        let xs: Vec<Tensor<3>> = parts
            .iter()
            .map(|(a, b)| if norm1 { b.clone() } else { a.clone() })
            .collect();
        (!xs.is_empty()).then(|| Tensor::cat(xs, 0))
    };
    let mut sources = Vec::with_capacity(2);
    for (norm1, whitening) in [(false, &w_input), (true, &w_norm1)] {
        let fit_x = pick(&fit_tokens, norm1).expect("at least one image");
        let held_x = pick(&held_tokens, norm1);
        sources.push(source_views(fit_x, held_x, &qk, whitening, device).await?);
    }
    let norm1 = sources.pop().expect("two sources");
    let block_input = sources.pop().expect("two sources");
    Ok(Views {
        block,
        images: samples.len(),
        fit_images: fit.len(),
        held_out_images: held.len(),
        wq_wk: HostTensor::read(qk).await.map_err(readback)?,
        block_input,
        norm1,
    })
}

fn readback(e: crate::model::ModelError) -> AnalysisError {
    AnalysisError::Input(e.to_string())
}

/// X, X~ and whitened X~ of one source: `fit` [F, T, D] and `held` [H, T, D] tokens.
async fn source_views(
    fit: Tensor<3>,
    held: Option<Tensor<3>>,
    qk: &Tensor<2>,
    whitening: &Whitening,
    device: &Device,
) -> Result<SourceViews, AnalysisError> {
    let w = &whitening.matrix;
    let [_, t, d] = fit.dims();
    let w = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(w.data.clone(), [d, d]),
        device,
    );
    let rows = |x: Tensor<3>| {
        let [n, _, _] = x.dims();
        x.reshape([n * t, d])
    };
    let all = match &held {
        Some(h) => Tensor::cat(vec![fit.clone(), h.clone()], 0),
        None => fit.clone(),
    };
    let xt_fit = rows(x_tilde(fit, qk.clone()));
    // Rows x~ W^T = x~ W (W is symmetric).
    let whitened = xt_fit.matmul(w.clone());
    let whitened_held_out = match held {
        Some(h) => Some(
            HostTensor::read(rows(x_tilde(h, qk.clone())).matmul(w))
                .await
                .map_err(readback)?,
        ),
        None => None,
    };
    Ok(SourceViews {
        x: HostTensor::read(rows(all.clone()))
            .await
            .map_err(readback)?,
        x_tilde: HostTensor::read(rows(x_tilde(all, qk.clone())))
            .await
            .map_err(readback)?,
        whitened: HostTensor::read(whitened).await.map_err(readback)?,
        whitened_held_out,
        spectrum: whitening.spectrum.clone(),
    })
}

/// The whitening's diagnostics of one source (`whiten::diagnostics`): Sigma's spectrum, the k
/// top directions that cover 90% of its trace, and the share of a prompt's energy after the
/// block's norm1 that lies in them, for VPT's initial prompt and BPT-fWhiten's at each epsilon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhiteningReport {
    /// Sigma's eigenvalues, largest first.
    pub eigenvalues: Vec<f64>,
    pub trace_share: f64,
    pub k: usize,
    /// Tokens of the initial prompts.
    pub prompts: usize,
    /// VPT's initial prompt (no whitening).
    pub vpt_share: f64,
    /// BPT-fWhiten's initial prompt P W at each epsilon.
    pub fwhiten_share: Vec<EpsilonShare>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpsilonShare {
    pub epsilon: f64,
    pub share: f64,
}

/// The epsilons and prompt tokens the page's diagnostics use (and `analyse`'s defaults).
pub const DIAGNOSTIC_EPSILONS: [f64; 3] = [1e-5, 1e-3, 1e-1];
pub const DIAGNOSTIC_PROMPTS: usize = 100;

/// [`WhiteningReport`] of `spectrum`, block `block`'s whitening: VPT's initial prompt (m =
/// `prompts` tokens ~ U(-v, v)) and BPT-fWhiten's P W (P ~ N(0, 0.02^2), W the centred
/// estimator's at each of `epsilons`), each through the block's norm1.
pub async fn whitening_diagnostics(
    backbone: &Backbone,
    block: usize,
    spectrum: &Spectrum,
    epsilons: &[f64],
    prompts: usize,
    device: &Device,
) -> Result<WhiteningReport, AnalysisError> {
    let d = spectrum.d;
    let k = k_covering(&spectrum.values, TRACE_SHARE);
    let c = &backbone.config;
    let mut rng = crate::rng::Rng::new(0);
    let share = async |tokens: Vec<f32>| -> Result<f64, AnalysisError> {
        let t = Tensor::<2>::from_data(burn::tensor::TensorData::new(tokens, [prompts, d]), device);
        let normed = after_norm1(backbone, block, t).await.map_err(readback)?;
        Ok(energy_share(&normed.data, spectrum, k))
    };
    let patch_in = c.in_chans * c.patch_size * c.patch_size;
    let bound = (6.0 / (patch_in + d) as f64).sqrt();
    let vpt_share = share(rng.uniform_vec(prompts * d, bound)).await?;
    let p = rng.normal_vec(prompts * d, 0.02);
    let mut fwhiten_share = Vec::with_capacity(epsilons.len());
    for &epsilon in epsilons {
        let w = whitening_matrix(spectrum, Estimator::Centred, epsilon);
        let pw: Vec<f32> = p
            .chunks(d)
            .flat_map(|row| {
                (0..d).map(|j| {
                    row.iter()
                        .enumerate()
                        .map(|(i, &v)| v as f64 * w[i * d + j])
                        .sum::<f64>() as f32
                })
            })
            .collect();
        fwhiten_share.push(EpsilonShare {
            epsilon,
            share: share(pw).await?,
        });
    }
    Ok(WhiteningReport {
        eigenvalues: spectrum.values.clone(),
        trace_share: TRACE_SHARE,
        k,
        prompts,
        vpt_share,
        fwhiten_share,
    })
}

impl Views {
    /// The page's diagnostics of one source's whitening ([`DIAGNOSTIC_EPSILONS`],
    /// [`DIAGNOSTIC_PROMPTS`]).
    pub async fn whitening_report(
        &self,
        norm1: bool,
        backbone: &Backbone,
        device: &Device,
    ) -> Result<WhiteningReport, AnalysisError> {
        let spectrum = &self.source(norm1).spectrum;
        whitening_diagnostics(
            backbone,
            self.block,
            spectrum,
            &DIAGNOSTIC_EPSILONS,
            DIAGNOSTIC_PROMPTS,
            device,
        )
        .await
    }
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

/// The views' statistics as JSON: `{block, images, fit_images, held_out_images, tokens, wq_wk,
/// x, x_tilde, x_tilde_whitened, x_tilde_whitened_held_out, norm1: {x, x_tilde, ...}}`, each
/// view a [`Summary::to_json`] (the top-level X views are the block input's).
pub async fn summarize_views(
    views: &Views,
    by: &Summarizer<'_>,
    options: &SummaryOptions,
) -> Result<Value, AnalysisError> {
    let mut out = json!({
        "block": views.block,
        "images": views.images,
        "fit_images": views.fit_images,
        "held_out_images": views.held_out_images,
        "tokens": views.block_input.x.shape[0],
    });
    out["wq_wk"] = by.summarize(&views.wq_wk.data, options).await?.to_json();
    let mut norm1 = json!({});
    for (source, target) in [(&views.block_input, &mut out), (&views.norm1, &mut norm1)] {
        for (key, t) in source.named() {
            target[key] = by.summarize(&t.data, options).await?.to_json();
        }
    }
    out["norm1"] = norm1;
    Ok(out)
}

impl SourceViews {
    /// The views by their JSON and dump names.
    pub fn named(&self) -> Vec<(&'static str, &HostTensor)> {
        let mut out = vec![
            ("x", &self.x),
            ("x_tilde", &self.x_tilde),
            ("x_tilde_whitened", &self.whitened),
        ];
        if let Some(h) = &self.whitened_held_out {
            out.push(("x_tilde_whitened_held_out", h));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::VitConfig;
    use crate::model::checkpoint::to_safetensors;
    use crate::model::random::random_timm_tensors;
    use crate::train::RgbImage;

    /// Records every call; stops at call `stop_at`.
    struct Recorder {
        calls: Vec<(usize, usize)>,
        stop_at: usize,
    }

    impl Progress for Recorder {
        async fn proceed(&mut self, done: usize, total: usize) -> bool {
            self.calls.push((done, total));
            self.calls.len() < self.stop_at
        }
    }

    fn tiny() -> (Backbone, Vec<Sample>, Device) {
        let config = VitConfig::from_json(
            r#"{"img_size":16,"patch_size":8,"embed_dim":8,"depth":1,"num_heads":2}"#,
        )
        .unwrap();
        let bytes = to_safetensors(&random_timm_tensors(&config, 3, 0.3)).unwrap();
        let device = Device::flex();
        let backbone = Backbone::from_safetensors(&bytes, config, &device).unwrap();
        let samples = (0..20)
            .map(|i| Sample {
                image: Arc::new(RgbImage {
                    width: 16,
                    height: 16,
                    pixels: (0..16 * 16 * 3)
                        .map(|k| ((k * 7 + i * 13) % 251) as u8)
                        .collect(),
                }),
                label: 0,
                name: format!("{i}"),
            })
            .collect();
        (backbone, samples, device)
    }

    #[test]
    fn progress_hears_every_batch_and_the_end_and_can_stop_the_analysis() {
        let (backbone, samples, device) = tiny();
        let mut all = Recorder {
            calls: Vec::new(),
            stop_at: usize::MAX,
        };
        let views =
            pollster::block_on(gather_with(&backbone, &samples, 0, 16, &device, &mut all)).unwrap();
        assert_eq!(views.images, 20);
        // 10 fitting pictures (8 + 2), then 10 held out (8 + 2), then the end.
        assert_eq!(all.calls, [(0, 20), (8, 20), (10, 20), (18, 20), (20, 20)]);
        let mut stop = Recorder {
            calls: Vec::new(),
            stop_at: 2,
        };
        let err = pollster::block_on(gather_with(&backbone, &samples, 0, 16, &device, &mut stop));
        assert!(matches!(err, Err(AnalysisError::Stopped)), "stopped");
        assert_eq!(stop.calls.len(), 2, "nothing after the stop");
    }
}
