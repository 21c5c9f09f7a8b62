//! The checkpoint key layouts we read, as one table: for each part of the backbone (the patch
//! embedding, a block's first norm, its MLP's second linear, ...) its key in timm, in HF ViTModel
//! and in HF Dinov2Model, each as transformers 4 and 5 write them.
//!
//! The loader finds every tensor through [`Layout::name`], and the tests that turn a timm
//! checkpoint into an HF one rename through it too, so a layout is described once. transformers 5
//! renamed the attention projections (`attention.attention.query` -> `attention.q_proj`,
//! `attention.output.dense` -> `attention.o_proj`) in both models, and in ViTModel also the blocks
//! (`encoder.layer.N` -> `layers.N`) and the MLP (`intermediate.dense`, `output.dense` ->
//! `mlp.fc1`, `mlp.fc2`).

/// A checkpoint's key layout: a naming scheme as one library version writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// timm's VisionTransformer: `blocks.N.attn.qkv`, fused query/key/value.
    Timm,
    /// HF ViTModel up to transformers 4: `encoder.layer.N.attention.attention.query`.
    HfVit4,
    /// HF ViTModel from transformers 5: `layers.N.attention.q_proj`, `layers.N.mlp.fc1`.
    HfVit5,
    /// HF Dinov2Model up to transformers 4: `encoder.layer.N.attention.attention.query`.
    HfDinov2_4,
    /// HF Dinov2Model from transformers 5: `encoder.layer.N.attention.q_proj`.
    HfDinov2_5,
}

/// The naming family of a layout, whatever the library version: what the page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    Timm,
    HfVit,
    HfDinov2,
}

/// A tensor, or a layer's `weight`/`bias` pair, by its role in the backbone. The first eleven are
/// the backbone's own; the rest repeat in every block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The patch embedding convolution (a layer).
    PatchEmbed,
    /// The class token (a tensor).
    ClsToken,
    /// DeiT's distillation token (a tensor).
    DistToken,
    /// Register tokens (a tensor, [1, R, D]).
    RegTokens,
    /// The position embeddings (a tensor).
    PosEmbed,
    /// HF's masked-image-modelling token, unused here (a tensor).
    MaskToken,
    /// The final LayerNorm.
    Norm,
    /// timm's LayerNorm after mean pooling.
    FcNorm,
    /// The classifier (a layer; HF keeps it beside the prefixed backbone).
    Head,
    /// DeiT's distillation head (a layer).
    HeadDist,
    /// HF ViTModel's pooler (a layer), saved with the backbone and unused by prompt tuning.
    Pooler,
    /// The LayerNorm before attention.
    Norm1,
    /// timm's fused query/key/value projection, [3D, D].
    Qkv,
    /// HF's query projection.
    Query,
    /// HF's key projection.
    Key,
    /// HF's value projection.
    Value,
    /// The attention output projection.
    AttnProj,
    /// The LayerNorm before the MLP.
    Norm2,
    /// The MLP's first linear layer.
    Fc1,
    /// The MLP's second linear layer.
    Fc2,
    /// The LayerScale after attention (a tensor).
    Ls1,
    /// The LayerScale after the MLP (a tensor).
    Ls2,
}

impl Layout {
    /// Every layout, in the order of the columns of [`NAMES`].
    pub const ALL: [Layout; 5] = [
        Layout::Timm,
        Layout::HfVit4,
        Layout::HfVit5,
        Layout::HfDinov2_4,
        Layout::HfDinov2_5,
    ];

    pub fn naming(self) -> Naming {
        match self {
            Layout::Timm => Naming::Timm,
            Layout::HfVit4 | Layout::HfVit5 => Naming::HfVit,
            Layout::HfDinov2_4 | Layout::HfDinov2_5 => Naming::HfDinov2,
        }
    }

    /// The key of `part` in this layout, without the checkpoint's prefix (`vit.`, `backbone.`);
    /// for a layer, the stem its `.weight` and `.bias` hang off. `block` is the block index of a
    /// per-block part and is not used for the others. `None`: the layout has no such tensor.
    pub fn name(self, part: Part, block: usize) -> Option<String> {
        let column = self as usize;
        let name = NAMES
            .iter()
            .find(|(p, _)| *p == part)
            .expect("every part has a row")
            .1[column]?;
        Some(if part.in_block() {
            format!("{}.{block}.{name}", BLOCKS[column])
        } else {
            name.to_string()
        })
    }
}

impl Part {
    /// Every part, in the order of the rows of [`NAMES`].
    pub const ALL: [Part; 22] = [
        Part::PatchEmbed,
        Part::ClsToken,
        Part::DistToken,
        Part::RegTokens,
        Part::PosEmbed,
        Part::MaskToken,
        Part::Norm,
        Part::FcNorm,
        Part::Head,
        Part::HeadDist,
        Part::Pooler,
        Part::Norm1,
        Part::Qkv,
        Part::Query,
        Part::Key,
        Part::Value,
        Part::AttnProj,
        Part::Norm2,
        Part::Fc1,
        Part::Fc2,
        Part::Ls1,
        Part::Ls2,
    ];

    /// Whether the part repeats in every block (its key then starts with the block's).
    pub fn in_block(self) -> bool {
        self as usize >= Part::Norm1 as usize
    }
}

/// Where each layout keeps block N: `{BLOCKS[layout]}.N.`.
const BLOCKS: [&str; 5] = [
    "blocks",
    "encoder.layer",
    "layers",
    "encoder.layer",
    "encoder.layer",
];

/// Each part's key per layout, the columns in [`Layout::ALL`] order: timm, HF ViT 4, HF ViT 5,
/// HF Dinov2 4, HF Dinov2 5. Per-block keys are relative to the block's.
#[rustfmt::skip]
const NAMES: [(Part, [Option<&str>; 5]); 22] = {
    const PATCH: Option<&str> = Some("embeddings.patch_embeddings.projection");
    const CLS: Option<&str> = Some("embeddings.cls_token");
    const POS: Option<&str> = Some("embeddings.position_embeddings");
    const MASK: Option<&str> = Some("embeddings.mask_token");
    const REG: Option<&str> = Some("embeddings.register_tokens");
    const QUERY: Option<&str> = Some("attention.attention.query");
    const KEY: Option<&str> = Some("attention.attention.key");
    const VALUE: Option<&str> = Some("attention.attention.value");
    const OUT: Option<&str> = Some("attention.output.dense");
    const Q_PROJ: Option<&str> = Some("attention.q_proj");
    const K_PROJ: Option<&str> = Some("attention.k_proj");
    const V_PROJ: Option<&str> = Some("attention.v_proj");
    const O_PROJ: Option<&str> = Some("attention.o_proj");
    const FC1: Option<&str> = Some("mlp.fc1");
    const FC2: Option<&str> = Some("mlp.fc2");
    const LN: Option<&str> = Some("layernorm");
    const HEAD: Option<&str> = Some("classifier");
    const POOLER: Option<&str> = Some("pooler.dense");
    const LN_BEFORE: Option<&str> = Some("layernorm_before");
    const LN_AFTER: Option<&str> = Some("layernorm_after");
    const NORM1: Option<&str> = Some("norm1");
    const NORM2: Option<&str> = Some("norm2");
    const LAMBDA1: Option<&str> = Some("layer_scale1.lambda1");
    const LAMBDA2: Option<&str> = Some("layer_scale2.lambda1");
    //                     timm                      HF ViT 4                    HF ViT 5   HF Dinov2 4  HF Dinov2 5
    [
        (Part::PatchEmbed, [Some("patch_embed.proj"), PATCH,                      PATCH,     PATCH,       PATCH]),
        (Part::ClsToken,   [Some("cls_token"),        CLS,                        CLS,       CLS,         CLS]),
        (Part::DistToken,  [Some("dist_token"),       None,                       None,      None,        None]),
        (Part::RegTokens,  [Some("reg_token"),        None,                       None,      REG,         REG]),
        (Part::PosEmbed,   [Some("pos_embed"),        POS,                        POS,       POS,         POS]),
        (Part::MaskToken,  [None,                     MASK,                       MASK,      MASK,        MASK]),
        (Part::Norm,       [Some("norm"),             LN,                         LN,        LN,          LN]),
        (Part::FcNorm,     [Some("fc_norm"),          None,                       None,      None,        None]),
        (Part::Head,       [Some("head"),             HEAD,                       HEAD,      HEAD,        HEAD]),
        (Part::HeadDist,   [Some("head_dist"),        None,                       None,      None,        None]),
        (Part::Pooler,     [None,                     POOLER,                     POOLER,    None,        None]),
        (Part::Norm1,      [NORM1,                    LN_BEFORE,                  LN_BEFORE, NORM1,       NORM1]),
        (Part::Qkv,        [Some("attn.qkv"),         None,                       None,      None,        None]),
        (Part::Query,      [None,                     QUERY,                      Q_PROJ,    QUERY,       Q_PROJ]),
        (Part::Key,        [None,                     KEY,                        K_PROJ,    KEY,         K_PROJ]),
        (Part::Value,      [None,                     VALUE,                      V_PROJ,    VALUE,       V_PROJ]),
        (Part::AttnProj,   [Some("attn.proj"),        OUT,                        O_PROJ,    OUT,         O_PROJ]),
        (Part::Norm2,      [NORM2,                    LN_AFTER,                   LN_AFTER,  NORM2,       NORM2]),
        (Part::Fc1,        [FC1,                      Some("intermediate.dense"), FC1,       FC1,         FC1]),
        (Part::Fc2,        [FC2,                      Some("output.dense"),       FC2,       FC2,         FC2]),
        (Part::Ls1,        [Some("ls1.gamma"),        None,                       None,      LAMBDA1,     LAMBDA1]),
        (Part::Ls2,        [Some("ls2.gamma"),        None,                       None,      LAMBDA2,     LAMBDA2]),
    ]
};

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_table_has_one_row_per_part_in_order() {
        for (row, part) in Part::ALL.iter().enumerate() {
            assert_eq!(NAMES[row].0, *part);
            assert_eq!(*part as usize, row);
        }
        for (column, layout) in Layout::ALL.iter().enumerate() {
            assert_eq!(*layout as usize, column);
        }
    }

    #[test]
    fn every_part_has_a_distinct_name_in_each_layout() {
        for layout in Layout::ALL {
            let names: Vec<String> = Part::ALL
                .iter()
                .filter_map(|&part| layout.name(part, 0))
                .collect();
            let distinct: BTreeSet<&String> = names.iter().collect();
            assert_eq!(distinct.len(), names.len(), "{layout:?}: {names:?}");
            // No key is another's `.weight`/`.bias` either, nor a prefix that would shadow it.
            for a in &names {
                for b in &names {
                    assert!(
                        a == b || !b.starts_with(&format!("{a}.")),
                        "{layout:?}: {a} {b}"
                    );
                }
            }
            // Every layout can build the model: the patch embedding, the position table, the
            // norms, the MLP and either a fused or three separate attention projections.
            for part in [
                Part::PatchEmbed,
                Part::ClsToken,
                Part::PosEmbed,
                Part::Norm,
                Part::Head,
                Part::Norm1,
                Part::AttnProj,
                Part::Norm2,
                Part::Fc1,
                Part::Fc2,
            ] {
                assert!(layout.name(part, 0).is_some(), "{layout:?} {part:?}");
            }
            let separate = [Part::Query, Part::Key, Part::Value].map(|p| layout.name(p, 0));
            let fused = layout.name(Part::Qkv, 0);
            assert!(
                fused.is_some() != separate.iter().all(Option::is_some),
                "{layout:?}"
            );
        }
    }

    #[test]
    fn transformers_5_keeps_attention_output_and_mlp_apart() {
        // A rename by string replacement once turned `attention.output.dense` into
        // `attention.mlp.fc2`.
        let out = Layout::HfVit5.name(Part::AttnProj, 3).unwrap();
        let fc2 = Layout::HfVit5.name(Part::Fc2, 3).unwrap();
        assert_eq!(out, "layers.3.attention.o_proj");
        assert_eq!(fc2, "layers.3.mlp.fc2");
        assert_eq!(
            Layout::HfVit4.name(Part::AttnProj, 3).unwrap(),
            "encoder.layer.3.attention.output.dense"
        );
        assert_eq!(
            Layout::HfVit4.name(Part::Fc2, 3).unwrap(),
            "encoder.layer.3.output.dense"
        );
    }

    #[test]
    fn top_level_names_ignore_the_block_index() {
        assert_eq!(Layout::Timm.name(Part::PosEmbed, 7).unwrap(), "pos_embed");
        assert_eq!(Layout::HfDinov2_5.name(Part::Norm, 7).unwrap(), "layernorm");
        assert_eq!(Layout::HfDinov2_4.name(Part::FcNorm, 0), None);
    }
}
