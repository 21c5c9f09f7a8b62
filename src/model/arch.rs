//! The architecture as the weights state it (their key layout, names and shapes), and the
//! config checked against it.
//!
//! A checkpoint's tensors fix the width, the depth, the patch (the convolution's kernel), the
//! input channels, the MLP's width, whether the attention has biases and the blocks LayerScale,
//! the prefix tokens (class, distillation, registers), and the position table's rows. The
//! config (or the timm name behind it) adds what the weights cannot say: the number of heads,
//! the activation, the LayerNorm epsilon and the pooling. Where the two disagree the error names
//! both values, for every field that disagrees, before any tensor is placed.

use super::checkpoint::Checkpoint;
use super::layout::{Layout, Part};
use super::{ModelError, VitConfig};

/// What the tensors say. Each field is read from one tensor's name or shape, named in `sources`.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightsArch {
    pub layout: Layout,
    pub embed_dim: usize,
    pub in_chans: usize,
    pub patch_size: usize,
    pub depth: usize,
    pub mlp_hidden: usize,
    pub qkv_bias: bool,
    pub layer_scale: bool,
    pub class_token: bool,
    pub dist_token: bool,
    pub reg_tokens: usize,
    /// Rows of the position table.
    pub pos_rows: usize,
    /// For each field above, the tensor it was read from, as the errors name it.
    pub sources: Sources,
}

/// The tensors (name and shape) behind [`WeightsArch`]'s fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Sources {
    pub patch: String,
    pub depth: String,
    pub mlp: String,
    pub qkv_bias: String,
    pub layer_scale: String,
    pub class_token: String,
    pub dist_token: String,
    pub reg_tokens: String,
    pub pos: String,
}

impl WeightsArch {
    /// Reads the architecture from the checkpoint's names and shapes (no values are read).
    pub fn read(ck: &Checkpoint) -> Result<Self, ModelError> {
        let (layout, prefix) = detect(ck)?;
        let key = |part: Part, block: usize| {
            layout
                .name(part, block)
                .map(|name| format!("{prefix}{name}"))
        };
        let shape = |name: &str| ck.get(name).map(|t| t.shape.clone());
        let required =
            |name: String| shape(&name).ok_or_else(|| ModelError::Missing(vec![name.clone()]));
        let patch_name = format!("{}.weight", key(Part::PatchEmbed, 0).expect("every layout"));
        let patch = required(patch_name.clone())?;
        let [embed_dim, in_chans, kh, kw] = patch[..] else {
            return Err(ModelError::Checkpoint(format!(
                "{patch_name} has shape {patch:?}; a patch embedding is [width, channels, k, k]"
            )));
        };
        if kh != kw {
            return Err(ModelError::Checkpoint(format!(
                "{patch_name} has a {kh}x{kw} kernel: only square patches are supported"
            )));
        }
        let norm1 = |block: usize| {
            let name = format!("{}.weight", key(Part::Norm1, block).expect("every layout"));
            ck.contains(&name)
        };
        let depth = (0..).take_while(|&i| norm1(i)).count();
        if depth == 0 {
            return Err(ModelError::Missing(vec![format!(
                "{}.weight",
                key(Part::Norm1, 0).expect("every layout")
            )]));
        }
        let fc1_name = format!("{}.weight", key(Part::Fc1, 0).expect("every layout"));
        let fc1 = required(fc1_name.clone())?;
        let bias_of =
            |part: Part| key(part, 0).is_some_and(|name| ck.contains(&format!("{name}.bias")));
        let qkv_bias = bias_of(Part::Qkv) || bias_of(Part::Query);
        let bias_name = key(Part::Qkv, 0)
            .or_else(|| key(Part::Query, 0))
            .map(|n| format!("{n}.bias"))
            .unwrap_or_default();
        let ls1 = key(Part::Ls1, 0);
        let layer_scale = ls1.as_ref().is_some_and(|name| ck.contains(name));
        let cls_name = key(Part::ClsToken, 0).expect("every layout");
        let class_token = ck.contains(&cls_name);
        let dist_name = key(Part::DistToken, 0);
        let dist_token = dist_name.as_ref().is_some_and(|name| ck.contains(name));
        let reg_name = key(Part::RegTokens, 0);
        let reg_shape = reg_name.as_ref().and_then(|name| shape(name));
        let reg_tokens = match reg_shape.as_deref() {
            None => 0,
            Some([1, n, dd]) if *dd == embed_dim => *n,
            Some(other) => {
                return Err(ModelError::Checkpoint(format!(
                    "{} has shape {other:?}; [1, registers, {embed_dim}] expected",
                    reg_name.unwrap_or_default()
                )));
            }
        };
        let present =
            |name: &str, here: bool| format!("{name} {}", if here { "present" } else { "absent" });
        let last_block = format!(
            "{}.weight",
            key(Part::Norm1, depth - 1).expect("every layout")
        );
        let pos_name = key(Part::PosEmbed, 0).expect("every layout");
        let pos = required(pos_name.clone())?;
        let pos_rows = match pos[..] {
            [1, rows, d] if d == embed_dim => rows,
            _ => {
                return Err(ModelError::Checkpoint(format!(
                    "the position table has shape {pos:?}; [1, tokens, {embed_dim}] expected"
                )));
            }
        };
        Ok(Self {
            layout,
            embed_dim,
            in_chans,
            patch_size: kh,
            depth,
            mlp_hidden: fc1.first().copied().unwrap_or_default(),
            qkv_bias,
            layer_scale,
            class_token,
            dist_token,
            reg_tokens,
            pos_rows,
            sources: Sources {
                patch: format!("{patch_name} {patch:?}"),
                depth: format!("the last block's {last_block}"),
                mlp: format!("{fc1_name} {fc1:?}"),
                qkv_bias: present(&bias_name, qkv_bias),
                layer_scale: match ls1 {
                    Some(name) => present(&name, layer_scale),
                    None => format!("{layout:?} checkpoints have no LayerScale"),
                },
                class_token: present(&cls_name, class_token),
                dist_token: match dist_name {
                    Some(name) => present(&name, dist_token),
                    None => format!("{layout:?} checkpoints have none"),
                },
                reg_tokens: match (reg_name, reg_shape) {
                    (Some(name), Some(shape)) => format!("{name} {shape:?}"),
                    (Some(name), None) => present(&name, false),
                    (None, _) => format!("{layout:?} checkpoints have none"),
                },
                pos: format!("{pos_name} {pos:?}"),
            },
        })
    }
}

/// Finds the key layout and the key prefix: an HF layout from the class token's key, timm's from
/// the patch embedding's.
pub fn detect(ck: &Checkpoint) -> Result<(Layout, String), ModelError> {
    let hf_marker = Layout::HfVit4
        .name(Part::ClsToken, 0)
        .expect("HF has a class token");
    let timm_marker = format!("{}.weight", Layout::Timm.name(Part::PatchEmbed, 0).unwrap());
    for name in ck.names() {
        if let Some(prefix) = name.strip_suffix(&hf_marker) {
            return Ok((hf_layout(ck, prefix), prefix.to_string()));
        }
        if let Some(prefix) = name.strip_suffix(&timm_marker) {
            return Ok((Layout::Timm, prefix.to_string()));
        }
    }
    Err(ModelError::Checkpoint(
        "no ViT found: expected a timm key like patch_embed.proj.weight or an HF key like \
         embeddings.cls_token"
            .into(),
    ))
}

/// The HF layout whose first block's norm and query projection the checkpoint has; failing
/// that, the first whose norm it has (the loader then names what is missing), else ViTModel's.
fn hf_layout(ck: &Checkpoint, prefix: &str) -> Layout {
    let has = |layout: Layout, part: Part| {
        layout
            .name(part, 0)
            .is_some_and(|name| ck.contains(&format!("{prefix}{name}.weight")))
    };
    let hf = Layout::ALL.into_iter().filter(|l| *l != Layout::Timm);
    hf.clone()
        .find(|l| has(*l, Part::Norm1) && has(*l, Part::Query))
        .or_else(|| hf.clone().find(|l| has(*l, Part::Norm1)))
        .unwrap_or(Layout::HfVit4)
}

impl VitConfig {
    /// This config with the fields it leaves to the weights
    /// ([`super::config::WeightsDecide`]) taken from them; every other field stays as stated,
    /// for [`Self::check_against`] to compare.
    pub fn resolve(mut self, w: &WeightsArch) -> Self {
        let decide = std::mem::take(&mut self.weights_decide);
        if decide.qkv_bias {
            self.qkv_bias = w.qkv_bias;
        }
        if decide.layer_scale {
            self.layer_scale = w.layer_scale;
        }
        if decide.mlp_width && w.embed_dim > 0 {
            self.mlp_ratio = w.mlp_hidden as f64 / w.embed_dim as f64;
        }
        self
    }

    /// Every field where this config and the weights disagree, named with both values; `Ok`
    /// when they agree.
    pub fn check_against(&self, w: &WeightsArch) -> Result<(), ModelError> {
        let src = &w.sources;
        let text = |v: &dyn ToString| v.to_string();
        #[rustfmt::skip]
        let mut rows = vec![
            ("embed_dim", text(&self.embed_dim), text(&w.embed_dim), &src.patch),
            ("depth (blocks)", text(&self.depth), text(&w.depth), &src.depth),
            ("patch_size", text(&self.patch_size), text(&w.patch_size), &src.patch),
            ("in_chans", text(&self.in_chans), text(&w.in_chans), &src.patch),
            ("qkv_bias", text(&self.qkv_bias), text(&w.qkv_bias), &src.qkv_bias),
            ("LayerScale", text(&self.layer_scale), text(&w.layer_scale), &src.layer_scale),
            ("class token", text(&self.class_token), text(&w.class_token), &src.class_token),
            ("distillation token", text(&self.dist_token), text(&w.dist_token), &src.dist_token),
            ("register tokens", text(&self.reg_tokens), text(&w.reg_tokens), &src.reg_tokens),
        ];
        if self.embed_dim == w.embed_dim {
            rows.push((
                "MLP width",
                text(&self.mlp_hidden()),
                text(&w.mlp_hidden),
                &src.mlp,
            ));
        }
        let mut disagree: Vec<String> = rows
            .into_iter()
            .filter(|(_, config, weights, _)| config != weights)
            .map(|(name, config, weights, source)| {
                format!("{name}: the config says {config}, the weights {weights} ({source})")
            })
            .collect();
        let same_prefix = (self.class_token, self.dist_token) == (w.class_token, w.dist_token);
        if self.patch_size == w.patch_size && same_prefix {
            let prefix = self.pos_prefix();
            let grid = self.grid(self.img_size);
            let rows = prefix + grid * grid;
            if rows != w.pos_rows {
                let weights = match square_side(w.pos_rows.saturating_sub(prefix)) {
                    Some(side) => format!("a {side}x{side} grid ({} px)", side * w.patch_size),
                    None => format!("{} rows, not {prefix} + a square grid", w.pos_rows),
                };
                let no_embed_class = prefix > 0 && square_side(w.pos_rows).is_some();
                disagree.push(format!(
                    "position table: the config says a {grid}x{grid} grid ({} px), the weights \
                     {weights} ({}){}",
                    self.img_size,
                    w.sources.pos,
                    if no_embed_class {
                        "; the table has no rows for the prefix tokens: timm says so with \
                         \"no_embed_class\": true in model_args"
                    } else {
                        ""
                    }
                ));
            }
        }
        if disagree.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Config(format!(
                "the config and the weights disagree: {}",
                disagree.join("; ")
            )))
        }
    }
}

/// The side of a square grid of `n` cells, if `n` is a positive square.
fn square_side(n: usize) -> Option<usize> {
    let side = (n as f64).sqrt().round() as usize;
    (n > 0 && side * side == n).then_some(side)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::random::random_timm_tensors;

    fn tiny() -> VitConfig {
        VitConfig::from_json(
            r#"{"img_size":32,"patch_size":8,"embed_dim":48,"depth":2,"num_heads":3,
                "init_values":0.1}"#,
        )
        .unwrap()
    }

    #[test]
    fn reads_the_architecture_from_the_tensors() {
        let c = tiny();
        let ck = Checkpoint::from_tensors(random_timm_tensors(&c, 1, 0.02));
        let w = WeightsArch::read(&ck).unwrap();
        assert_eq!(
            (w.embed_dim, w.in_chans, w.patch_size, w.depth, w.mlp_hidden),
            (48, 3, 8, 2, 192)
        );
        assert!(w.qkv_bias && w.layer_scale && w.class_token);
        assert_eq!(w.pos_rows, 1 + 16);
        c.check_against(&w).unwrap();
    }

    #[test]
    fn every_disagreement_is_named_with_both_values() {
        let c = tiny();
        let w =
            WeightsArch::read(&Checkpoint::from_tensors(random_timm_tensors(&c, 1, 0.02))).unwrap();
        let other = VitConfig {
            embed_dim: 96,
            depth: 3,
            layer_scale: false,
            ..c.clone()
        };
        let err = other.check_against(&w).unwrap_err().to_string();
        for says in [
            "embed_dim: the config says 96, the weights 48 (patch_embed.proj.weight [48, 3, 8, 8])",
            "depth (blocks): the config says 3, the weights 2",
            "LayerScale: the config says false, the weights true",
        ] {
            assert!(err.contains(says), "{err}");
        }
        let bigger = VitConfig {
            img_size: 64,
            ..c.clone()
        };
        let err = bigger.check_against(&w).unwrap_err().to_string();
        assert!(
            err.contains("the config says a 8x8 grid (64 px), the weights a 4x4 grid (32 px)"),
            "{err}"
        );
    }

    #[test]
    fn what_a_name_cannot_say_is_taken_from_the_weights() {
        // Weights without qkv biases, with LayerScale and an MLP of twice the width.
        let weights = VitConfig {
            qkv_bias: false,
            layer_scale: true,
            mlp_ratio: 2.0,
            ..tiny()
        };
        let w = WeightsArch::read(&Checkpoint::from_tensors(random_timm_tensors(
            &weights, 1, 0.02,
        )))
        .unwrap();
        // A Hub config naming the architecture, shrunk through model_args.
        let named = VitConfig::from_json(
            r#"{"architecture":"vit_medium_patch16_gap_256","model_args":{"img_size":32,
                "patch_size":8,"embed_dim":48,"depth":2,"num_heads":3,"class_token":true,
                "global_pool":"token"}}"#,
        )
        .unwrap();
        assert!(named.check_against(&w).is_err());
        let resolved = named.resolve(&w);
        resolved.check_against(&w).unwrap();
        assert_eq!(
            (
                resolved.qkv_bias,
                resolved.layer_scale,
                resolved.mlp_hidden()
            ),
            (false, true, 96)
        );
        // What a config states stays stated, and a disagreement is still named.
        let stated = VitConfig::from_json(
            r#"{"architecture":"vit_medium_patch16_gap_256","model_args":{"img_size":32,
                "patch_size":8,"embed_dim":48,"depth":2,"num_heads":3,"class_token":true,
                "global_pool":"token","qkv_bias":true}}"#,
        )
        .unwrap();
        let err = stated
            .resolve(&w)
            .check_against(&w)
            .unwrap_err()
            .to_string();
        assert!(err.contains("qkv_bias: the config says true"), "{err}");
    }

    #[test]
    fn a_table_without_the_class_token_row_is_named() {
        let c = tiny();
        let mut tensors = random_timm_tensors(&c, 1, 0.02);
        let pos = tensors.get_mut("pos_embed").unwrap();
        pos.shape = vec![1, 16, 48];
        pos.data.truncate(16 * 48);
        let w = WeightsArch::read(&Checkpoint::from_tensors(tensors)).unwrap();
        let err = c.check_against(&w).unwrap_err().to_string();
        assert!(err.contains("no_embed_class"), "{err}");
    }
}
