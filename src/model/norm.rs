//! LayerNorm as the backbone uses it: burn's `LayerNorm` keeps its epsilon private, and our
//! kernel (`crate::kernels::layer_norm`) needs it, so the module is ours, with the same
//! parameters (`gamma`, `beta`) and the same function (biased variance, then scale and shift).

use burn::module::{Module, Param};
use burn::tensor::Tensor;

use crate::kernels;

#[derive(Module, Debug)]
pub struct LayerNorm {
    pub gamma: Param<Tensor<1>>,
    pub beta: Option<Param<Tensor<1>>>,
    pub eps: f64,
}

impl LayerNorm {
    /// Normalises over the last axis.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let beta = self.beta.as_ref().map(|b| b.val());
        kernels::layer_norm(x, self.gamma.val(), beta, self.eps)
    }
}
