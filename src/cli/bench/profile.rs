//! `bpt-lab bench forward --profile`: where one forward pass spends its time.
//!
//! The pass is re-run stage by stage with the backbone's own modules, the device synchronised
//! after every stage so that each stage's clock covers its own work only. Times are summed over
//! the blocks and the median over [`REPEATS`] passes (after one untimed pass) is reported. The
//! synchronisation costs a little on wgpu, so the stages add up to somewhat more than the
//! un-synchronised pass that `bench forward` times.

use std::time::Instant;

use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

use super::Summary;
use super::random;
use crate::model::vit::Block;
use crate::model::{Backbone, ModelError};

/// Timed passes per profile.
pub const REPEATS: usize = 3;

/// The stages, in the order of the forward pass.
pub const STAGES: [&str; 12] = [
    "upload + pos-embed",
    "patch embed (conv)",
    "layernorm x2",
    "attn qkv linear",
    "attn q k^T",
    "attn softmax",
    "attn x v",
    "attn proj linear",
    "mlp fc1",
    "mlp gelu",
    "mlp fc2",
    "residual + scale",
];

/// Median seconds per stage (index into [`STAGES`]) of one forward pass; the final norm is
/// counted with the layernorms.
pub fn run(
    backbone: &Backbone,
    batch: usize,
    size: usize,
    seed: u32,
    device: &Device,
) -> Result<Vec<f64>, ModelError> {
    let mut per_pass: Vec<Vec<f64>> = Vec::new();
    for pass in 0..=REPEATS {
        let c = backbone.config.in_chans;
        let pixels = random::images(batch * c * size * size, seed.wrapping_add(pass as u32));
        let mut clock = Clock::new(device);
        let images =
            Tensor::<4>::from_data(TensorData::new(pixels, [batch, c, size, size]), device);
        let pos = backbone.pos_embed(size, size, device)?;
        clock.lap(0)?;
        let mut x = backbone.vit.embed(images, pos);
        clock.lap(1)?;
        for block in &backbone.vit.blocks {
            x = block_stages(block, x, &mut clock)?;
        }
        let out = backbone.vit.norm.forward(x);
        clock.lap(2)?;
        drop(out);
        if pass > 0 {
            per_pass.push(clock.totals);
        }
    }
    Ok((0..STAGES.len())
        .map(|s| {
            let times: Vec<f64> = per_pass.iter().map(|p| p[s]).collect();
            Summary::of(&times).map_or(0.0, |m| m.median)
        })
        .collect())
}

/// Accumulates the time since the previous lap into a stage, after waiting for the device.
struct Clock<'a> {
    device: &'a Device,
    last: Instant,
    totals: Vec<f64>,
}

impl<'a> Clock<'a> {
    fn new(device: &'a Device) -> Self {
        Self {
            device,
            last: Instant::now(),
            totals: vec![0.0; STAGES.len()],
        }
    }

    fn lap(&mut self, stage: usize) -> Result<(), ModelError> {
        self.device
            .sync()
            .map_err(|e| ModelError::Readback(format!("{e:?}")))?;
        let now = Instant::now();
        self.totals[stage] += (now - self.last).as_secs_f64();
        self.last = now;
        Ok(())
    }
}

/// [`Block::forward`] and [`crate::model::vit::Attention::forward`], one stage at a time.
///
/// # Shapes
/// - x: [B, T, D] -> [B, T, D]
fn block_stages(block: &Block, x: Tensor<3>, clock: &mut Clock) -> Result<Tensor<3>, ModelError> {
    let [b, t, d] = x.dims();
    let h = block.attn.num_heads;
    let hd = d / h;
    let y = block.norm1.forward(x.clone());
    clock.lap(2)?;
    let qkv = block.attn.qkv.forward(y);
    clock.lap(3)?;
    let qkv = qkv.reshape([b, t, 3, h, hd]).permute([2, 0, 3, 1, 4]); // [3, B, H, T, hd]
    let q = qkv.clone().narrow(0, 0, 1).squeeze_dim::<4>(0);
    let k = qkv.clone().narrow(0, 1, 1).squeeze_dim::<4>(0);
    let v = qkv.narrow(0, 2, 1).squeeze_dim::<4>(0);
    let scores = q.matmul(k.swap_dims(2, 3)) * (hd as f64).powf(-0.5); // [B, H, T, T]
    clock.lap(4)?;
    let attn = softmax(scores, 3);
    clock.lap(5)?;
    let out = attn.matmul(v).swap_dims(1, 2).reshape([b, t, d]); // [B, T, D]
    clock.lap(6)?;
    let a = block.attn.proj.forward(out);
    clock.lap(7)?;
    let a = match &block.ls1 {
        Some(ls) => ls.forward(a),
        None => a,
    };
    let x = x + a;
    clock.lap(11)?;
    let y = block.norm2.forward(x.clone());
    clock.lap(2)?;
    let y = block.mlp.fc1.forward(y);
    clock.lap(8)?;
    let y = gelu(y);
    clock.lap(9)?;
    let m = block.mlp.fc2.forward(y);
    clock.lap(10)?;
    let m = match &block.ls2 {
        Some(ls) => ls.forward(m),
        None => m,
    };
    let x = x + m;
    clock.lap(11)?;
    Ok(x)
}

/// Prints the stages with their share of the pass.
pub fn print(model: &str, backend: &str, batch: usize, stages: &[f64]) {
    let total: f64 = stages.iter().sum();
    println!(
        "{model} on {backend}, batch {batch}: {:.1} ms per pass (stages synchronised)",
        total * 1e3
    );
    for (name, s) in STAGES.iter().zip(stages) {
        println!(
            "  {name:<20} {:>10.2} ms {:>6.1} %",
            s * 1e3,
            100.0 * s / total
        );
    }
}
