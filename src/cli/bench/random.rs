//! Seeded random weights and images for benchmarks.
//!
//! The weights are a timm-named checkpoint for any [`VitConfig`], so the model is built by the
//! same loader as a real checkpoint and runs exactly the same arithmetic; only the values differ.
//! Values come from the crate's xorshift32 generator (uniform in [-2, 2)), scaled like a trained
//! ViT's: linear weights about 0.01, LayerNorm weights 1, biases 0.

use std::collections::BTreeMap;

use crate::gpu::selfcheck::selfcheck_values;
use crate::model::VitConfig;
use crate::model::checkpoint::{Checkpoint, HostTensor};

/// Scale of the uniform [-2, 2) values for weight matrices and embeddings (std about 0.012).
const WEIGHT_SCALE: f32 = 0.01;

/// A full checkpoint for `c` in timm naming (with a head when `c.num_classes > 0`).
pub fn timm_checkpoint(c: &VitConfig, seed: u32) -> Checkpoint {
    let (d, h, p) = (c.embed_dim, c.mlp_hidden(), c.patch_size);
    let tokens = usize::from(c.class_token) + c.grid(c.img_size).pow(2);
    let mut random: Vec<(String, Vec<usize>)> = vec![
        ("pos_embed".into(), vec![1, tokens, d]),
        ("patch_embed.proj.weight".into(), vec![d, c.in_chans, p, p]),
    ];
    let mut ones = vec!["norm.weight".to_string()];
    let mut zeros: Vec<(String, usize)> =
        vec![("patch_embed.proj.bias".into(), d), ("norm.bias".into(), d)];
    if c.class_token {
        random.push(("cls_token".into(), vec![1, 1, d]));
    }
    if c.num_classes > 0 {
        random.push(("head.weight".into(), vec![c.num_classes, d]));
        zeros.push(("head.bias".into(), c.num_classes));
    }
    for i in 0..c.depth {
        let name = |s: &str| format!("blocks.{i}.{s}");
        random.extend([
            (name("attn.qkv.weight"), vec![3 * d, d]),
            (name("attn.proj.weight"), vec![d, d]),
            (name("mlp.fc1.weight"), vec![h, d]),
            (name("mlp.fc2.weight"), vec![d, h]),
        ]);
        ones.extend([name("norm1.weight"), name("norm2.weight")]);
        zeros.extend([
            (name("norm1.bias"), d),
            (name("norm2.bias"), d),
            (name("attn.proj.bias"), d),
            (name("mlp.fc1.bias"), h),
            (name("mlp.fc2.bias"), d),
        ]);
        if c.qkv_bias {
            zeros.push((name("attn.qkv.bias"), 3 * d));
        }
        if c.layer_scale {
            ones.extend([name("ls1.gamma"), name("ls2.gamma")]);
        }
    }

    let mut tensors = BTreeMap::new();
    for (i, (name, shape)) in random.into_iter().enumerate() {
        let n = shape.iter().product();
        let data = selfcheck_values(n, nonzero(seed, i))
            .into_iter()
            .map(|v| v * WEIGHT_SCALE)
            .collect();
        tensors.insert(name, HostTensor::new(shape, data));
    }
    for name in ones {
        tensors.insert(name, HostTensor::new(vec![d], vec![1.0; d]));
    }
    for (name, n) in zeros {
        tensors.insert(name, HostTensor::new(vec![n], vec![0.0; n]));
    }
    Checkpoint::from_tensors(tensors)
}

/// `count` values uniform in [-2, 2), about the range of ImageNet-normalised pixels.
pub fn images(count: usize, seed: u32) -> Vec<f32> {
    selfcheck_values(count, nonzero(seed, 0))
}

/// A distinct nonzero xorshift32 seed for stream `i` of `seed` (zero is xorshift's fixed point).
fn nonzero(seed: u32, i: usize) -> u32 {
    let s = seed
        .wrapping_mul(0x9E37_79B9)
        .wrapping_add((i as u32).wrapping_mul(0x85EB_CA6B) | 1);
    if s == 0 { 1 } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::load_vit;

    #[test]
    fn the_random_checkpoint_loads_for_every_variant_of_the_architecture() {
        let base = VitConfig::from_json(
            r#"{"img_size":16,"patch_size":8,"embed_dim":12,"depth":2,"num_heads":3}"#,
        )
        .unwrap();
        let device = burn::tensor::Device::flex();
        for c in [
            base.clone(),
            VitConfig {
                layer_scale: true,
                num_classes: 4,
                qkv_bias: false,
                ..base
            },
        ] {
            let mut ck = timm_checkpoint(&c, 7);
            assert!(load_vit(&mut ck, &c, &device).is_ok(), "{c:?}");
        }
    }

    #[test]
    fn different_seeds_give_different_images() {
        assert_ne!(images(8, 1), images(8, 2));
        assert_eq!(images(8, 3), images(8, 3));
    }
}
