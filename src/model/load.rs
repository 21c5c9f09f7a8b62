//! Building the backbone from a checkpoint in timm, HF ViTModel or HF Dinov2Model naming, with
//! or without a prefix (`vit.`, `backbone.`, `dinov2.`, ...).
//!
//! One adapter per naming scheme maps our module tree (timm's names) to the checkpoint's keys;
//! HF's separate query/key/value are stacked into our fused qkv. PyTorch stores linear weights as
//! [out, in] and burn as [in, out], so they are transposed here, on the host, once.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Device, Tensor, TensorData};

use super::checkpoint::{Checkpoint, HostTensor};
use super::vit::{Attention, Block, LayerScale, Mlp, PatchEmbed, Vit};
use super::{ModelError, VitConfig};

/// The key layouts we read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    Timm,
    HfVit,
    HfDinov2,
}

impl Naming {
    /// Whether position embeddings are resampled with antialiasing (timm) or without (HF).
    pub fn antialias(self) -> bool {
        self == Naming::Timm
    }
}

/// Finds the naming scheme and the key prefix from the class token's key.
pub fn detect(ck: &Checkpoint) -> Result<(Naming, String), ModelError> {
    for name in ck.names() {
        if let Some(prefix) = name.strip_suffix("embeddings.cls_token") {
            let naming = if ck.contains(&format!("{prefix}encoder.layer.0.norm1.weight")) {
                Naming::HfDinov2
            } else {
                Naming::HfVit
            };
            return Ok((naming, prefix.to_string()));
        }
        if let Some(prefix) = name.strip_suffix("patch_embed.proj.weight") {
            return Ok((Naming::Timm, prefix.to_string()));
        }
    }
    Err(ModelError::Checkpoint(
        "no ViT found: expected a timm key like patch_embed.proj.weight or an HF key like \
         embeddings.cls_token"
            .into(),
    ))
}

/// What the loader returns besides the module: the position table kept on the host for
/// resampling, and how to resample it.
pub struct Loaded {
    pub vit: Vit,
    /// [prefix + grid * grid, D], the prefix row first.
    pub pos_table: HostTensor,
    pub naming: Naming,
}

struct Keys<'a> {
    naming: Naming,
    prefix: &'a str,
    /// transformers 5 moved ViTModel's blocks to `layers.N` and its MLP to `mlp.fc1/fc2`.
    vit_v5: bool,
}

impl Keys<'_> {
    fn top(&self, timm: &str, hf: &str) -> String {
        let name = if self.naming == Naming::Timm {
            timm
        } else {
            hf
        };
        format!("{}{}", self.prefix, name)
    }

    fn block(&self, i: usize, timm: &str, vit: &str, dinov2: &str) -> String {
        match self.naming {
            Naming::Timm => format!("{}blocks.{i}.{timm}", self.prefix),
            Naming::HfVit if self.vit_v5 => {
                let vit = vit
                    .replace("intermediate.dense", "mlp.fc1")
                    .replace("output.dense", "mlp.fc2");
                format!("{}layers.{i}.{vit}", self.prefix)
            }
            Naming::HfVit => format!("{}encoder.layer.{i}.{vit}", self.prefix),
            Naming::HfDinov2 => format!("{}encoder.layer.{i}.{dinov2}", self.prefix),
        }
    }
}

fn upload<const D: usize>(t: HostTensor, device: &Device) -> Tensor<D> {
    let shape: [usize; D] = t.shape.clone().try_into().expect("rank checked by take()");
    Tensor::from_data(TensorData::new(t.data, shape), device)
}

fn param<const D: usize>(t: HostTensor, device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(upload(t, device))
}

/// A linear layer from a PyTorch [out, in] weight and its bias.
fn linear(weight: HostTensor, bias: Option<HostTensor>, device: &Device) -> Linear {
    Linear {
        weight: param(weight.transposed(), device),
        bias: bias.map(|b| param(b, device)),
    }
}

/// A linear layer stored as `{name}.weight` [out, in] and `{name}.bias` [out].
fn named_linear(
    ck: &mut Checkpoint,
    name: &str,
    [out, inp]: [usize; 2],
    device: &Device,
) -> Result<Linear, ModelError> {
    let weight = ck.take(&format!("{name}.weight"), &[out, inp])?;
    let bias = ck.take(&format!("{name}.bias"), &[out])?;
    Ok(linear(weight, Some(bias), device))
}

/// `renamed` where the checkpoint has `{renamed}.weight` (transformers 5), else `legacy`.
fn renamed_or(ck: &Checkpoint, renamed: String, legacy: String) -> String {
    if ck.contains(&format!("{renamed}.weight")) {
        renamed
    } else {
        legacy
    }
}

fn layer_norm(
    ck: &mut Checkpoint,
    name: &str,
    d: usize,
    eps: f64,
    device: &Device,
) -> Result<LayerNorm, ModelError> {
    let mut norm = LayerNormConfig::new(d).with_epsilon(eps).init(device);
    norm.gamma = param(ck.take(&format!("{name}.weight"), &[d])?, device);
    norm.beta = Some(param(ck.take(&format!("{name}.bias"), &[d])?, device));
    Ok(norm)
}

/// Runs `f` for every required tensor and collects all missing names into one error.
struct Missing(Vec<String>);

impl Missing {
    fn note<T>(&mut self, result: Result<T, ModelError>) -> Result<Option<T>, ModelError> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(ModelError::Missing(names)) => {
                self.0.extend(names);
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }
}

fn attention(
    ck: &mut Checkpoint,
    keys: &Keys,
    i: usize,
    c: &VitConfig,
    device: &Device,
) -> Result<Attention, ModelError> {
    let d = c.embed_dim;
    let (qkv_w, qkv_b) = if keys.naming == Naming::Timm {
        let w = ck.take(&keys.block(i, "attn.qkv.weight", "", ""), &[3 * d, d])?;
        let b = if c.qkv_bias {
            Some(ck.take(&keys.block(i, "attn.qkv.bias", "", ""), &[3 * d])?)
        } else {
            None
        };
        (w, b)
    } else {
        // HF: separate projections; transformers 5 renamed them to q_proj/k_proj/v_proj.
        let mut w = Vec::with_capacity(3 * d * d);
        let mut b = Vec::with_capacity(3 * d);
        for (old, new) in [("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj")] {
            let legacy = keys.block(
                i,
                "",
                &format!("attention.attention.{old}"),
                &format!("attention.attention.{old}"),
            );
            let renamed = keys.block(
                i,
                "",
                &format!("attention.{new}"),
                &format!("attention.{new}"),
            );
            let base = renamed_or(ck, renamed, legacy);
            w.extend(ck.take(&format!("{base}.weight"), &[d, d])?.data);
            if c.qkv_bias {
                b.extend(ck.take(&format!("{base}.bias"), &[d])?.data);
            }
        }
        let bias = c.qkv_bias.then(|| HostTensor::new(vec![3 * d], b));
        (HostTensor::new(vec![3 * d, d], w), bias)
    };
    let out = {
        let legacy = keys.block(
            i,
            "attn.proj",
            "attention.output.dense",
            "attention.output.dense",
        );
        let renamed = keys.block(i, "attn.proj", "attention.o_proj", "attention.o_proj");
        renamed_or(ck, renamed, legacy)
    };
    Ok(Attention {
        qkv: linear(qkv_w, qkv_b, device),
        proj: named_linear(ck, &out, [d, d], device)?,
        num_heads: c.num_heads,
    })
}

fn block(
    ck: &mut Checkpoint,
    keys: &Keys,
    i: usize,
    c: &VitConfig,
    device: &Device,
) -> Result<Block, ModelError> {
    let (d, h) = (c.embed_dim, c.mlp_hidden());
    let eps = c.layer_norm_eps;
    let norm1 = layer_norm(
        ck,
        &keys.block(i, "norm1", "layernorm_before", "norm1"),
        d,
        eps,
        device,
    )?;
    let norm2 = layer_norm(
        ck,
        &keys.block(i, "norm2", "layernorm_after", "norm2"),
        d,
        eps,
        device,
    )?;
    let fc1 = keys.block(i, "mlp.fc1", "intermediate.dense", "mlp.fc1");
    let fc2 = keys.block(i, "mlp.fc2", "output.dense", "mlp.fc2");
    let mlp = Mlp {
        fc1: named_linear(ck, &fc1, [h, d], device)?,
        fc2: named_linear(ck, &fc2, [d, h], device)?,
    };
    let mut scale = |timm: &str, dinov2: &str| -> Result<Option<LayerScale>, ModelError> {
        if !c.layer_scale {
            return Ok(None);
        }
        let gamma = ck.take(&keys.block(i, timm, dinov2, dinov2), &[d])?;
        Ok(Some(LayerScale {
            gamma: param(gamma, device),
        }))
    };
    let ls1 = scale("ls1.gamma", "layer_scale1.lambda1")?;
    let ls2 = scale("ls2.gamma", "layer_scale2.lambda1")?;
    Ok(Block {
        norm1,
        attn: attention(ck, keys, i, c, device)?,
        ls1,
        norm2,
        mlp,
        ls2,
    })
}

/// Builds the backbone described by `config` from `ck`, which must hold exactly its tensors
/// (plus a head when `config.num_classes > 0`, and known unused extras such as `mask_token`).
pub fn load_vit(
    ck: &mut Checkpoint,
    config: &VitConfig,
    device: &Device,
) -> Result<Loaded, ModelError> {
    config.validate()?;
    let (naming, prefix) = detect(ck)?;
    let vit_v5 = naming == Naming::HfVit
        && ck.contains(&format!("{prefix}layers.0.layernorm_before.weight"));
    let keys = Keys {
        naming,
        prefix: &prefix,
        vit_v5,
    };
    let (d, p) = (config.embed_dim, config.patch_size);
    let grid = config.grid(config.img_size);
    let prefix_tokens = usize::from(config.class_token);
    let mut missing = Missing(Vec::new());

    let patch = keys.top("patch_embed.proj", "embeddings.patch_embeddings.projection");
    let mut proj: Conv2d = Conv2dConfig::new([config.in_chans, d], [p, p])
        .with_stride([p, p])
        .init(device);
    if let Some(w) =
        missing.note(ck.take(&format!("{patch}.weight"), &[d, config.in_chans, p, p]))?
    {
        proj.weight = param(w, device);
    }
    proj.bias = missing
        .note(ck.take(&format!("{patch}.bias"), &[d]))?
        .map(|b| param(b, device));

    let cls_token = if config.class_token {
        let cls =
            missing.note(ck.take(&keys.top("cls_token", "embeddings.cls_token"), &[1, 1, d]))?;
        cls.map(|t| param(t, device))
    } else {
        None
    };
    let pos = missing.note(ck.take(
        &keys.top("pos_embed", "embeddings.position_embeddings"),
        &[1, prefix_tokens + grid * grid, d],
    ))?;
    ck.ignore(&format!("{prefix}embeddings.mask_token"));

    let mut blocks = Vec::with_capacity(config.depth);
    for i in 0..config.depth {
        if let Some(b) = missing.note(block(ck, &keys, i, config, device))? {
            blocks.push(b);
        }
    }
    // timm's mean-pooled checkpoints carry `fc_norm` (applied after pooling) and no `norm`.
    let fc_name = keys.top("fc_norm", "fc_norm");
    let fc_norm = if naming == Naming::Timm && ck.contains(&format!("{fc_name}.weight")) {
        missing.note(layer_norm(ck, &fc_name, d, config.layer_norm_eps, device))?
    } else {
        None
    };
    let norm_name = keys.top("norm", "layernorm");
    let norm = if fc_norm.is_some() && !ck.contains(&format!("{norm_name}.weight")) {
        None
    } else {
        missing.note(layer_norm(ck, &norm_name, d, config.layer_norm_eps, device))?
    };
    let head = if config.num_classes > 0 {
        // HF keeps the classifier beside the backbone (`classifier`, not `vit.classifier`).
        let name = if naming != Naming::Timm && ck.contains("classifier.weight") {
            "classifier".to_string()
        } else {
            keys.top("head", "classifier")
        };
        missing.note(named_linear(ck, &name, [config.num_classes, d], device))?
    } else {
        None
    };

    if !missing.0.is_empty() {
        return Err(ModelError::Missing(missing.0));
    }
    let extra = ck.untaken();
    if !extra.is_empty() {
        return Err(ModelError::Unexpected(extra));
    }
    let pos = pos.expect("missing tensors were reported above");
    Ok(Loaded {
        vit: Vit {
            patch_embed: PatchEmbed { proj },
            cls_token,
            blocks,
            norm,
            fc_norm,
            head,
        },
        pos_table: HostTensor::new(vec![prefix_tokens + grid * grid, d], pos.data),
        naming,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::gpu::selfcheck::selfcheck_values;
    use crate::model::Backbone;
    use crate::model::random::random_timm_tensors;
    use crate::model::vit::{Prompts, Trace};

    /// A tiny ViT (16 px, patch 8, width 12, 2 blocks, 3 heads, LayerScale) with random weights.
    fn tiny() -> VitConfig {
        VitConfig::from_json(
            r#"{"img_size":16,"patch_size":8,"embed_dim":12,"depth":2,"num_heads":3,"init_values":0.1}"#,
        )
        .unwrap()
    }

    fn random(shape: &[usize], seed: u32) -> HostTensor {
        let n = shape.iter().product();
        let data = selfcheck_values(n, seed).iter().map(|v| v * 0.3).collect();
        HostTensor::new(shape.to_vec(), data)
    }

    /// The tiny model's tensors under timm names.
    fn timm_tensors(c: &VitConfig) -> BTreeMap<String, HostTensor> {
        random_timm_tensors(c, 1, 0.3)
    }

    /// The same tensors renamed (and qkv split) the way HF Dinov2Model stores them.
    fn as_dinov2(
        timm: &BTreeMap<String, HostTensor>,
        prefix: &str,
    ) -> BTreeMap<String, HostTensor> {
        let mut out = BTreeMap::new();
        for (name, t) in timm {
            let renamed = name
                .replace("cls_token", "embeddings.cls_token")
                .replace("pos_embed", "embeddings.position_embeddings")
                .replace("patch_embed.proj", "embeddings.patch_embeddings.projection")
                .replace("blocks.", "encoder.layer.")
                .replace("attn.proj", "attention.output.dense")
                .replace("ls1.gamma", "layer_scale1.lambda1")
                .replace("ls2.gamma", "layer_scale2.lambda1");
            let renamed = if renamed.starts_with("norm.") {
                renamed.replace("norm.", "layernorm.")
            } else {
                renamed
            };
            if let Some(stem) = renamed
                .strip_suffix(".attn.qkv.weight")
                .or(renamed.strip_suffix(".attn.qkv.bias"))
            {
                let kind = if renamed.ends_with("weight") {
                    "weight"
                } else {
                    "bias"
                };
                let third = t.data.len() / 3;
                for (k, part) in ["query", "key", "value"].iter().enumerate() {
                    let shape = if kind == "weight" {
                        vec![t.shape[1], t.shape[1]]
                    } else {
                        vec![t.shape[0] / 3]
                    };
                    let data = t.data[k * third..(k + 1) * third].to_vec();
                    out.insert(
                        format!("{prefix}{stem}.attention.attention.{part}.{kind}"),
                        HostTensor::new(shape, data),
                    );
                }
            } else {
                out.insert(format!("{prefix}{renamed}"), t.clone());
            }
        }
        out.insert(
            format!("{prefix}embeddings.mask_token"),
            random(&[1, 12], 99),
        );
        out
    }

    fn build(tensors: BTreeMap<String, HostTensor>, c: &VitConfig) -> Result<Loaded, ModelError> {
        load_vit(&mut Checkpoint::from_tensors(tensors), c, &Device::flex())
    }

    fn run(
        loaded: Loaded,
        c: &VitConfig,
        prompts: &Prompts,
        trace: Option<&mut Trace>,
    ) -> Vec<f32> {
        let device = Device::flex();
        let backbone = Backbone::from_loaded(loaded, c.clone());
        let images = Tensor::<4>::from_data(
            TensorData::new(selfcheck_values(2 * 3 * 16 * 24, 7), [2, 3, 16, 24]),
            &device,
        );
        let out = backbone.forward(images, prompts, trace).unwrap();
        pollster::block_on(out.into_data_async())
            .unwrap()
            .try_into_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn timm_and_hf_dinov2_namings_give_the_same_model() {
        let c = tiny();
        let timm = timm_tensors(&c);
        let loaded = build(as_dinov2(&timm, "backbone."), &c).unwrap();
        assert_eq!(loaded.naming, Naming::HfDinov2);
        // timm resamples antialiased, HF not: compare at the trained grid, where neither resamples.
        let device = Device::flex();
        let b_backbone = Backbone::from_loaded(loaded, c.clone());
        let a_backbone = Backbone::from_loaded(build(timm, &c).unwrap(), c.clone());
        let images = Tensor::<4>::from_data(
            TensorData::new(selfcheck_values(3 * 16 * 16, 3), [1, 3, 16, 16]),
            &device,
        );
        let fa = a_backbone
            .forward(images.clone(), &Prompts::None, None)
            .unwrap();
        let fb = b_backbone.forward(images, &Prompts::None, None).unwrap();
        let diff = pollster::block_on((fa - fb).abs().max().into_data_async())
            .unwrap()
            .try_into_vec::<f32>()
            .unwrap()[0];
        assert!(diff < 1e-5, "max difference {diff}");
    }

    #[test]
    fn missing_extra_and_misshapen_tensors_are_named() {
        let c = tiny();
        let mut t = timm_tensors(&c);
        t.remove("blocks.1.mlp.fc2.bias");
        t.remove("norm.weight");
        let err = build(t, &c).err().unwrap().to_string();
        assert!(
            err.contains("blocks.1.mlp.fc2.bias") && err.contains("norm.weight"),
            "{err}"
        );

        let mut t = timm_tensors(&c);
        t.insert("blocks.0.attn.extra".into(), random(&[2], 1));
        let err = build(t, &c).err().unwrap().to_string();
        assert!(err.contains("blocks.0.attn.extra"), "{err}");

        let mut t = timm_tensors(&c);
        t.insert("blocks.0.mlp.fc1.weight".into(), random(&[5, 12], 1));
        let err = build(t, &c).err().unwrap().to_string();
        assert!(
            err.contains("blocks.0.mlp.fc1.weight") && err.contains("[5, 12]"),
            "{err}"
        );
    }

    #[test]
    fn shallow_prompts_follow_the_class_token_and_deep_ones_replace_each_block() {
        let c = tiny();
        let device = Device::flex();
        let m = 4;
        let prompt = |seed| {
            Tensor::<3>::from_data(
                TensorData::new(selfcheck_values(m * 12, seed), [1, m, 12]),
                &device,
            )
        };
        let tokens = 1 + 2 * 3; // class token + a 2x3 grid at 16x24 px
        let mut trace = Trace::default();
        let out = run(
            build(timm_tensors(&c), &c).unwrap(),
            &c,
            &Prompts::Shallow(Box::new(prompt(11))),
            Some(&mut trace),
        );
        assert_eq!(out.len(), 2 * (tokens + m) * 12);
        let first = &trace.block_inputs[0];
        let inserted = first.clone().narrow(1, 1, m).narrow(0, 1, 1);
        let diff = pollster::block_on((inserted - prompt(11)).abs().max().into_data_async())
            .unwrap()
            .try_into_vec::<f32>()
            .unwrap()[0];
        assert_eq!(diff, 0.0);

        let mut trace = Trace::default();
        let deep = Prompts::Deep(vec![prompt(21), prompt(22)]);
        let out = run(
            build(timm_tensors(&c), &c).unwrap(),
            &c,
            &deep,
            Some(&mut trace),
        );
        assert_eq!(out.len(), 2 * (tokens + m) * 12);
        for (i, seed) in [21, 22].into_iter().enumerate() {
            let x = &trace.block_inputs[i];
            assert_eq!(x.dims(), [2, tokens + m, 12]);
            let inserted = x.clone().narrow(1, 1, m).narrow(0, 0, 1);
            let diff = pollster::block_on((inserted - prompt(seed)).abs().max().into_data_async())
                .unwrap()
                .try_into_vec::<f32>()
                .unwrap()[0];
            assert_eq!(diff, 0.0, "block {i}");
        }
    }

    #[test]
    fn deep_prompts_must_cover_every_block() {
        let c = tiny();
        let device = Device::flex();
        let backbone = Backbone::from_loaded(build(timm_tensors(&c), &c).unwrap(), c.clone());
        let images = Tensor::<4>::zeros([1, 3, 16, 16], &device);
        let one = Prompts::Deep(vec![Tensor::<3>::zeros([1, 2, 12], &device)]);
        let err = backbone
            .forward(images.clone(), &one, None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("1 sets for 2 blocks"), "{err}");
        let narrow = Prompts::Shallow(Box::new(Tensor::<3>::zeros([1, 2, 8], &device)));
        assert!(backbone.forward(images.clone(), &narrow, None).is_err());
        let batch3 = Prompts::Shallow(Box::new(Tensor::<3>::zeros([3, 2, 12], &device)));
        assert!(backbone.forward(images.clone(), &batch3, None).is_err());
        let odd = Tensor::<4>::zeros([1, 3, 12, 16], &device);
        assert!(backbone.forward(odd, &Prompts::None, None).is_err());
    }

    #[test]
    fn the_head_reads_the_class_token_or_the_mean_of_the_rest() {
        let device = Device::flex();
        for (pool, json_pool) in [
            (crate::model::Pool::Token, "token"),
            (crate::model::Pool::Avg, "avg"),
        ] {
            let c = VitConfig::from_json(&format!(
                r#"{{"img_size":16,"patch_size":8,"embed_dim":12,"depth":2,"num_heads":3,"init_values":0.1,"num_classes":5,"global_pool":"{json_pool}"}}"#
            ))
            .unwrap();
            let mut t = timm_tensors(&c);
            let (w, b) = (random(&[5, 12], 71), random(&[5], 72));
            t.insert("head.weight".into(), w.clone());
            t.insert("head.bias".into(), b.clone());
            let backbone = Backbone::from_loaded(build(t, &c).unwrap(), c.clone());
            let images = Tensor::<4>::from_data(
                TensorData::new(selfcheck_values(2 * 3 * 16 * 16, 5), [2, 3, 16, 16]),
                &device,
            );
            let tokens = backbone.forward(images, &Prompts::None, None).unwrap();
            let host = pollster::block_on(tokens.clone().into_data_async())
                .unwrap()
                .try_into_vec::<f32>()
                .unwrap();
            let logits = backbone.vit.logits(tokens, c.global_pool).unwrap();
            assert_eq!(c.global_pool, pool);
            let got = pollster::block_on(logits.into_data_async())
                .unwrap()
                .try_into_vec::<f32>()
                .unwrap();
            for img in 0..2 {
                let tok = |i: usize| &host[(img * 5 + i) * 12..][..12];
                let pooled: Vec<f32> = match pool {
                    crate::model::Pool::Token => tok(0).to_vec(),
                    crate::model::Pool::Avg => (0..12)
                        .map(|k| (1..5).map(|i| tok(i)[k]).sum::<f32>() / 4.0)
                        .collect(),
                };
                for class in 0..5 {
                    let expected: f32 = b.data[class]
                        + (0..12)
                            .map(|k| w.data[class * 12 + k] * pooled[k])
                            .sum::<f32>();
                    assert!(
                        (got[img * 5 + class] - expected).abs() < 1e-4,
                        "{pool:?} {img} {class}"
                    );
                }
            }
        }
    }

    #[test]
    fn mean_pooling_averages_before_the_final_norm() {
        // MAE's recipe on a checkpoint with `norm` and no `fc_norm`: average the block outputs
        // (class token excluded), then normalise once; normalising each token first differs.
        let device = Device::flex();
        let c = VitConfig::from_json(
            r#"{"img_size":16,"patch_size":8,"embed_dim":12,"depth":2,"num_heads":3,"global_pool":"avg"}"#,
        )
        .unwrap();
        let backbone = Backbone::from_loaded(build(timm_tensors(&c), &c).unwrap(), c.clone());
        let images = Tensor::<4>::from_data(
            TensorData::new(selfcheck_values(2 * 3 * 16 * 16, 9), [2, 3, 16, 16]),
            &device,
        );
        let pos = backbone.pos_embed(16, 16, &device).unwrap();
        let blocks =
            backbone
                .vit
                .forward_blocks(backbone.vit.embed(images, pos), &Prompts::None, None);
        let read = |t: Tensor<2>| {
            pollster::block_on(t.into_data_async())
                .unwrap()
                .try_into_vec::<f32>()
                .unwrap()
        };
        let got = read(backbone.vit.pooled(blocks.clone(), crate::model::Pool::Avg));
        let mean = blocks.narrow(1, 1, 4).mean_dim(1);
        let norm = backbone.vit.norm.as_ref().unwrap();
        let want = read(norm.forward(mean).squeeze_dim::<2>(1));
        let old = read(
            backbone
                .vit
                .final_norm(backbone.vit.forward_blocks(
                    backbone.vit.embed(
                        Tensor::<4>::from_data(
                            TensorData::new(selfcheck_values(2 * 3 * 16 * 16, 9), [2, 3, 16, 16]),
                            &device,
                        ),
                        backbone.pos_embed(16, 16, &device).unwrap(),
                    ),
                    &Prompts::None,
                    None,
                ))
                .narrow(1, 1, 4)
                .mean_dim(1)
                .squeeze_dim::<2>(1),
        );
        let diff = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max)
        };
        assert!(diff(&got, &want) < 1e-5, "{}", diff(&got, &want));
        assert!(diff(&got, &old) > 1e-3, "the two orders should differ here");
    }
}
