//! The whitening of BPT (docs/method.md, "The fix"): the covariance of X~ = W_q W_k^T X^T over
//! images, and W = Sigma^(-1/2).
//!
//! Layout: our `Linear` weights are [in, out] and token rows multiply from the left, so a
//! head's attention logit between a query token p and a key token x is `(p W_q)(x W_k)^T`
//! summed over heads: `p W_q W_k^T x^T` (biases aside). The product the prompt meets is
//! therefore W_q W_k^T (see `tests::attention_logits_contain_wq_wk_transposed`). The official code
//! takes q = qkv.weight[:d] in PyTorch's [out, in] layout, i.e. our W_q^T, and forms
//! `q @ k^T` = W_q^T W_k: the transposed pairing. We use the one the logits contain.
//!
//! One column of X~ per token: x~ = W_q W_k^T x^T, i.e. the row `x W_k W_q^T`.
//!
//! That is the query side: the prompt as the query, the image tokens as keys, as the paper
//! whitens it. The prompt is also a key: every image token (the class token among them) reads
//! it through `x W_q W_k^T p^T = p . (x W_q W_k^T)`, so the data it meets there are the rows
//! `x W_q W_k^T`, the transposed product ([`Side::Key`]; `tests::prompts_as_keys_meet_x_wq_wk`).
//! [`Side::Both`] pools the two sets of rows into one covariance.
//!
//! Two estimators of Sigma (d x d):
//! - [`Estimator::Centred`] (default): the covariance of the columns x~ over every token of every
//!   image, mean removed, eigenvalues raised by `epsilon` times their mean. This is the quantity
//!   whose inverse square root makes the whitened X~ of new images have identity covariance,
//!   and it is full rank once images x tokens exceeds d.
//! - [`Estimator::Official`]: as the official code: X~ averaged over images first (a d x T
//!   matrix M), then `M M^T / d`; not centred, no epsilon. Its rank is at most T (65 tokens at
//!   112 px, 197 on ViT-B at 224), below d, so it is singular; eigenvalues below
//!   `f32::EPSILON` times the largest (zero in the official f32 arithmetic) are raised to that
//!   floor, which keeps W finite and, like the original, very large along those directions.

pub mod diagnostics;
mod eig;

use burn::tensor::Tensor;

use crate::model::Backbone;
use crate::model::checkpoint::HostTensor;
use crate::model::vit::{Attention, Trace};

pub use eig::{Spectrum, inverse_sqrt};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimator {
    Centred,
    Official,
}

/// Which tokens stand for X.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The tokens entering the block (before its LayerNorm), as the official code records them.
    BlockInput,
    /// The block's norm1 output: what W_q and W_k actually multiply.
    Norm1,
}

/// Which products of the prompt the whitening is estimated for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The prompt as a query: rows x W_k W_q^T (the paper's X~).
    #[default]
    Query,
    /// The prompt as a key, read by the image tokens: rows x W_q W_k^T.
    Key,
    /// Both sets of rows pooled into one covariance.
    Both,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Query => "query",
            Side::Key => "key",
            Side::Both => "both",
        }
    }
}

impl Estimator {
    /// The name the command line and run files use.
    pub fn name(self) -> &'static str {
        match self {
            Estimator::Centred => "centred",
            Estimator::Official => "official",
        }
    }
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::BlockInput => "block-input",
            Source::Norm1 => "norm1",
        }
    }
}

impl Views {
    pub fn name(self) -> &'static str {
        match self {
            Views::Train => "train",
            Views::Eval => "eval",
        }
    }
}

/// Which views of the training images the statistics are taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Views {
    /// Training views, with the training augmentation (RandomResizedCrop and flips), as the
    /// official code estimates them.
    Train,
    /// Each image's evaluation view (centre crop) once: the distribution prompts meet when the
    /// classifier is used.
    Eval,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WhitenConfig {
    pub estimator: Estimator,
    pub source: Source,
    pub views: Views,
    pub side: Side,
    /// Centred estimator: added to the eigenvalues, relative to their mean. Directions whose
    /// variance is below it are amplified less than full whitening would (their whitened variance
    /// is s / (s + epsilon)), which keeps near-null directions of W_q W_k^T from blowing up.
    pub epsilon: f64,
    /// Images used for the statistics (the official code uses about 100).
    pub max_images: usize,
}

impl Default for WhitenConfig {
    fn default() -> Self {
        Self {
            estimator: Estimator::Centred,
            source: Source::BlockInput,
            views: Views::Train,
            side: Side::Query,
            epsilon: 1e-5,
            max_images: 100,
        }
    }
}

/// The whitening of one block.
#[derive(Clone, Debug)]
pub struct Whitening {
    pub block: usize,
    /// W, d x d, symmetric.
    pub matrix: HostTensor,
    /// Sigma's eigenvalues, largest first (before the floor and epsilon), and eigenvectors.
    pub spectrum: Spectrum,
    pub images: usize,
    pub tokens: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum WhitenError {
    #[error("whitening needs at least one image")]
    NoImages,
    #[error(
        "the official estimator averages X~ over images, so every image needs the same number of tokens ({0} and {1} seen)"
    )]
    TokenCount(usize, usize),
    #[error("reading the statistics back: {0}")]
    Readback(String),
}

/// W_q W_k^T of a block's attention, [d, d].
pub fn qk_product(attn: &Attention) -> Tensor<2> {
    attn.wq().matmul(attn.wk().transpose())
}

/// X~ as rows: one row `x W_k W_q^T` per token.
///
/// # Shapes
/// - x: [B, T, D], qk: [D, D] from [`qk_product`] -> [B, T, D]
pub fn x_tilde(x: Tensor<3>, qk: Tensor<2>) -> Tensor<3> {
    x.matmul(qk.transpose().unsqueeze::<3>())
}

/// The rows whose covariance `side` whitens, for tokens `x` [B, T, D] and qk = W_q W_k^T:
/// [B, T, D], or [B, 2T, D] for both sides (the query rows, then the key rows).
pub fn side_rows(x: Tensor<3>, qk: Tensor<2>, side: Side) -> Tensor<3> {
    match side {
        Side::Query => x_tilde(x, qk),
        Side::Key => x.matmul(qk.unsqueeze::<3>()),
        Side::Both => {
            let key = x.clone().matmul(qk.clone().unsqueeze::<3>());
            Tensor::cat(vec![x_tilde(x, qk), key], 1)
        }
    }
}

/// Sums over images, kept on the device until [`Accumulator::finish`] reads them back once.
pub struct Accumulator {
    source: Source,
    side: Side,
    blocks: Vec<usize>,
    qk: Vec<Tensor<2>>,
    /// A shift subtracted before squaring (the first batch's mean), so the centred covariance
    /// does not come from the difference of two large f32 sums.
    shift: Vec<Option<Tensor<2>>>,
    gram: Vec<Option<Tensor<2>>>,
    sum: Vec<Option<Tensor<2>>>,
    image_sum: Vec<Option<Tensor<2>>>,
    tokens_per_image: Option<usize>,
    images: usize,
}

impl Accumulator {
    /// Query-side statistics for the given blocks (0 for shallow prompts, every block for deep
    /// ones).
    pub fn new(backbone: &Backbone, blocks: Vec<usize>, source: Source) -> Self {
        Self::for_side(backbone, blocks, source, Side::Query)
    }

    /// Statistics of the rows `side` names (see [`side_rows`]).
    pub fn for_side(backbone: &Backbone, blocks: Vec<usize>, source: Source, side: Side) -> Self {
        let qk = blocks
            .iter()
            .map(|&b| qk_product(&backbone.vit.blocks[b].attn))
            .collect();
        let n = blocks.len();
        Self {
            source,
            side,
            blocks,
            qk,
            shift: vec![None; n],
            gram: vec![None; n],
            sum: vec![None; n],
            image_sum: vec![None; n],
            tokens_per_image: None,
            images: 0,
        }
    }

    pub fn images(&self) -> usize {
        self.images
    }

    /// Adds the images of a traced forward pass without prompts.
    pub fn add(&mut self, trace: &Trace) -> Result<(), WhitenError> {
        for (k, &block) in self.blocks.iter().enumerate() {
            let x = match self.source {
                Source::BlockInput => &trace.block_inputs[block],
                Source::Norm1 => &trace.norm1_outputs[block],
            };
            let xt = side_rows(x.clone(), self.qk[k].clone(), self.side); // [B, T', D]
            let [b, t, d] = xt.dims();
            if k == 0 {
                if let Some(seen) = self.tokens_per_image.filter(|&s| s != t) {
                    return Err(WhitenError::TokenCount(seen, t));
                }
                self.tokens_per_image = Some(t);
                self.images += b;
            }
            let image_sum = xt.clone().sum_dim(0).squeeze_dim::<2>(0); // [T, D]
            let rows = xt.reshape([b * t, d]);
            let shift = self.shift[k]
                .get_or_insert_with(|| rows.clone().mean_dim(0))
                .clone(); // [1, D]
            let centred = rows - shift;
            let gram = centred.clone().transpose().matmul(centred.clone()); // [D, D]
            let sum = centred.sum_dim(0); // [1, D]
            add_to(&mut self.gram[k], gram);
            add_to(&mut self.sum[k], sum);
            add_to(&mut self.image_sum[k], image_sum);
        }
        Ok(())
    }

    /// Waits for the queued work by reading one value back. In the browser that also gives the
    /// event loop a turn, so a long estimate does not freeze the page.
    pub async fn wait(&self) -> Result<(), WhitenError> {
        if let Some(Some(sum)) = self.sum.first() {
            read(Some(sum.clone().narrow(1, 0, 1))).await?;
        }
        Ok(())
    }

    /// Reads the sums back and computes each block's whitening matrix.
    pub async fn finish(self, config: &WhitenConfig) -> Result<Vec<Whitening>, WhitenError> {
        let t = self.tokens_per_image.ok_or(WhitenError::NoImages)?;
        let mut out = Vec::with_capacity(self.blocks.len());
        for (k, &block) in self.blocks.iter().enumerate() {
            let sigma = match config.estimator {
                Estimator::Centred => {
                    let gram = read(self.gram[k].clone()).await?;
                    let sum = read(self.sum[k].clone()).await?;
                    centred_covariance(&gram.data, &sum.data, self.images * t)
                }
                Estimator::Official => {
                    let image_sum = read(self.image_sum[k].clone()).await?;
                    official_sigma(&image_sum.data, t, self.images)
                }
            };
            let d = (sigma.len() as f64).sqrt() as usize;
            let spectrum = Spectrum::of(&sigma, d);
            let matrix = whitening_matrix(&spectrum, config.estimator, config.epsilon);
            out.push(Whitening {
                block,
                matrix: HostTensor::new(vec![d, d], matrix.iter().map(|&v| v as f32).collect()),
                spectrum,
                images: self.images,
                tokens: self.images * t,
            });
        }
        Ok(out)
    }
}

/// W from Sigma's spectrum as `estimator` makes it: the centred estimator raises every eigenvalue
/// by `epsilon` times their mean; the official one only floors the eigenvalues that are zero up
/// to f32 rounding.
pub fn whitening_matrix(spectrum: &Spectrum, estimator: Estimator, epsilon: f64) -> Vec<f64> {
    match estimator {
        Estimator::Centred => spectrum.inverse_sqrt(1e-12, epsilon * spectrum.mean()),
        Estimator::Official => spectrum.inverse_sqrt(f32::EPSILON as f64, 0.0),
    }
}

fn add_to(acc: &mut Option<Tensor<2>>, value: Tensor<2>) {
    *acc = Some(match acc.take() {
        Some(a) => a + value,
        None => value,
    });
}

async fn read(t: Option<Tensor<2>>) -> Result<HostTensor, WhitenError> {
    let t = t.ok_or(WhitenError::NoImages)?;
    HostTensor::read(t)
        .await
        .map_err(|e| WhitenError::Readback(e.to_string()))
}

/// Covariance from the shifted sums: gram = sum (x - c)(x - c)^T, sum = sum (x - c) over n rows.
fn centred_covariance(gram: &[f32], sum: &[f32], n: usize) -> Vec<f64> {
    let d = sum.len();
    let n = n as f64;
    let mut sigma = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            let mi = sum[i] as f64 / n;
            let mj = sum[j] as f64 / n;
            sigma[i * d + j] = gram[i * d + j] as f64 / n - mi * mj;
        }
    }
    sigma
}

/// The official estimate: M = (sum over images of X~) / images, as [T, D] rows; Sigma = M^T M / D.
fn official_sigma(image_sum: &[f32], t: usize, images: usize) -> Vec<f64> {
    let d = image_sum.len() / t;
    let m: Vec<f64> = image_sum
        .iter()
        .map(|&v| v as f64 / images as f64)
        .collect();
    let mut sigma = vec![0.0; d * d];
    for i in 0..d {
        for j in i..d {
            let v = (0..t).map(|r| m[r * d + i] * m[r * d + j]).sum::<f64>() / d as f64;
            sigma[i * d + j] = v;
            sigma[j * d + i] = v;
        }
    }
    sigma
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;
    use crate::model::VitConfig;
    use crate::model::checkpoint::Checkpoint;
    use crate::model::load::load_vit;
    use crate::model::random::random_timm_tensors;

    fn host(t: Tensor<2>) -> Vec<f32> {
        pollster::block_on(HostTensor::read(t)).unwrap().data
    }

    fn max_abs(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(u, v)| (u - v).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn attention_logits_contain_wq_wk_transposed() {
        let config = VitConfig::from_json(
            r#"{"img_size":16,"patch_size":8,"embed_dim":8,"depth":1,"num_heads":2,"qkv_bias":false}"#,
        )
        .unwrap();
        let device = Device::flex();
        let mut ck = Checkpoint::from_tensors(random_timm_tensors(&config, 3, 0.5));
        let vit = load_vit(&mut ck, &config, &device).unwrap().vit;
        let attn = &vit.blocks[0].attn;
        let d = 8;
        let rows = |seed: u64| {
            let data = crate::rng::Rng::new(seed).normal_vec(3 * d, 1.0);
            Tensor::<2>::from_data(TensorData::new(data, [3, d]), &device)
        };
        let (p, x) = (rows(1), rows(2));
        // What the module computes: q = p W_q, k = x W_k through the fused projection; the
        // logits summed over heads are q k^T.
        let q = attn
            .qkv
            .forward(p.clone().unsqueeze::<3>())
            .squeeze_dim::<2>(0)
            .narrow(1, 0, d);
        let k = attn
            .qkv
            .forward(x.clone().unsqueeze::<3>())
            .squeeze_dim::<2>(0)
            .narrow(1, d, d);
        let logits = host(q.matmul(k.transpose()));
        let ours = host(
            p.clone()
                .matmul(qk_product(attn))
                .matmul(x.clone().transpose()),
        );
        let official = host(
            p.matmul(attn.wq().transpose().matmul(attn.wk()))
                .matmul(x.transpose()),
        );
        let err = |a: &[f32]| max_abs(&logits, a);
        assert!(err(&ours) < 1e-4, "W_q W_k^T: {}", err(&ours));
        assert!(
            err(&official) > 0.1,
            "W_q^T W_k should differ: {}",
            err(&official)
        );
    }

    /// The tiny one-block model of these tests, and three random token rows per seed.
    fn tiny() -> (crate::model::vit::Vit, Device) {
        let config = VitConfig::from_json(
            r#"{"img_size":16,"patch_size":8,"embed_dim":8,"depth":1,"num_heads":2,"qkv_bias":false}"#,
        )
        .unwrap();
        let device = Device::flex();
        let mut ck = Checkpoint::from_tensors(random_timm_tensors(&config, 3, 0.5));
        (load_vit(&mut ck, &config, &device).unwrap().vit, device)
    }

    fn rows(seed: u64, n: usize, device: &Device) -> Tensor<2> {
        let data = crate::rng::Rng::new(seed).normal_vec(n * 8, 1.0);
        Tensor::<2>::from_data(TensorData::new(data, [n, 8]), device)
    }

    #[test]
    fn prompts_as_keys_meet_x_wq_wk() {
        let (vit, device) = tiny();
        let attn = &vit.blocks[0].attn;
        let d = 8;
        let (p, x) = (rows(1, 3, &device), rows(2, 4, &device));
        let proj = |t: Tensor<2>, from| {
            attn.qkv
                .forward(t.unsqueeze::<3>())
                .squeeze_dim::<2>(0)
                .narrow(1, from, d)
        };
        // Image tokens as queries, prompts as keys: q = x W_q, k = p W_k, logits [4, 3].
        let logits = host(proj(x.clone(), 0).matmul(proj(p.clone(), d).transpose()));
        let key_rows =
            side_rows(x.clone().unsqueeze::<3>(), qk_product(attn), Side::Key).squeeze_dim::<2>(0);
        let query_rows =
            side_rows(x.unsqueeze::<3>(), qk_product(attn), Side::Query).squeeze_dim::<2>(0);
        // p . r for every image row r: [4, 3] as x r^T p^T is.
        let key = host(key_rows.matmul(p.clone().transpose()));
        let query = host(query_rows.matmul(p.transpose()));
        let err = |a: &[f32]| max_abs(&logits, a);
        assert!(err(&key) < 1e-4, "key side: {}", err(&key));
        assert!(err(&query) > 0.1, "the query side is the other product");
    }

    #[test]
    fn each_side_whitens_the_covariance_of_its_own_rows() {
        let (vit, device) = tiny();
        let qk = qk_product(&vit.blocks[0].attn);
        let x =
            Tensor::cat(vec![rows(3, 40, &device), rows(4, 40, &device)], 0).reshape([2, 40, 8]);
        let trace = Trace {
            block_inputs: vec![x.clone()],
            norm1_outputs: vec![x.clone()],
        };
        let config = WhitenConfig {
            epsilon: 0.0,
            ..WhitenConfig::default()
        };
        for side in [Side::Query, Side::Key, Side::Both] {
            let backbone_free = Accumulator {
                source: Source::BlockInput,
                side,
                blocks: vec![0],
                qk: vec![qk.clone()],
                shift: vec![None],
                gram: vec![None],
                sum: vec![None],
                image_sum: vec![None],
                tokens_per_image: None,
                images: 0,
            };
            let mut acc = backbone_free;
            acc.add(&trace).unwrap();
            let w = pollster::block_on(acc.finish(&config)).unwrap().remove(0);
            // The covariance of the side's rows, by hand in f64.
            let r = host(side_rows(x.clone(), qk.clone(), side).reshape([-1, 8]));
            let n = r.len() / 8;
            let mean: Vec<f64> = (0..8)
                .map(|j| (0..n).map(|i| r[i * 8 + j] as f64).sum::<f64>() / n as f64)
                .collect();
            let mut sigma = vec![0.0; 64];
            for i in 0..n {
                for a in 0..8 {
                    for b in 0..8 {
                        sigma[a * 8 + b] += (r[i * 8 + a] as f64 - mean[a])
                            * (r[i * 8 + b] as f64 - mean[b])
                            / n as f64;
                    }
                }
            }
            let want = Spectrum::of(&sigma, 8).values;
            for (got, want) in w.spectrum.values.iter().zip(&want) {
                assert!(
                    (got - want).abs() < 1e-3 * want.abs().max(1.0),
                    "{side:?}: {:?} vs {want:?}",
                    w.spectrum.values
                );
            }
            assert_eq!(w.tokens, if side == Side::Both { 160 } else { 80 });
        }
    }
}
