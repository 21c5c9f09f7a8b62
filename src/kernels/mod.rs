//! Our own WGSL kernels for the ViT's hot paths, in burn's command stream on burn's buffers.
//!
//! The linear layers (73% of the forward pass under cubecl's generic matmul) run as one tiled,
//! register-blocked matmul with the bias, GELU, LayerScale and the residual add fused into its
//! write-out (`shaders/linear.wgsl`, variants in [`linear`]), and their activation gradients as
//! the same kernel reading W transposed with the GELU or LayerScale derivative fused into its
//! loads ([`autodiff`]). LayerNorm is one kernel per direction (`shaders/rows.wgsl`,
//! [`rows`]). [`twin`] is the plain-Rust twin the tests compare them with, [`selftest`]
//! the comparison itself, and [`check`] compiles every variant when a device is set up.
//!
//! The functions here pick the path per call: our kernels for f32 tensors on a wgpu device with
//! frozen weights, while [`enabled`]; burn's own tensor ops otherwise (the CPU backend, a
//! trainable layer, or a browser whose compiler rejected a kernel). Both paths compute the same
//! function; `tests/kernels.rs` checks that they agree. Linear weights may be stored in f16
//! ([`half`]); burn's path widens them to f32 first.

pub mod attention;
mod autodiff;
pub mod check;
mod cube;
pub mod half;
pub mod linear;
pub mod rows;
pub mod selftest;
pub mod tune;
pub mod twin;
mod wgsl;

use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::{Backend, Dispatch, DispatchDevice, backend_extension, tensor::FloatTensor};
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{DType, Device, FloatDType, Tensor};

use crate::model::gelu::gelu;

/// The fused linear layers, through burn's backend-extension dispatch: the cubecl backend runs
/// our kernels and the autodiff backend wraps them with their backward passes. Inputs are 2-D:
/// x [M, K], w [K, N] (burn's `Linear` layout), b, gamma [N], res [M, N].
#[backend_extension(Cube, Autodiff)]
pub trait VitOps: Backend {
    /// x W + b.
    fn fused_linear(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// gelu(x W + b), the exact GELU.
    fn fused_linear_gelu(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// LayerNorm of each row of x [R, D] (biased variance), then gamma and beta [D].
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        eps: f64,
    ) -> FloatTensor<Self>;

    /// Every head's softmax(scale q k^T) v from qkv [B, T, 3D], into [B, T, D].
    fn fused_attention(qkv: FloatTensor<Self>, heads: usize, scale: f64) -> FloatTensor<Self>;

    /// softmax(scale x) over each row of x [R, T]: the attention's probabilities.
    fn fused_softmax(x: FloatTensor<Self>, scale: f64) -> FloatTensor<Self>;

    /// res + gamma (x W + b): a residual branch's last layer with its LayerScale.
    fn fused_linear_residual(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        res: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// The kernels the backward passes call on the inner backend, never through dispatch.
pub trait VitKernels: Backend {
    /// (gelu(x W + b), x W + b).
    fn linear_gelu_saved(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// (LayerNorm(x), its (mean, rstd) per row as [R, 2]).
    fn layer_norm_saved(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        eps: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// The gradient of LayerNorm's input from x, gamma, the saved statistics and dY.
    fn layer_norm_input_grad(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        dy: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// (attention output [B, T, D], its probabilities [B H T, T]).
    fn attention_saved(
        qkv: FloatTensor<Self>,
        heads: usize,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// d qkv [B, T, 3D] from qkv, the probabilities and dO [B, T, D].
    fn attention_input_grad(
        qkv: FloatTensor<Self>,
        p: FloatTensor<Self>,
        dout: FloatTensor<Self>,
        heads: usize,
        scale: f64,
    ) -> FloatTensor<Self>;

    /// The input gradient of softmax(scale x) from its output y and dY.
    fn softmax_input_grad(
        y: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        scale: f64,
    ) -> FloatTensor<Self>;

    /// dY W^T.
    fn linear_input_grad(dy: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;

    /// (dY ⊙ gelu'(z)) W^T.
    fn linear_gelu_input_grad(
        dy: FloatTensor<Self>,
        z: FloatTensor<Self>,
        w: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// (dY ⊙ gamma) W^T.
    fn linear_scaled_input_grad(
        dy: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        w: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Whether our kernels are used where they apply (on by default).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Turns our kernels on or off for every later call: off after a failed [`check`], or to
/// measure burn's own ops against ours.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether `device` is a wgpu (or WebGPU) device, plain or with autodiff.
fn on_wgpu(device: &DispatchDevice) -> bool {
    #[allow(unreachable_patterns)]
    match device {
        DispatchDevice::Cube(d) => matches!(d, cubecl::Device::Wgpu(_)),
        DispatchDevice::Autodiff(inner) => on_wgpu(inner),
        _ => false,
    }
}

/// Our kernels take f32 activations on a wgpu device and frozen (non-autodiff) parameters, the
/// weight in f32 or, once the f16 variants are compiled, in f16.
fn applies(x: &Tensor<3>, params: &[&Tensor<1>], w: &Tensor<2>) -> bool {
    let weight_ok = match w.dtype() {
        DType::F32 => true,
        DType::F16 => half::ready(),
        _ => false,
    };
    enabled()
        && x.dtype() == DType::F32
        && weight_ok
        && !w.is_autodiff()
        && params
            .iter()
            .all(|p| !p.is_autodiff() && p.dtype() == DType::F32)
        && on_wgpu(x.device().as_dispatch())
}

/// The layer's bias, or zeros on the weight's device (not the activations': an autodiff device
/// would make the zeros look trainable).
fn bias(layer: &Linear, device: &Device) -> Tensor<1> {
    match &layer.bias {
        Some(b) => b.val(),
        None => Tensor::zeros([layer.weight.val().dims()[1]], device),
    }
}

/// burn's own linear op (x W + b), an f16 weight widened to f32 first.
fn plain_linear(x: Tensor<3>, layer: &Linear) -> Tensor<3> {
    let w = layer.weight.val();
    if w.dtype() == x.dtype() {
        return layer.forward(x);
    }
    let b = layer.bias.as_ref().map(|b| b.val());
    burn::tensor::module::linear(x, w.cast(FloatDType::F32), b)
}

/// Flattens [B, T, D] to [B T, D], runs `op` on dispatch primitives, and restores the batch.
fn rows(
    x: Tensor<3>,
    n: usize,
    op: impl FnOnce(FloatTensor<Dispatch>) -> FloatTensor<Dispatch>,
) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let y = Tensor::<2>::from_dispatch(op(x.reshape([b * t, d]).into_dispatch()));
    y.reshape([b, t, n])
}

/// Whether [`linear_layer`] runs `layer` on `x` with our kernels (else burn's ops).
pub fn uses_our_kernels(x: &Tensor<3>, layer: &Linear) -> bool {
    let w = layer.weight.val();
    applies(x, &[&bias(layer, &w.device())], &w)
}

/// A linear layer on [B, T, in] tokens, with the exact GELU after it when `gelu_after`.
pub fn linear_layer(x: Tensor<3>, layer: &Linear, gelu_after: bool) -> Tensor<3> {
    if !uses_our_kernels(&x, layer) {
        let y = plain_linear(x, layer);
        return if gelu_after { gelu(y) } else { y };
    }
    let w = layer.weight.val();
    let b = bias(layer, &w.device());
    let n = w.dims()[1];
    let (w, b) = (w.into_dispatch(), b.into_dispatch());
    rows(x, n, |x| {
        if gelu_after {
            <Dispatch as VitOps>::fused_linear_gelu(x, w, b)
        } else {
            <Dispatch as VitOps>::fused_linear(x, w, b)
        }
    })
}

/// LayerNorm over the last axis of x (any rank), burn's op where our kernel does not apply.
pub fn layer_norm<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Option<Tensor<1>>,
    eps: f64,
) -> Tensor<D> {
    let dims = x.dims();
    let d = dims[D - 1];
    let beta_ok = beta
        .as_ref()
        .is_none_or(|b| !b.is_autodiff() && b.dtype() == DType::F32);
    let fused = enabled()
        && beta_ok
        && x.dtype() == DType::F32
        && gamma.dtype() == DType::F32
        && !gamma.is_autodiff()
        && on_wgpu(x.device().as_dispatch());
    if !fused {
        return burn::tensor::module::layer_norm(x, gamma, beta, eps);
    }
    let beta = beta.unwrap_or_else(|| Tensor::zeros([d], &gamma.device()));
    let rows = dims[..D - 1].iter().product();
    let y = Tensor::<2>::from_dispatch(<Dispatch as VitOps>::fused_layer_norm(
        x.reshape([rows, d]).into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        eps,
    ));
    y.reshape(dims)
}

/// Multi-head attention on the qkv projection's output [B, T, 3D]: every head's
/// softmax(q k^T / sqrt(hd)) v, heads side by side in [B, T, D].
pub fn attention(qkv: Tensor<3>, heads: usize) -> Tensor<3> {
    let [b, t, d3] = qkv.dims();
    let (d, hd) = (d3 / 3, d3 / 3 / heads);
    let scale = (hd as f64).powf(-0.5);
    if enabled() && qkv.dtype() == DType::F32 && on_wgpu(qkv.device().as_dispatch()) {
        let out = <Dispatch as VitOps>::fused_attention(qkv.into_dispatch(), heads, scale);
        return Tensor::from_dispatch(out);
    }
    let qkv = qkv.reshape([b, t, 3, heads, hd]).permute([2, 0, 3, 1, 4]); // [3, B, H, T, hd]
    let q = qkv.clone().narrow(0, 0, 1).squeeze_dim::<4>(0);
    let k = qkv.clone().narrow(0, 1, 1).squeeze_dim::<4>(0);
    let v = qkv.narrow(0, 2, 1).squeeze_dim::<4>(0);
    let probs = scaled_softmax(q.matmul(k.swap_dims(2, 3)), scale); // [B, H, T, T]
    probs.matmul(v).swap_dims(1, 2).reshape([b, t, d])
}

/// softmax(scale x) over the last axis of x (any rank): the attention's probabilities.
pub fn scaled_softmax<const D: usize>(x: Tensor<D>, scale: f64) -> Tensor<D> {
    let dims = x.dims();
    if !(enabled() && x.dtype() == DType::F32 && on_wgpu(x.device().as_dispatch())) {
        return softmax(x * scale, D - 1);
    }
    let t = dims[D - 1];
    let rows = dims[..D - 1].iter().product();
    let y = Tensor::<2>::from_dispatch(<Dispatch as VitOps>::fused_softmax(
        x.reshape([rows, t]).into_dispatch(),
        scale,
    ));
    y.reshape(dims)
}

/// `res + gamma * layer(x)` (gamma absent: 1), the end of a residual branch.
pub fn linear_residual(
    x: Tensor<3>,
    layer: &Linear,
    gamma: Option<Tensor<1>>,
    res: Tensor<3>,
) -> Tensor<3> {
    let w = layer.weight.val();
    let device = w.device();
    let b = bias(layer, &device);
    let n = w.dims()[1];
    let fused = match &gamma {
        Some(g) => applies(&x, &[&b, g], &w),
        None => applies(&x, &[&b], &w),
    };
    if !fused || res.dtype() != DType::F32 {
        let y = plain_linear(x, layer);
        return match gamma {
            Some(g) => res + y * g.unsqueeze::<3>(),
            None => res + y,
        };
    }
    let gamma = gamma.unwrap_or_else(|| Tensor::ones([n], &device));
    let [bt, t, _] = res.dims();
    let res = res.reshape([bt * t, n]).into_dispatch();
    let (w, b, gamma) = (w.into_dispatch(), b.into_dispatch(), gamma.into_dispatch());
    rows(x, n, |x| {
        <Dispatch as VitOps>::fused_linear_residual(x, w, b, gamma, res)
    })
}
