//! Building the backbone from a checkpoint in timm, HF ViTModel or HF Dinov2Model naming, with
//! or without a prefix (`vit.`, `backbone.`, `dinov2.`, ...).
//!
//! Every key comes from one table (`layout`) that maps our module tree (timm's names) to each
//! layout's keys; the layout is detected once per checkpoint. HF's separate query/key/value are
//! stacked into our fused qkv. PyTorch stores linear weights as [out, in] and burn as [in, out],
//! so they are transposed here, on the host, once.

use burn::module::Param;
use burn::nn::Linear;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Tensor, TensorData};

use super::arch::{WeightsArch, detect};
use super::checkpoint::{Checkpoint, HostTensor};
use super::layout::{Layout, Naming, Part};
use super::norm::LayerNorm;
use super::vit::{Attention, Block, LayerScale, Mlp, PatchEmbed, Vit};
use super::{ModelError, VitConfig};

/// What the loader returns besides the module: the position table kept on the host for
/// resampling, and the layout it was read in (which decides how to resample).
pub struct Loaded {
    pub vit: Vit,
    /// [Q + grid * grid, D]: the rows of the first Q prefix tokens (`pos_prefix`), then the
    /// grid's.
    pub pos_table: HostTensor,
    pub layout: Layout,
    /// Tensors the library saved beside the backbone that prompt tuning does not use (HF's
    /// mask token, pooler and task decoders), skipped.
    pub skipped: Vec<String>,
}

/// The checkpoint's keys: its layout's names behind its prefix.
struct Keys<'a> {
    layout: Layout,
    prefix: &'a str,
}

impl Keys<'_> {
    /// The key of `part` (of block `block`), if the layout has one.
    fn get(&self, part: Part, block: usize) -> Option<String> {
        let name = self.layout.name(part, block)?;
        Some(format!("{}{name}", self.prefix))
    }

    /// The key of a part the config needs.
    fn of(&self, part: Part, block: usize) -> Result<String, ModelError> {
        self.get(part, block).ok_or_else(|| {
            ModelError::Checkpoint(format!(
                "the config needs {part:?} tensors, which {:?} checkpoints do not have",
                self.layout
            ))
        })
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

fn layer_norm(
    ck: &mut Checkpoint,
    name: &str,
    d: usize,
    eps: f64,
    device: &Device,
) -> Result<LayerNorm, ModelError> {
    Ok(LayerNorm {
        gamma: param(ck.take(&format!("{name}.weight"), &[d])?, device),
        beta: Some(param(ck.take(&format!("{name}.bias"), &[d])?, device)),
        eps,
    })
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
    let (qkv_w, qkv_b) = if let Some(qkv) = keys.get(Part::Qkv, i) {
        let w = ck.take(&format!("{qkv}.weight"), &[3 * d, d])?;
        let b = if c.qkv_bias {
            Some(ck.take(&format!("{qkv}.bias"), &[3 * d])?)
        } else {
            None
        };
        (w, b)
    } else {
        // HF: separate projections, stacked here in timm's order.
        let mut w = Vec::with_capacity(3 * d * d);
        let mut b = Vec::with_capacity(3 * d);
        for part in [Part::Query, Part::Key, Part::Value] {
            let base = keys.of(part, i)?;
            w.extend(ck.take(&format!("{base}.weight"), &[d, d])?.data);
            if c.qkv_bias {
                b.extend(ck.take(&format!("{base}.bias"), &[d])?.data);
            }
        }
        let bias = c.qkv_bias.then(|| HostTensor::new(vec![3 * d], b));
        (HostTensor::new(vec![3 * d, d], w), bias)
    };
    Ok(Attention {
        qkv: linear(qkv_w, qkv_b, device),
        proj: named_linear(ck, &keys.of(Part::AttnProj, i)?, [d, d], device)?,
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
    let norm1 = layer_norm(ck, &keys.of(Part::Norm1, i)?, d, eps, device)?;
    let norm2 = layer_norm(ck, &keys.of(Part::Norm2, i)?, d, eps, device)?;
    let mlp = Mlp {
        fc1: named_linear(ck, &keys.of(Part::Fc1, i)?, [h, d], device)?,
        fc2: named_linear(ck, &keys.of(Part::Fc2, i)?, [d, h], device)?,
    };
    let mut scale = |part: Part| -> Result<Option<LayerScale>, ModelError> {
        if !c.layer_scale {
            return Ok(None);
        }
        let gamma = ck.take(&keys.of(part, i)?, &[d])?;
        Ok(Some(LayerScale {
            gamma: param(gamma, device),
        }))
    };
    let ls1 = scale(Part::Ls1)?;
    let ls2 = scale(Part::Ls2)?;
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
/// (plus a head when `config.num_classes > 0`, and known unused extras such as HF's mask
/// token and pooler, which are skipped and listed in [`Loaded::skipped`]).
pub fn load_vit(
    ck: &mut Checkpoint,
    config: &VitConfig,
    device: &Device,
) -> Result<Loaded, ModelError> {
    config.validate()?;
    config.check_against(&WeightsArch::read(ck)?)?;
    let (layout, prefix) = detect(ck)?;
    let keys = Keys {
        layout,
        prefix: &prefix,
    };
    let (d, p) = (config.embed_dim, config.patch_size);
    let grid = config.grid(config.img_size);
    let pos_rows = config.pos_prefix() + grid * grid;
    let mut missing = Missing(Vec::new());

    let patch = keys.of(Part::PatchEmbed, 0)?;
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

    let mut token = |wanted: bool, part: Part, n: usize| -> Result<_, ModelError> {
        if !wanted {
            return Ok(None);
        }
        let t = missing.note(ck.take(&keys.of(part, 0)?, &[1, n, d]))?;
        Ok(t.map(|t| param(t, device)))
    };
    let cls_token = token(config.class_token, Part::ClsToken, 1)?;
    let dist_token = token(config.dist_token, Part::DistToken, 1)?;
    let reg_tokens = token(config.reg_tokens > 0, Part::RegTokens, config.reg_tokens)?;
    let pos = missing.note(ck.take(&keys.of(Part::PosEmbed, 0)?, &[1, pos_rows, d]))?;
    // Saved beside the backbone by the library, unused by prompt tuning: skipped, and listed.
    let mut skipped = Vec::new();
    let unused = [Part::MaskToken, Part::Pooler].map(|part| keys.get(part, 0));
    for stem in unused.into_iter().flatten() {
        for name in [
            stem.clone(),
            format!("{stem}.weight"),
            format!("{stem}.bias"),
        ] {
            if ck.contains(&name) {
                ck.ignore(&name);
                skipped.push(name);
            }
        }
    }

    // HF task models keep a decoder beside their prefixed backbone (ViTMAEForPreTraining's,
    // ViTForMaskedImageModeling's): unused by prompt tuning, skipped as one entry.
    if layout.naming() != Naming::Timm && !prefix.is_empty() {
        let decoder: Vec<String> = ck
            .names()
            .filter(|n| n.starts_with("decoder."))
            .map(String::from)
            .collect();
        for name in &decoder {
            ck.ignore(name);
        }
        if !decoder.is_empty() {
            skipped.push(format!("decoder.* ({} tensors)", decoder.len()));
        }
    }

    let mut blocks = Vec::with_capacity(config.depth);
    for i in 0..config.depth {
        if let Some(b) = missing.note(block(ck, &keys, i, config, device))? {
            blocks.push(b);
        }
    }
    // timm's mean-pooled checkpoints carry `fc_norm` (applied after pooling) and no `norm`.
    let fc_norm = match keys.get(Part::FcNorm, 0) {
        Some(name) if ck.contains(&format!("{name}.weight")) => {
            missing.note(layer_norm(ck, &name, d, config.layer_norm_eps, device))?
        }
        _ => None,
    };
    let norm_name = keys.of(Part::Norm, 0)?;
    let norm = if fc_norm.is_some() && !ck.contains(&format!("{norm_name}.weight")) {
        None
    } else {
        missing.note(layer_norm(ck, &norm_name, d, config.layer_norm_eps, device))?
    };
    let head = if config.num_classes > 0 {
        // HF keeps the classifier beside the backbone (`classifier`, not `vit.classifier`).
        let bare = layout.name(Part::Head, 0).expect("every layout has a head");
        let name = if layout != Layout::Timm && ck.contains(&format!("{bare}.weight")) {
            bare
        } else {
            keys.of(Part::Head, 0)?
        };
        missing.note(named_linear(ck, &name, [config.num_classes, d], device))?
    } else {
        None
    };
    let head_dist = if config.num_classes > 0 && config.dist_token {
        let name = keys.of(Part::HeadDist, 0)?;
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
            dist_token,
            reg_tokens,
            blocks,
            norm,
            fc_norm,
            head,
            head_dist,
        },
        pos_table: HostTensor::new(vec![pos_rows, d], pos.data),
        layout,
        skipped,
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

    /// timm-named tensors under `layout`'s keys behind `prefix`: the fused qkv split into query,
    /// key and value where the layout keeps them apart, and HF's unused mask token added.
    fn in_layout(
        timm: &BTreeMap<String, HostTensor>,
        layout: Layout,
        prefix: &str,
        depth: usize,
    ) -> BTreeMap<String, HostTensor> {
        let mut out = BTreeMap::new();
        let mut renamed = 0;
        for part in Part::ALL {
            let blocks = if part.in_block() { depth } else { 1 };
            for i in 0..blocks {
                let Some(from) = Layout::Timm.name(part, i) else {
                    continue;
                };
                for suffix in ["", ".weight", ".bias"] {
                    let Some(t) = timm.get(&format!("{from}{suffix}")) else {
                        continue;
                    };
                    renamed += 1;
                    if let Some(to) = layout.name(part, i) {
                        out.insert(format!("{prefix}{to}{suffix}"), t.clone());
                        continue;
                    }
                    assert_eq!(part, Part::Qkv, "{layout:?} has no {part:?}");
                    let third = t.data.len() / 3;
                    let shape = if suffix == ".weight" {
                        vec![t.shape[1], t.shape[1]]
                    } else {
                        vec![third]
                    };
                    for (k, part) in [Part::Query, Part::Key, Part::Value].iter().enumerate() {
                        let to = layout.name(*part, i).unwrap();
                        let data = t.data[k * third..(k + 1) * third].to_vec();
                        out.insert(
                            format!("{prefix}{to}{suffix}"),
                            HostTensor::new(shape.clone(), data),
                        );
                    }
                }
            }
        }
        assert_eq!(renamed, timm.len(), "every timm tensor has a part");
        if let Some(mask) = layout.name(Part::MaskToken, 0) {
            out.insert(format!("{prefix}{mask}"), random(&[1, 12], 99));
        }
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
    fn timm_and_every_hf_layout_give_the_same_model() {
        let device = Device::flex();
        for layout in Layout::ALL {
            // HF ViTModel has no LayerScale.
            let c = if layout.name(Part::Ls1, 0).is_some() {
                tiny()
            } else {
                VitConfig::from_json(
                    r#"{"img_size":16,"patch_size":8,"embed_dim":12,"depth":2,"num_heads":3}"#,
                )
                .unwrap()
            };
            let timm = timm_tensors(&c);
            let loaded = build(in_layout(&timm, layout, "backbone.", c.depth), &c).unwrap();
            assert_eq!(loaded.layout, layout);
            // timm resamples antialiased, HF not: compare at the trained grid, where neither
            // resamples.
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
            assert!(diff < 1e-5, "{layout:?}: max difference {diff}");
        }
    }

    #[test]
    fn a_layer_scale_config_on_hf_vit_weights_is_refused_by_name() {
        let plain = VitConfig::from_json(
            r#"{"img_size":16,"patch_size":8,"embed_dim":12,"depth":2,"num_heads":3}"#,
        )
        .unwrap();
        let tensors = in_layout(&timm_tensors(&plain), Layout::HfVit5, "", plain.depth);
        let err = build(tensors, &tiny()).err().unwrap().to_string();
        assert!(
            err.contains("LayerScale: the config says true, the weights false")
                && err.contains("HfVit5 checkpoints have no LayerScale"),
            "{err}"
        );
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

        // A misshapen tensor of a later block, which the architecture is not read from.
        let mut t = timm_tensors(&c);
        t.insert("blocks.1.mlp.fc1.weight".into(), random(&[5, 12], 1));
        let err = build(t, &c).err().unwrap().to_string();
        assert!(
            err.contains("blocks.1.mlp.fc1.weight") && err.contains("[5, 12]"),
            "{err}"
        );
        // The first block's, which it is read from: the disagreement names the tensor.
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
    fn prompts_go_after_every_prefix_token() {
        // Class, distillation and two register tokens: shallow prompts enter at position 4.
        let c = VitConfig {
            dist_token: true,
            reg_tokens: 2,
            ..tiny()
        };
        let device = Device::flex();
        let m = 3;
        let prompt = Tensor::<3>::from_data(
            TensorData::new(selfcheck_values(m * 12, 5), [1, m, 12]),
            &device,
        );
        let loaded = build(timm_tensors(&c), &c).unwrap();
        assert_eq!(loaded.vit.prefix(), 4);
        let mut trace = Trace::default();
        let out = run(
            loaded,
            &c,
            &Prompts::Shallow(Box::new(prompt.clone())),
            Some(&mut trace),
        );
        assert_eq!(out.len(), 2 * (4 + m + 2 * 3) * 12);
        let inserted = trace.block_inputs[0]
            .clone()
            .narrow(1, 4, m)
            .narrow(0, 0, 1);
        let diff = pollster::block_on((inserted - prompt).abs().max().into_data_async())
            .unwrap()
            .try_into_vec::<f32>()
            .unwrap()[0];
        assert_eq!(diff, 0.0);
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
