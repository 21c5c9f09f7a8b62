//! A trained classifier as one safetensors file that PyTorch reads directly
//! (`safetensors.torch.load_file`), with the settings as JSON in the header's metadata.
//!
//! Tensor names (k = prompt set: 0 for shallow prompts, the block index for deep ones):
//! - `prompt.{k}.tokens` [m, D]: the prompt tokens P~ the backbone receives (all methods);
//! - `prompt.{k}.p` [m, D] (VPT, fWhiten, tWhiten), `prompt.{k}.w` [D, D] (fWhiten, tWhiten),
//!   `prompt.{k}.a` [m, p] and `prompt.{k}.b` [D, p] (bilinear): the factors, P~ = P W^T or
//!   A B^T;
//! - `head.weight` [classes, D] (PyTorch's out x in layout), `head.bias` [classes].
//!
//! A head-only run (`method` "head") has no prompt tensors.
//!
//! Metadata key `bpt_lab`: a JSON object with `format` (1), `method`, `deep`, `num_prompts`,
//! `rank`, `classes` (names in label order), `size`, `mean`, `std`, `crop_pct`, `interpolation`
//! (the evaluation view), `pool` and, when written
//! from a run, `trainable` (factor names that were trained) and the run's `train` settings.

use std::collections::BTreeMap;

use burn::tensor::Device;
use serde_json::{Value, json};

use super::TrainError;
use super::classifier::{Classifier, Head};
use super::image::Transform;
use crate::model::checkpoint::{
    Checkpoint, HostTensor, read_metadata, to_safetensors_with_metadata,
};
use crate::model::{Interpolation, Pool};
use crate::prompt::{BInit, Factor, Method, PromptConfig, PromptParams, PromptSet};

const KEY: &str = "bpt_lab";

/// Writes the classifier; `extra` fields are added to the metadata JSON.
pub async fn to_safetensors(model: &Classifier, extra: Value) -> Result<Vec<u8>, TrainError> {
    let mut tensors = BTreeMap::new();
    let read = |e: crate::model::ModelError| TrainError::Readback(e.to_string());
    let mut trainable = Vec::new();
    for (k, set) in model.prompts.sets.iter().enumerate() {
        tensors.insert(
            format!("prompt.{k}.tokens"),
            HostTensor::read(set.tokens()).await.map_err(read)?,
        );
        for f in set.factors() {
            let name = format!("prompt.{k}.{}", f.name);
            if f.trainable {
                trainable.push(Value::from(name.clone()));
            }
            tensors.insert(name, HostTensor::read(f.value.clone()).await.map_err(read)?);
        }
    }
    let weight = HostTensor::read(model.head.weight.value.clone())
        .await
        .map_err(read)?;
    tensors.insert("head.weight".into(), weight.transposed());
    let bias = HostTensor::read(model.head.bias.value.clone())
        .await
        .map_err(read)?;
    tensors.insert(
        "head.bias".into(),
        HostTensor::new(vec![bias.data.len()], bias.data),
    );

    let c = &model.prompts.config;
    let t = &model.transform;
    let mut meta = json!({
        "format": 1,
        "method": c.method.name(),
        "deep": c.deep,
        "num_prompts": c.num_prompts,
        "rank": c.rank,
        "classes": model.classes,
        "size": t.size,
        "mean": t.mean,
        "std": t.std,
        "crop_pct": t.crop_pct,
        "interpolation": t.interpolation.name(),
        "pool": match model.pool { Pool::Token => "token", Pool::Avg => "avg" },
        "trainable": trainable,
    });
    if let (Some(meta), Value::Object(extra)) = (meta.as_object_mut(), extra) {
        meta.extend(extra);
    }
    if let Some((name, _)) = tensors
        .iter()
        .find(|(_, t)| t.data.iter().any(|v| !v.is_finite()))
    {
        return Err(TrainError::Export(format!(
            "{name} holds values that are not finite: nothing is written (try a smaller learning rate)"
        )));
    }
    let metadata = BTreeMap::from([(KEY.to_string(), meta.to_string())]);
    to_safetensors_with_metadata(&tensors, metadata).map_err(|e| TrainError::Export(e.to_string()))
}

/// A run file's `bpt_lab` metadata as JSON, when the file has readable metadata.
pub fn recorded(bytes: &[u8]) -> Option<Value> {
    let meta = read_metadata(bytes).ok()?;
    serde_json::from_str(meta.get(KEY)?).ok()
}

/// A text field of the metadata (`method`, `model`, `model_hash`, ...), when it is there and
/// not empty.
pub fn recorded_text(bytes: &[u8], field: &str) -> Option<String> {
    recorded(bytes)?[field]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(String::from)
}

/// The weights hash a run file records (`model_hash`), when it has one.
pub fn recorded_model_hash(bytes: &[u8]) -> Option<String> {
    recorded_text(bytes, "model_hash")
}

/// Reads a run file for `backbone` and checks that it can run there (prompt sets for its
/// depth, an input side its patch divides, a head for its classes): a hostile or mismatched
/// file gives an error, never a classifier that fails later.
pub fn read_for(
    bytes: &[u8],
    backbone: &crate::model::Backbone,
    device: &Device,
) -> Result<Classifier, TrainError> {
    let classifier = from_safetensors(bytes, backbone.config.embed_dim, device)?;
    classifier
        .check_fits(backbone)
        .map_err(TrainError::Export)?;
    Ok(classifier)
}

/// Reads a file written by [`to_safetensors`] for a backbone of width `embed_dim` (shapes only;
/// [`read_for`] checks the rest).
pub fn from_safetensors(
    bytes: &[u8],
    embed_dim: usize,
    device: &Device,
) -> Result<Classifier, TrainError> {
    let bad = |m: String| TrainError::Export(m);
    let meta = read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let meta: Value = meta
        .get(KEY)
        .ok_or_else(|| bad(format!("no {KEY:?} metadata: not a BPT Lab run file")))
        .and_then(|s| {
            serde_json::from_str(s).map_err(|e| bad(format!("metadata is not JSON: {e}")))
        })?;
    let field = |name: &str| {
        meta.get(name)
            .ok_or_else(|| bad(format!("metadata lacks {name:?}")))
    };
    let method_name = field("method")?.as_str().unwrap_or_default();
    let method = Method::from_name(method_name)
        .ok_or_else(|| bad(format!("unknown method {method_name:?}")))?;
    let count = |name: &str| {
        field(name).and_then(|v| {
            v.as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| bad(format!("{name:?} is not a count")))
        })
    };
    let deep = field("deep")?.as_bool().unwrap_or(false);
    let classes: Vec<String> = field("classes")?
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let floats3 = |name: &str| -> Result<[f32; 3], TrainError> {
        let v: Vec<f32> = field(name)?
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_f64())
                    .map(|x| x as f32)
                    .collect()
            })
            .unwrap_or_default();
        v.try_into()
            .map_err(|_| bad(format!("{name:?} needs three numbers")))
    };
    let config = PromptConfig {
        method,
        deep,
        num_prompts: count("num_prompts")?,
        rank: count("rank")?,
        b_init: BInit::Whiten,
        train_b_top: 0,
        dropout: 0.0,
    };
    // Files written before the crop and filter were recorded used 0.875 and bicubic.
    let crop_pct = match meta.get("crop_pct") {
        None => 0.875,
        Some(v) => v
            .as_f64()
            .filter(|c| *c > 0.0 && *c <= 1.0)
            .ok_or_else(|| bad(format!("crop_pct {v} must be in (0, 1]")))?,
    };
    let interpolation = match meta.get("interpolation") {
        None => Interpolation::Bicubic,
        Some(v) => v
            .as_str()
            .and_then(Interpolation::from_name)
            .ok_or_else(|| bad(format!("interpolation {v} is not bicubic or bilinear")))?,
    };
    let transform = Transform {
        size: count("size")?,
        mean: floats3("mean")?,
        std: floats3("std")?,
        crop_pct,
        interpolation,
        ..Transform::imagenet(0)
    };
    let pool = match field("pool")?.as_str() {
        Some("avg") => Pool::Avg,
        _ => Pool::Token,
    };

    let mut ck = Checkpoint::from_safetensors(bytes).map_err(|e| bad(e.to_string()))?;
    let mut sets = Vec::new();
    let (m, d) = (config.num_prompts, embed_dim);
    let (left_name, right_name, left_cols, right_cols) = match method {
        Method::Head | Method::Vpt => ("p", None, d, 0),
        Method::BptFWhiten | Method::BptTWhiten => ("p", Some("w"), d, d),
        Method::BptBilinear => ("a", Some("b"), config.rank, config.rank),
    };
    let k_max = ck.names().filter(|n| n.ends_with(".tokens")).count();
    for k in 0..k_max {
        let mut take = |name: &'static str, shape: [usize; 2]| -> Result<Factor, TrainError> {
            let t = ck
                .take(&format!("prompt.{k}.{name}"), &shape)
                .map_err(|e| bad(e.to_string()))?;
            Ok(Factor::new(name, t.data, shape, false, device))
        };
        let left = take(left_name, [m, left_cols])?;
        let right = match right_name {
            Some(r) => Some(take(r, [d, right_cols])?),
            None => None,
        };
        ck.ignore(&format!("prompt.{k}.tokens"));
        sets.push(PromptSet { left, right });
    }
    if sets.is_empty() && config.has_prompts() {
        return Err(bad("no prompt tensors (prompt.0.tokens)".into()));
    }
    if !sets.is_empty() && !config.has_prompts() {
        return Err(bad("a head-only run file with prompt tensors".into()));
    }
    let n = classes.len();
    let weight = ck
        .take("head.weight", &[n, d])
        .map_err(|e| bad(e.to_string()))?
        .transposed();
    let bias = ck.take("head.bias", &[n]).map_err(|e| bad(e.to_string()))?;
    let untaken = ck.untaken();
    if !untaken.is_empty() {
        return Err(bad(format!("unexpected tensors: {}", untaken.join(", "))));
    }
    let head = Head {
        weight: Factor::new("weight", weight.data, [d, n], false, device),
        bias: Factor::new("bias", bias.data, [1, n], false, device),
    };
    Ok(Classifier {
        prompts: PromptParams { config, sets },
        head,
        classes,
        transform,
        pool,
    })
}
