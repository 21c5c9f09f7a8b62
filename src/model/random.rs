//! Random-weight checkpoints under timm names for any `VitConfig`: the tiny models of the tests
//! and the full-size stand-ins of the benchmarks, where only the shapes matter.

use std::collections::BTreeMap;

use super::VitConfig;
use super::checkpoint::HostTensor;
use crate::rng::Rng;

/// Every tensor timm's VisionTransformer has for `c` (LayerScale, class token and head as the
/// config says), drawn from a seeded generator: weights and biases N(0, scale^2), LayerNorm
/// weights 1 + N(0, scale^2), LayerScale gammas 0.1 + N(0, scale^2) (like DINOv2's small init).
pub fn random_timm_tensors(c: &VitConfig, seed: u64, scale: f64) -> BTreeMap<String, HostTensor> {
    let (d, h, p) = (c.embed_dim, c.mlp_hidden(), c.patch_size);
    let prefix = c.pos_prefix();
    let n = c.grid(c.img_size).pow(2);
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("pos_embed".into(), vec![1, prefix + n, d]),
        ("patch_embed.proj.weight".into(), vec![d, c.in_chans, p, p]),
        ("patch_embed.proj.bias".into(), vec![d]),
        ("norm.weight".into(), vec![d]),
        ("norm.bias".into(), vec![d]),
    ];
    if c.class_token {
        shapes.push(("cls_token".into(), vec![1, 1, d]));
    }
    if c.dist_token {
        shapes.push(("dist_token".into(), vec![1, 1, d]));
    }
    if c.reg_tokens > 0 {
        shapes.push(("reg_token".into(), vec![1, c.reg_tokens, d]));
    }
    if c.num_classes > 0 {
        shapes.push(("head.weight".into(), vec![c.num_classes, d]));
        shapes.push(("head.bias".into(), vec![c.num_classes]));
        if c.dist_token {
            shapes.push(("head_dist.weight".into(), vec![c.num_classes, d]));
            shapes.push(("head_dist.bias".into(), vec![c.num_classes]));
        }
    }
    for i in 0..c.depth {
        let mut block = vec![
            ("norm1.weight", vec![d]),
            ("norm1.bias", vec![d]),
            ("attn.qkv.weight", vec![3 * d, d]),
            ("attn.proj.weight", vec![d, d]),
            ("attn.proj.bias", vec![d]),
            ("norm2.weight", vec![d]),
            ("norm2.bias", vec![d]),
            ("mlp.fc1.weight", vec![h, d]),
            ("mlp.fc1.bias", vec![h]),
            ("mlp.fc2.weight", vec![d, h]),
            ("mlp.fc2.bias", vec![d]),
        ];
        if c.qkv_bias {
            block.push(("attn.qkv.bias", vec![3 * d]));
        }
        if c.layer_scale {
            block.push(("ls1.gamma", vec![d]));
            block.push(("ls2.gamma", vec![d]));
        }
        shapes.extend(
            block
                .into_iter()
                .map(|(name, shape)| (format!("blocks.{i}.{name}"), shape)),
        );
    }
    let rng = Rng::new(seed);
    shapes
        .into_iter()
        .enumerate()
        .map(|(k, (name, shape))| {
            let count = shape.iter().product();
            let offset = if name.ends_with("norm.weight")
                || name.ends_with("norm1.weight")
                || name.ends_with("norm2.weight")
            {
                1.0
            } else if name.ends_with("gamma") {
                0.1
            } else {
                0.0
            };
            let data = rng
                .fork(k as u64)
                .normal_vec(count, scale)
                .into_iter()
                .map(|v| v + offset)
                .collect();
            (name, HostTensor::new(shape, data))
        })
        .collect()
}
