//! One forward pass cut into stages for profiling (`bpt-lab bench forward --profile` natively,
//! `index.html?bench&profile` in the browser): the backbone's own modules, run stage by stage,
//! with a [`Laps`] call after each stage that waits for the device and books the time.
//!
//! The arithmetic is that of [`crate::model::vit::Block::forward`]; only the waits are added, so
//! the stages add up to somewhat more than an unsynchronised pass.

use burn::tensor::Tensor;

use super::vit::{Block, LayerScale};
use super::{Backbone, ModelError};
use crate::kernels;

/// The stages, in the order of the forward pass.
/// The linear layers are timed as they run: with our kernels, GELU and LayerScale plus the
/// residual add are fused into them (`crate::kernels`).
pub const STAGES: [&str; 8] = [
    "upload + pos-embed",
    "patch embed (conv)",
    "layernorm x2",
    "attn qkv linear",
    "attention (q k^T, softmax, x v)",
    "attn proj linear + residual",
    "mlp fc1 + gelu",
    "mlp fc2 + residual",
];

/// The platform's clock and wait: native code synchronises the device, the browser reads a value
/// of `done` back (it cannot block).
#[allow(async_fn_in_trait)]
pub trait Laps {
    /// Waits until `done` (and all work queued before it) is computed, then adds the time since
    /// the previous lap to stage `stage` (an index into [`STAGES`]).
    async fn lap<const D: usize>(
        &mut self,
        stage: usize,
        done: &Tensor<D>,
    ) -> Result<(), ModelError>;
}

/// One forward pass of `images` (already on the device; the caller laps stage 0 for the upload),
/// stage by stage; the final norm counts as a layernorm.
pub async fn forward_in_stages(
    backbone: &Backbone,
    images: Tensor<4>,
    laps: &mut impl Laps,
) -> Result<(), ModelError> {
    let [_, _, h, w] = images.dims();
    let pos = backbone.pos_embed(h, w, &images.device())?;
    laps.lap(0, &pos).await?;
    let mut x = backbone.vit.embed(images, pos);
    laps.lap(1, &x).await?;
    for block in &backbone.vit.blocks {
        x = block_in_stages(block, x, laps).await?;
    }
    let out = backbone.vit.final_norm(x);
    laps.lap(2, &out).await
}

/// [`Block::forward`] and [`crate::model::vit::Attention::heads`], one stage at a time.
///
/// # Shapes
/// - x: [B, T, D] -> [B, T, D]
async fn block_in_stages(
    block: &Block,
    x: Tensor<3>,
    laps: &mut impl Laps,
) -> Result<Tensor<3>, ModelError> {
    let y = block.norm1.forward(x.clone());
    laps.lap(2, &y).await?;
    let qkv = kernels::linear_layer(y, &block.attn.qkv, false);
    laps.lap(3, &qkv).await?;
    let out = kernels::attention(qkv, block.attn.num_heads); // [B, T, D]
    laps.lap(4, &out).await?;
    let x = kernels::linear_residual(out, &block.attn.proj, LayerScale::gamma(&block.ls1), x);
    laps.lap(5, &x).await?;
    let y = block.norm2.forward(x.clone());
    laps.lap(2, &y).await?;
    let y = block.mlp.hidden(y);
    laps.lap(6, &y).await?;
    let x = kernels::linear_residual(y, &block.mlp.fc2, LayerScale::gamma(&block.ls2), x);
    laps.lap(7, &x).await?;
    Ok(x)
}
