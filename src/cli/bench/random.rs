//! Seeded random weights and images for benchmarks.
//!
//! The weights are a timm-named checkpoint for any [`VitConfig`] (`model::random`), so the model
//! is built by the same loader as a real checkpoint and runs exactly the same arithmetic; only
//! the values differ, scaled like a trained ViT's (std 0.012).

use crate::gpu::selfcheck::selfcheck_values;
use crate::model::VitConfig;
use crate::model::checkpoint::Checkpoint;
use crate::model::random::random_timm_tensors;

/// A full checkpoint for `c` in timm naming (with a head when `c.num_classes > 0`).
pub fn timm_checkpoint(c: &VitConfig, seed: u32) -> Checkpoint {
    Checkpoint::from_tensors(random_timm_tensors(c, seed as u64, 0.012))
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
