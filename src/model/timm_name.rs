//! timm architecture names read as data. A timm `config.json` on the Hub names its
//! architecture (`"architecture": "vit_small_patch14_dinov2"`) and holds only what the caller
//! overrode in `model_args`: the dimensions are in the name (and in the weights, which
//! `model::arch` checks them against).
//!
//! A name is cut at `_` into a family (`vit`, `deit`), a size (`small`), `patch14`, an image
//! side (`224`) and tags. The sizes are timm's (`vision_transformer.py`, `deit.py`): each fixes
//! the width, the depth and the number of heads, the one figure the weights cannot say; tags
//! add registers (`reg4`), a distillation token (`distilled`) or take the class token away
//! (`gap`). A tag we do not run (CLIP's pre-norm, SigLIP, ...) is refused here, before any
//! weight is read, naming
//! what is missing; so is a name we cannot read.

use super::ModelError;

/// What a timm name says about the architecture.
#[derive(Clone, Debug, PartialEq)]
pub struct TimmName {
    /// The size's width, depth and heads; `None` for a size we do not know (the config must
    /// then give all three in `model_args`).
    pub dims: Option<Dims>,
    pub patch_size: usize,
    /// The side the position table was trained for: the name's last number, or 518 for
    /// DINOv2, whose names have none.
    pub img_size: usize,
    /// DINOv2's blocks scale their residual branches (LayerScale).
    pub layer_scale: bool,
    /// `distilled`: DeiT's distillation token.
    pub dist_token: bool,
    /// `regN`: N register tokens.
    pub reg_tokens: usize,
    /// The position table has no prefix rows (timm's DINOv2 with registers).
    pub no_embed_class: bool,
    /// `gap`: no class token; the head reads the mean of the patch tokens.
    pub gap: bool,
}

/// A timm size: the width, the depth and the number of heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub embed_dim: usize,
    pub depth: usize,
    pub num_heads: usize,
}

/// timm's sizes: (name, width, depth, heads).
const SIZES: [(&str, usize, usize, usize); 7] = [
    ("tiny", 192, 12, 3),
    ("small", 384, 12, 6),
    ("medium", 512, 12, 8),
    ("base", 768, 12, 12),
    ("large", 1024, 24, 16),
    ("huge", 1280, 32, 16),
    ("gigantic", 1664, 48, 16),
];

/// Tags of architectures we do not run, and what each would need.
const REFUSED_TAGS: [(&str, &str); 7] = [
    ("clip", "CLIP's LayerNorm before the blocks (norm_pre)"),
    ("quickgelu", "QuickGELU activations"),
    ("siglip", "SigLIP's attention-pool head and no class token"),
    ("rope", "rotary position embeddings"),
    ("rpn", "a residual post-norm"),
    ("xp", "a different block layout"),
    ("miil", "a different preprocessing and head"),
];

/// Families that are not timm's `VisionTransformer`, for a clear refusal.
const OTHER_FAMILIES: [&str; 14] = [
    "deit3", "eva", "eva02", "beit", "beitv2", "swin", "swinv2", "xcit", "cait", "levit", "pit",
    "convit", "crossvit", "twins",
];

impl TimmName {
    /// Reads `name` (a pretrained tag after `.` is ignored).
    pub fn parse(name: &str) -> Result<Self, ModelError> {
        let arch = name.split('.').next().unwrap_or(name);
        let refuse = |why: String| Err(ModelError::Config(format!("architecture {arch:?}: {why}")));
        let mut parts = arch.split('_');
        let family = parts.next().unwrap_or_default();
        if OTHER_FAMILIES.contains(&family) {
            return refuse(format!(
                "{family} is not a plain VisionTransformer; BPT Lab runs timm's vit_* and deit_* \
                 models"
            ));
        }
        if family != "vit" && family != "deit" {
            return refuse("not a timm VisionTransformer (vit_* or deit_*)".into());
        }
        let size = parts.next().unwrap_or_default();
        let mut patch = None;
        let mut side = None;
        let mut dinov2 = false;
        let mut distilled = false;
        let mut registers = 0;
        let mut gap = false;
        for tag in parts {
            if let Some(p) = tag.strip_prefix("patch").and_then(|p| p.parse().ok()) {
                patch = Some(p);
            } else if let Ok(n) = tag.parse::<usize>() {
                side = Some(n);
            } else if tag == "dinov2" {
                dinov2 = true;
            } else if let Some(n) = tag.strip_prefix("reg").and_then(|n| n.parse().ok()) {
                registers = n;
            } else if tag == "distilled" {
                distilled = true;
            } else if tag == "gap" {
                gap = true;
            } else if let Some((_, what)) = REFUSED_TAGS.iter().find(|(t, _)| *t == tag) {
                return refuse(format!("{what} ({tag}) is not supported yet"));
            } else {
                return refuse(format!("the tag {tag:?} is not one we can read"));
            }
        }
        if dinov2 && size == "giant" {
            return refuse("DINOv2 giant's SwiGLU MLP is not supported".into());
        }
        let dims = SIZES
            .iter()
            .find(|s| s.0 == size)
            .map(|&(_, embed_dim, depth, num_heads)| Dims {
                embed_dim,
                depth,
                num_heads,
            });
        let Some(patch_size) = patch else {
            return refuse("the name has no patch size (patchN)".into());
        };
        let img_size = match (side, dinov2) {
            (Some(n), _) => n,
            (None, true) => 518,
            (None, false) => return refuse("the name has no image size".into()),
        };
        Ok(Self {
            dims,
            patch_size,
            img_size,
            layer_scale: dinov2,
            dist_token: distilled,
            reg_tokens: registers,
            // timm's models with registers keep no position rows for their prefix tokens.
            no_embed_class: registers > 0,
            gap,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(name: &str) -> (usize, usize, usize, usize, usize, bool) {
        let n = TimmName::parse(name).unwrap();
        let d = n.dims.unwrap();
        (
            d.embed_dim,
            d.depth,
            d.num_heads,
            n.patch_size,
            n.img_size,
            n.layer_scale,
        )
    }

    #[test]
    fn reads_sizes_patches_and_sides_from_hub_names() {
        assert_eq!(
            parsed("vit_small_patch16_224.augreg_in21k"),
            (384, 12, 6, 16, 224, false)
        );
        assert_eq!(
            parsed("vit_small_patch16_384.augreg_in21k_ft_in1k"),
            (384, 12, 6, 16, 384, false)
        );
        assert_eq!(parsed("vit_base_patch8_224"), (768, 12, 12, 8, 224, false));
        assert_eq!(
            parsed("vit_base_patch32_224"),
            (768, 12, 12, 32, 224, false)
        );
        assert_eq!(
            parsed("vit_large_patch16_224.mae"),
            (1024, 24, 16, 16, 224, false)
        );
        assert_eq!(
            parsed("vit_huge_patch14_224.mae"),
            (1280, 32, 16, 14, 224, false)
        );
        assert_eq!(
            parsed("vit_medium_patch16_256"),
            (512, 12, 8, 16, 256, false)
        );
        assert_eq!(
            parsed("deit_small_patch16_224.fb_in1k"),
            (384, 12, 6, 16, 224, false)
        );
        assert_eq!(
            parsed("vit_small_patch14_dinov2.lvd142m"),
            (384, 12, 6, 14, 518, true)
        );
        assert_eq!(
            parsed("vit_large_patch14_dinov2"),
            (1024, 24, 16, 14, 518, true)
        );
    }

    #[test]
    fn reads_registers_and_the_distillation_token() {
        let n = TimmName::parse("vit_small_patch14_reg4_dinov2.lvd142m").unwrap();
        assert_eq!(
            (n.reg_tokens, n.no_embed_class, n.dist_token),
            (4, true, false)
        );
        let n = TimmName::parse("deit_small_distilled_patch16_224.fb_in1k").unwrap();
        assert_eq!(
            (n.reg_tokens, n.no_embed_class, n.dist_token),
            (0, false, true)
        );
        let n = TimmName::parse("vit_medium_patch16_gap_256").unwrap();
        assert!(n.gap && !n.no_embed_class);
    }

    #[test]
    fn refuses_what_we_do_not_run_by_name() {
        for (name, says) in [
            ("vit_base_patch16_clip_224.openai", "norm_pre"),
            ("vit_base_patch16_clip_quickgelu_224", "norm_pre"),
            ("vit_base_patch16_siglip_224", "SigLIP"),
            ("vit_giant_patch14_dinov2", "SwiGLU"),
            ("eva02_base_patch14_224", "not a plain VisionTransformer"),
            (
                "swin_tiny_patch4_window7_224",
                "not a plain VisionTransformer",
            ),
            ("resnet50.a1_in1k", "not a timm VisionTransformer"),
            ("vit_base_patch16_fancy_224", "the tag \"fancy\""),
            ("vit_base_224", "no patch size"),
            ("vit_base_patch16", "no image size"),
        ] {
            let err = TimmName::parse(name).unwrap_err().to_string();
            assert!(err.contains(says), "{name}: {err}");
            assert!(
                err.contains(name.split('.').next().unwrap()),
                "{name}: {err}"
            );
        }
    }
}
