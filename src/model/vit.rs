//! The ViT backbone as burn modules, named after timm's checkpoint keys (`patch_embed`,
//! `cls_token`, `blocks`, `attn.qkv`, `ls1`, `norm`), with hooks for prompt tokens and for
//! reading the tokens each block sees.
//!
//! Layout: burn's `Linear` stores its weight as [in, out] (y = x W + b), so `attn.qkv.weight` is
//! [D, 3D] with the query, key and value columns in that order, heads contiguous inside each.
//! The attention logits of one head are therefore `X W_q W_k^T X^T` with W_q = qkv[:, q cols]
//! in the row-vector convention of the BPT paper (see [`Attention::wq`]).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::{DType, FloatDType, Tensor};

use super::Pool;
use super::norm::LayerNorm;
use crate::kernels;

/// Patch embedding: a convolution with kernel and stride equal to the patch size.
#[derive(Module, Debug)]
pub struct PatchEmbed {
    pub proj: Conv2d,
}

/// Multi-head self-attention with a fused qkv projection.
#[derive(Module, Debug)]
pub struct Attention {
    pub qkv: Linear,
    pub proj: Linear,
    pub num_heads: usize,
}

impl Attention {
    /// W_q as [D_in, D_out]: the query of a token row x is `x W_q + b_q`. Always f32 (the
    /// stored weight may be f16, see [`Vit::store_linear_weights`]).
    pub fn wq(&self) -> Tensor<2> {
        let d = self.proj.weight.val().dims()[0];
        self.qkv_f32().narrow(1, 0, d)
    }

    /// W_k as [D_in, D_out], like [`Self::wq`].
    pub fn wk(&self) -> Tensor<2> {
        let d = self.proj.weight.val().dims()[0];
        self.qkv_f32().narrow(1, d, d)
    }

    fn qkv_f32(&self) -> Tensor<2> {
        self.qkv.weight.val().cast(FloatDType::F32)
    }

    /// Every head's softmax(q k^T / sqrt(hd)) v, heads side by side: the input of `proj`.
    ///
    /// # Shapes
    /// - x: [B, T, D] -> [B, T, D]
    pub fn heads(&self, x: Tensor<3>) -> Tensor<3> {
        kernels::attention(kernels::linear_layer(x, &self.qkv, false), self.num_heads)
    }
}

/// Per-channel scaling of a residual branch (LayerScale; DINOv2's `layer_scale1.lambda1`).
#[derive(Module, Debug)]
pub struct LayerScale {
    pub gamma: Param<Tensor<1>>,
}

impl LayerScale {
    /// The factors of a block's LayerScale, None where the block has none.
    pub fn gamma(ls: &Option<Self>) -> Option<Tensor<1>> {
        ls.as_ref().map(|ls| ls.gamma.val())
    }
}

#[derive(Module, Debug)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
}

impl Mlp {
    /// fc1 and the exact (erf) GELU, as timm and transformers use; see [`crate::model::gelu`]
    /// for why it is not burn's. fc2 follows in [`Block::forward`], fused with the residual.
    pub fn hidden(&self, x: Tensor<3>) -> Tensor<3> {
        kernels::linear_layer(x, &self.fc1, true)
    }
}

/// A pre-norm transformer block.
#[derive(Module, Debug)]
pub struct Block {
    pub norm1: LayerNorm,
    pub attn: Attention,
    pub ls1: Option<LayerScale>,
    pub norm2: LayerNorm,
    pub mlp: Mlp,
    pub ls2: Option<LayerScale>,
}

impl Block {
    /// # Shapes
    /// - x: [B, T, D] -> [B, T, D]
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let heads = self.attn.heads(self.norm1.forward(x.clone()));
        let x = kernels::linear_residual(heads, &self.attn.proj, LayerScale::gamma(&self.ls1), x);
        let hidden = self.mlp.hidden(self.norm2.forward(x.clone()));
        kernels::linear_residual(hidden, &self.mlp.fc2, LayerScale::gamma(&self.ls2), x)
    }
}

/// Prompt tokens to insert after the class token.
pub enum Prompts {
    None,
    /// Inserted once, before block 0: [B or 1, m, D].
    Shallow(Box<Tensor<3>>),
    /// One set per block, each replacing the previous block's prompt outputs: depth x [B or 1, m, D].
    Deep(Vec<Tensor<3>>),
}

/// What a traced forward pass records for the statistics and the whitening.
#[derive(Default)]
pub struct Trace {
    /// The tokens entering each block, prompts included: depth x [B, T, D].
    pub block_inputs: Vec<Tensor<3>>,
    /// The same tokens after the block's first LayerNorm, as the attention sees them.
    pub norm1_outputs: Vec<Tensor<3>>,
}

/// The backbone. The prefix tokens (class, distillation, registers, in that order) come before
/// the patches; [`Vit::embed`] adds a position table with a row for each of them and each patch
/// (`Backbone::pos_embed`: the checkpoint's rows, resampled to the grid, and zero rows for the
/// prefix tokens it gives no position).
///
/// timm's mean-pooled checkpoints replace the final `norm` by `fc_norm`, applied after pooling
/// (`fc_norm=None` with `global_pool='avg'`); the others have `norm` and no `fc_norm`.
#[derive(Module, Debug)]
pub struct Vit {
    pub patch_embed: PatchEmbed,
    pub cls_token: Option<Param<Tensor<3>>>,
    /// DeiT's distillation token: [1, 1, D].
    pub dist_token: Option<Param<Tensor<3>>>,
    /// Register tokens: [1, R, D].
    pub reg_tokens: Option<Param<Tensor<3>>>,
    pub blocks: Vec<Block>,
    pub norm: Option<LayerNorm>,
    pub fc_norm: Option<LayerNorm>,
    pub head: Option<Linear>,
    /// DeiT's distillation head, averaged with `head` as timm evaluates.
    pub head_dist: Option<Linear>,
}

impl Vit {
    /// Stores the weights of every block's four linear layers (qkv, proj, fc1, fc2: nearly all
    /// of the parameters) as `dtype`; biases, norms, LayerScale, the patch embedding and the head
    /// stay f32. Converting to f16 rounds each weight once; converting back does not undo that.
    /// For f16, [`crate::kernels::half::prepare`] must have succeeded on the device first.
    pub fn store_linear_weights(&mut self, dtype: FloatDType) {
        for block in &mut self.blocks {
            for layer in [
                &mut block.attn.qkv,
                &mut block.attn.proj,
                &mut block.mlp.fc1,
                &mut block.mlp.fc2,
            ] {
                layer.weight = layer.weight.clone().map(|w| w.cast(dtype));
            }
        }
    }

    /// How the blocks' linear weights are stored (f32 unless [`Self::store_linear_weights`]).
    pub fn linear_weight_dtype(&self) -> DType {
        self.blocks
            .first()
            .map_or(DType::F32, |b| b.attn.qkv.weight.val().dtype())
    }

    /// Patch tokens, the prefix tokens and the position embeddings: the input of block 0.
    ///
    /// # Shapes
    /// - images: [B, C, H, W], H and W multiples of the patch size
    /// - pos: [1, P + N, D] with N = (H / p) * (W / p), P the prefix tokens (from
    ///   `Backbone::pos_embed`, zero for the prefix tokens the checkpoint gives no position)
    /// - returns [B, P + N, D]
    pub fn embed(&self, images: Tensor<4>, pos: Tensor<3>) -> Tensor<3> {
        let [b, _, _, _] = images.dims();
        let x = self.patch_embed.proj.forward(images); // [B, D, gh, gw]
        let x = x.flatten::<3>(2, 3).swap_dims(1, 2); // [B, N, D]
        let [_, _, d] = x.dims();
        let mut tokens: Vec<Tensor<3>> = [&self.cls_token, &self.dist_token, &self.reg_tokens]
            .into_iter()
            .flatten()
            .map(|t| {
                let [_, n, _] = t.val().dims();
                t.val().expand([b, n, d]) // [B, n, D]
            })
            .collect();
        tokens.push(x);
        Tensor::cat(tokens, 1) + pos // [B, P + N, D]
    }

    /// Tokens before the patches: class, distillation and register tokens.
    pub fn prefix(&self) -> usize {
        [&self.cls_token, &self.dist_token, &self.reg_tokens]
            .into_iter()
            .flatten()
            .map(|t| t.val().dims()[1])
            .sum()
    }

    /// Runs the blocks and the final norm over embedded tokens (see [`Self::forward_blocks`]).
    ///
    /// # Shapes
    /// - tokens: [B, P + N, D] -> [B, P + m + N, D], after the final norm
    pub fn forward_tokens(
        &self,
        tokens: Tensor<3>,
        prompts: &Prompts,
        trace: Option<&mut Trace>,
    ) -> Tensor<3> {
        self.final_norm(self.forward_blocks(tokens, prompts, trace))
    }

    /// The final `norm` (absent in fc_norm checkpoints, where it is the identity).
    pub fn final_norm(&self, x: Tensor<3>) -> Tensor<3> {
        match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        }
    }

    /// The features a prompt-tuning head sees, from the blocks' output (before any norm).
    ///
    /// `Pool::Token`: the class token after the final norm (then `fc_norm`, if any); with a
    /// distillation token, the mean of the two (timm's `pre_logits` for distilled DeiT).
    /// `Pool::Avg`: the mean of every token after the prefix tokens, prompts included, then one
    /// norm: `fc_norm` when the checkpoint has it, else `norm` (the MAE recipe BPT follows, and
    /// timm's `global_pool='avg'` with `fc_norm`). A model without a class token (timm's `gap`
    /// models) was trained on the mean of its final-norm tokens, and is pooled so.
    ///
    /// # Shapes
    /// - x: [B, T, D] -> [B, D]
    pub fn pooled(&self, x: Tensor<3>, pool: Pool) -> Tensor<2> {
        let [_, t, _] = x.dims();
        let p = self.prefix();
        let pooled = match pool {
            Pool::Token => self
                .final_norm(x)
                .narrow(1, 0, self.class_tokens())
                .mean_dim(1),
            Pool::Avg if self.cls_token.is_none() => {
                self.final_norm(x).narrow(1, p, t - p).mean_dim(1) // [B, 1, D]
            }
            Pool::Avg => {
                let mean = x.narrow(1, p, t - p).mean_dim(1); // [B, 1, D]
                match &self.fc_norm {
                    Some(_) => mean,
                    None => self.final_norm(mean),
                }
            }
        };
        let pooled = match &self.fc_norm {
            Some(norm) => norm.forward(pooled),
            None => pooled,
        };
        pooled.squeeze_dim::<2>(1)
    }

    /// The tokens a class-token head reads: the class token, and the distillation token.
    fn class_tokens(&self) -> usize {
        1 + usize::from(self.dist_token.is_some())
    }

    /// Runs the blocks over embedded tokens, inserting `prompts` after the prefix tokens; with
    /// `trace`, records the tokens entering each block.
    ///
    /// # Shapes
    /// - tokens: [B, P + N, D] from [`Self::embed`]
    /// - returns [B, P + m + N, D] (m = 0 without prompts), before the final norm
    pub fn forward_blocks(
        &self,
        tokens: Tensor<3>,
        prompts: &Prompts,
        mut trace: Option<&mut Trace>,
    ) -> Tensor<3> {
        let [b, _, d] = tokens.dims();
        let p = self.prefix();
        let insert = |x: Tensor<3>, prompt: &Tensor<3>, replace: usize| {
            let [_, t, _] = x.dims();
            let [_, m, _] = prompt.dims();
            let tail = x.clone().narrow(1, p + replace, t - p - replace);
            let prompt = prompt.clone().expand([b, m, d]);
            if p == 0 {
                // No prefix tokens (timm's gap models): the prompts come first.
                return Tensor::cat(vec![prompt, tail], 1);
            }
            Tensor::cat(vec![x.narrow(1, 0, p), prompt, tail], 1)
        };
        let mut x = match prompts {
            Prompts::Shallow(prompt) => insert(tokens, prompt.as_ref(), 0),
            _ => tokens,
        };
        let mut current = 0;
        for (i, block) in self.blocks.iter().enumerate() {
            if let Prompts::Deep(per_block) = prompts {
                let prompt = &per_block[i];
                x = insert(x, prompt, current);
                current = prompt.dims()[1];
            }
            if let Some(trace) = trace.as_deref_mut() {
                trace.block_inputs.push(x.clone());
                trace.norm1_outputs.push(block.norm1.forward(x.clone()));
            }
            x = block.forward(x);
        }
        x
    }

    /// The checkpoint's own classifier on final-norm tokens, as timm computes it: the class
    /// token (`Pool::Token`) or the mean of the other tokens (`Pool::Avg`), then `fc_norm` when
    /// there is one, then `head`; distilled DeiT averages `head` on the class token and
    /// `head_dist` on the distillation token. None without a head.
    ///
    /// # Shapes
    /// - tokens: [B, T, D] -> [B, classes]
    pub fn logits(&self, tokens: Tensor<3>, pool: Pool) -> Option<Tensor<2>> {
        let head = self.head.as_ref()?;
        let [_, t, _] = tokens.dims();
        let p = self.prefix();
        if let (Pool::Token, Some(head_dist)) = (pool, &self.head_dist) {
            let cls = tokens.clone().narrow(1, 0, 1).squeeze_dim::<2>(1);
            let dist = tokens.narrow(1, 1, 1).squeeze_dim::<2>(1);
            return Some((head.forward(cls) + head_dist.forward(dist)) / 2.0);
        }
        let pooled = match pool {
            Pool::Token => tokens.narrow(1, 0, 1),
            Pool::Avg => tokens.narrow(1, p, t - p).mean_dim(1),
        };
        let pooled = match &self.fc_norm {
            Some(norm) => norm.forward(pooled),
            None => pooled,
        }
        .squeeze_dim::<2>(1); // [B, D]
        Some(head.forward(pooled))
    }
}
