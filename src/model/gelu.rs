//! The exact GELU, x Φ(x) = x (1 + erf(x / √2)) / 2, written with tensor operations so that
//! autodiff differentiates it exactly (erf' = 2 exp(-x²) / √π).
//!
//! burn 0.22's own `gelu` computes the same forward value, but its fused backward is the
//! derivative of the *tanh approximation*, tanh(0.0357 x³ + 0.798 x): it differs from the exact
//! derivative, and on SwiftShader's WebGPU the tanh of that cubic is NaN once |x| passes about
//! 10 (e^(2·44) overflows). DINOv2-S's MLPs see such inputs at 112 px, so every prompt gradient
//! of a browser training step became NaN. Measured with the page's `?bench` training step.

use burn::tensor::Tensor;

/// Exact GELU of every element (checked on both backends in `tests/gelu.rs`).
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let phi = (x.clone() * std::f64::consts::FRAC_1_SQRT_2).erf() + 1.0;
    x * phi * 0.5
}
