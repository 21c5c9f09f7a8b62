//! Our kernels against their twin on one device, as the page's start-up self-check runs them in
//! the browser and `tests/kernels.rs` runs them natively: every fused linear function, LayerNorm
//! and the scaled softmax forward, and the input gradient of each through burn's autodiff, for shapes that are
//! and are not multiples of the tile and of 4, batch 1 included.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{DType, Device, Tensor, TensorData};

use super::tune;
use super::twin::{self, Layer};
use super::{attention, layer_norm, linear_layer, linear_residual, scaled_softmax};
use crate::model::ModelError;
use crate::model::checkpoint::HostTensor;
use crate::rng::Rng;

/// Absolute plus relative tolerance per element: the kernel sums up to a few hundred f32
/// products of order-one values (the twin in f64) and uses a 1.5e-7 erf approximation.
pub const TOL: f32 = 1e-4;

/// Batch 1 with one token, ragged edges (not multiples of 32 or of 4), and vec4 shapes over
/// several tiles: (rows, in, out).
pub const SHAPES: [(usize, usize, usize); 5] = [
    (1, 8, 12),
    (1, 7, 5),
    (37, 18, 30),
    (70, 64, 36),
    (33, 96, 100),
];

/// Results per shape: 4 linear functions and their input gradients in each of the two forms
/// (tiled and direct, see [`tune`]), LayerNorm, the scaled softmax, and the gradient of each.
pub const CASES_PER_SHAPE: usize = 20;

/// How far one function's output strays from the twin's.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    pub name: String,
    /// Largest |got - want| / (1 + |want|) over the elements.
    pub worst: f32,
}

impl CaseResult {
    pub fn ok(&self) -> bool {
        self.worst <= TOL
    }
}

/// Every case's result; a length mismatch or a NaN counts as an infinite error.
pub fn worst_error(got: &[f32], want: &[f32]) -> f32 {
    if got.len() != want.len() {
        return f32::INFINITY;
    }
    got.iter()
        .zip(want)
        .map(|(g, w)| {
            let e = (g - w).abs() / (1.0 + w.abs());
            if e.is_nan() { f32::INFINITY } else { e }
        })
        .fold(0.0, f32::max)
}

async fn host<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, ModelError> {
    Ok(HostTensor::read(t).await?.data)
}

fn tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// One layer's random values and the upstream gradient `r` of the loss sum(y * r).
struct Case {
    m: usize,
    k: usize,
    n: usize,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    gamma: Vec<f32>,
    res: Vec<f32>,
    r: Vec<f32>,
    /// LayerNorm over rows of x: gamma, beta [k] and the upstream gradient [m, k].
    ln_gamma: Vec<f32>,
    ln_beta: Vec<f32>,
    ln_r: Vec<f32>,
    /// The weight is uploaded in f16: `w` holds its f16 values, so the twin sees the same ones.
    half: bool,
}

impl Case {
    /// The case with its weight stored in f16 (rounded to nearest, as `half` and burn's upload
    /// round it).
    fn half(shape: (usize, usize, usize), seed: u64) -> Self {
        let mut case = Self::new(shape, seed);
        case.w = case
            .w
            .iter()
            .map(|&v| ::half::f16::from_f32(v).to_f32())
            .collect();
        case.half = true;
        case
    }

    fn new((m, k, n): (usize, usize, usize), seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut random = |len: usize, scale: f32| -> Vec<f32> {
            (0..len).map(|_| scale * rng.normal() as f32).collect()
        };
        Self {
            m,
            k,
            n,
            x: random(m * k, 1.0),
            // Weights of the usual size, times 3 so the GELU sees its curved middle and tails.
            w: random(k * n, 3.0 / (k as f32).sqrt()),
            b: random(n, 0.5),
            gamma: random(n, 0.3),
            res: random(m * n, 1.0),
            r: random(m * n, 1.0),
            ln_gamma: random(k, 1.0),
            ln_beta: random(k, 0.5),
            ln_r: random(m * k, 1.0),
            half: false,
        }
    }

    fn layer(&self) -> Layer<'_> {
        Layer {
            w: &self.w,
            b: &self.b,
            k: self.k,
            n: self.n,
        }
    }

    fn linear(&self, device: &Device) -> Linear {
        let dtype = if self.half { DType::F16 } else { DType::F32 };
        let w = TensorData::new(self.w.clone(), [self.k, self.n]);
        Linear {
            weight: Param::from_tensor(Tensor::from_data(w, (device, dtype))),
            bias: Some(Param::from_tensor(tensor(&self.b, [self.n], device))),
        }
    }

    fn result(&self, what: &str, got: &[f32], want: &[f32]) -> CaseResult {
        let weights = if self.half { "f16 weights " } else { "" };
        CaseResult {
            name: format!("{weights}{what} {}x{}x{}", self.m, self.k, self.n),
            worst: worst_error(got, want),
        }
    }

    async fn forward(&self, device: &Device) -> Result<Vec<CaseResult>, ModelError> {
        let (m, k, n) = (self.m, self.k, self.n);
        let layer = self.linear(device);
        let x = || tensor(&self.x, [1, m, k], device);
        let res = || tensor(&self.res, [1, m, n], device);
        let gamma = tensor(&self.gamma, [n], device);
        let ones = vec![1.0; n];
        let l = self.layer();
        Ok(vec![
            self.result(
                "linear",
                &host(linear_layer(x(), &layer, false)).await?,
                &twin::linear(&self.x, l),
            ),
            self.result(
                "linear+gelu",
                &host(linear_layer(x(), &layer, true)).await?,
                &twin::linear_gelu(&self.x, l),
            ),
            self.result(
                "linear+scale+residual",
                &host(linear_residual(x(), &layer, Some(gamma), res())).await?,
                &twin::linear_residual(&self.x, l, &self.gamma, &self.res),
            ),
            self.result(
                "linear+residual",
                &host(linear_residual(x(), &layer, None, res())).await?,
                &twin::linear_residual(&self.x, l, &ones, &self.res),
            ),
        ])
    }

    /// LayerNorm over the rows of x, [1, m, k].
    async fn layer_norm(&self, device: &Device) -> Result<Vec<CaseResult>, ModelError> {
        let (m, k) = (self.m, self.k);
        let (gamma, beta) = (&self.ln_gamma, &self.ln_beta);
        let eps = 1e-6;
        let x = tensor(&self.x, [1, m, k], device).autodiff().require_grad();
        let (g, b) = (tensor(gamma, [k], device), tensor(beta, [k], device));
        let y = layer_norm(x.clone(), g, Some(b), eps);
        let r = tensor(&self.ln_r, [1, m, k], device).autodiff();
        let loss = (y.clone() * r).sum();
        let dx = x
            .grad(&loss.backward())
            .ok_or_else(|| ModelError::Readback("LayerNorm's input has no gradient".into()))?;
        let want_y = twin::layer_norm(&self.x, gamma, beta, eps);
        let want_dx = twin::layer_norm_input_grad(&self.x, gamma, &self.ln_r, eps);
        Ok(vec![
            self.result("layernorm", &host(y.inner()).await?, &want_y),
            self.result("dX layernorm", &host(dx).await?, &want_dx),
        ])
    }

    /// softmax(scale x) over the rows of res, [1, m, n], and its input gradient.
    async fn softmax(&self, device: &Device) -> Result<Vec<CaseResult>, ModelError> {
        let (m, n) = (self.m, self.n);
        // Scores of a few units, as q k^T / sqrt(hd) gives them, and a scale that is not 1.
        let scale = 0.125;
        let x = tensor(&self.res, [1, m, n], device)
            .autodiff()
            .require_grad();
        let y = scaled_softmax(x.clone() * 8.0, scale);
        let r = tensor(&self.r, [1, m, n], device).autodiff();
        let dx = x
            .grad(&(y.clone() * r).sum().backward())
            .ok_or_else(|| ModelError::Readback("the softmax's input has no gradient".into()))?;
        let x8: Vec<f32> = self.res.iter().map(|v| v * 8.0).collect();
        let want_y = twin::softmax(&x8, n, scale);
        let want_dx: Vec<f32> = twin::softmax_input_grad(&want_y, &self.r, n, scale)
            .iter()
            .map(|g| g * 8.0)
            .collect();
        Ok(vec![
            self.result("softmax", &host(y.inner()).await?, &want_y),
            self.result("dX softmax", &host(dx).await?, &want_dx),
        ])
    }

    async fn gradients(&self, device: &Device) -> Result<Vec<CaseResult>, ModelError> {
        let (m, k, n) = (self.m, self.k, self.n);
        let layer = self.linear(device);
        let l = self.layer();
        let r = || tensor(&self.r, [1, m, n], device).autodiff();
        let x = || tensor(&self.x, [1, m, k], device).autodiff().require_grad();
        let grad = |x: &Tensor<3>, loss: Tensor<1>| x.grad(&loss.backward());
        let missing = || ModelError::Readback("an input has no gradient".into());

        let xa = x();
        let loss = (linear_layer(xa.clone(), &layer, false) * r()).sum();
        let dx = grad(&xa, loss).ok_or_else(missing)?;
        let plain = self.result("dX linear", &host(dx).await?, &twin::input_grad(&self.r, l));

        let xa = x();
        let loss = (linear_layer(xa.clone(), &layer, true) * r()).sum();
        let dx = grad(&xa, loss).ok_or_else(missing)?;
        let z = twin::linear(&self.x, l);
        let want = twin::gelu_input_grad(&self.r, &z, l);
        let gelu = self.result("dX linear+gelu", &host(dx).await?, &want);

        let xa = x();
        let res = tensor(&self.res, [1, m, n], device)
            .autodiff()
            .require_grad();
        let gamma = tensor(&self.gamma, [n], device);
        let y = linear_residual(xa.clone(), &layer, Some(gamma), res.clone());
        let grads = (y * r()).sum().backward();
        let dx = xa.grad(&grads).ok_or_else(missing)?;
        let dres = res.grad(&grads).ok_or_else(missing)?;
        let want = twin::scaled_input_grad(&self.r, &self.gamma, l);
        Ok(vec![
            plain,
            gelu,
            self.result("dX linear+scale+residual", &host(dx).await?, &want),
            self.result("d residual", &host(dres).await?, &self.r),
        ])
    }
}

/// Attention shapes: (batch, tokens, heads, head width); two images of 5 tokens, a ragged 37,
/// and 65 tokens (a 112 px image at patch 14 with its class token).
pub const ATTENTION: [(usize, usize, usize, usize); 3] =
    [(2, 5, 2, 4), (1, 37, 3, 8), (1, 65, 2, 16)];

/// Attention forward and its input gradient (d qkv) against the twin, through autodiff.
async fn attention_case(
    (batch, tokens, heads, head_dim): (usize, usize, usize, usize),
    seed: u64,
    device: &Device,
) -> Result<Vec<CaseResult>, ModelError> {
    let s = twin::Heads {
        batch,
        tokens,
        heads,
        head_dim,
    };
    let d = heads * head_dim;
    let mut rng = Rng::new(1000 + seed);
    let mut random = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.normal() as f32).collect() };
    let (qkv, r) = (random(batch * tokens * 3 * d), random(batch * tokens * d));
    let x = tensor(&qkv, [batch, tokens, 3 * d], device)
        .autodiff()
        .require_grad();
    let out = attention(x.clone(), heads);
    let rt = tensor(&r, [batch, tokens, d], device).autodiff();
    let dx = x
        .grad(&(out.clone() * rt).sum().backward())
        .ok_or_else(|| ModelError::Readback("attention's input has no gradient".into()))?;
    let (want, dwant) = twin::attention(&qkv, s, Some(&r));
    let name = |what: &str| format!("{what} {batch}x{tokens}x{heads}x{head_dim}");
    Ok(vec![
        CaseResult {
            name: name("attention"),
            worst: worst_error(&host(out.inner()).await?, &want),
        },
        CaseResult {
            name: name("dqkv attention"),
            worst: worst_error(&host(dx).await?, &dwant.expect("asked for")),
        },
    ])
}

/// Results per shape of [`run_half`]: 4 linear functions and their input gradients in each
/// of the two forms.
pub const HALF_CASES_PER_SHAPE: usize = 16;

/// The linear cases of `shapes` with the weights stored in f16 ([`super::half`]), in both
/// forms: [`HALF_CASES_PER_SHAPE`] per shape. Compared with the twin on the same f16-rounded weights, so the
/// tolerance is [`TOL`] as for f32; what the rounding itself does is measured on the whole
/// ViT (`tests/vit_default_model.rs`).
pub async fn run_half(
    device: &Device,
    shapes: &[(usize, usize, usize)],
) -> Result<Vec<CaseResult>, ModelError> {
    let mut results = Vec::new();
    for (i, &shape) in shapes.iter().enumerate() {
        results.extend(linear_in_both_forms(&Case::half(shape, 500 + i as u64), device).await?);
    }
    Ok(results)
}

/// The linear functions and their input gradients of `case` in both forms of the linear
/// kernel (tiled and direct, whichever this device runs), then back to the chosen form.
async fn linear_in_both_forms(case: &Case, device: &Device) -> Result<Vec<CaseResult>, ModelError> {
    let chosen = tune::tiled();
    let mut results = Vec::new();
    for tiled in [true, false] {
        tune::set_tiled(tiled);
        let form = if tiled { "tiled" } else { "direct" };
        let linear = [case.forward(device).await, case.gradients(device).await];
        tune::set_tiled(chosen);
        for r in linear {
            results.extend(r?.into_iter().map(|c| CaseResult {
                name: format!("{form} {}", c.name),
                ..c
            }));
        }
    }
    Ok(results)
}

/// Runs every case of `shapes` on `device`, then the attention cases of [`ATTENTION`].
pub async fn run(
    device: &Device,
    shapes: &[(usize, usize, usize)],
) -> Result<Vec<CaseResult>, ModelError> {
    let mut results = Vec::new();
    for (i, &shape) in shapes.iter().enumerate() {
        let case = Case::new(shape, i as u64);
        results.extend(linear_in_both_forms(&case, device).await?);
        results.extend(case.layer_norm(device).await?);
        results.extend(case.softmax(device).await?);
    }
    for (i, &shape) in ATTENTION.iter().enumerate() {
        results.extend(attention_case(shape, i as u64, device).await?);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_measure_fails_on_nan_and_on_a_wrong_length() {
        assert_eq!(worst_error(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!((worst_error(&[1.0, 5.0], &[1.0, 3.0]) - 0.5).abs() < 1e-7);
        assert_eq!(worst_error(&[f32::NAN], &[1.0]), f32::INFINITY);
        assert_eq!(worst_error(&[1.0], &[1.0, 1.0]), f32::INFINITY);
    }

    #[test]
    fn the_cpu_backend_passes_with_plain_ops() {
        let device = Device::flex();
        let results = pollster::block_on(run(&device, &SHAPES[..3])).unwrap();
        assert_eq!(results.len(), 3 * CASES_PER_SHAPE + 2 * ATTENTION.len());
        for r in results {
            assert!(r.ok(), "{r:?}");
        }
    }
}
