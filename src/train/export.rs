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
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::TrainError;
use super::classifier::{Classifier, Head};
use super::image::Transform;
use crate::model::checkpoint::{
    Checkpoint, HostTensor, read_metadata, to_safetensors_with_metadata,
};
use crate::model::{Interpolation, Pool};
use crate::prompt::{BInit, Factor, Method, PromptConfig, PromptParams, PromptSet};

const KEY: &str = "bpt_lab";

/// The `bpt_lab` metadata: what the classifier needs (read back by [`from_safetensors`]) and,
/// flattened beside it, the run's provenance (`train`, `whitening`, `model`, `model_hash`, ...;
/// see `train::run::metadata`), kept as it was written.
#[derive(Serialize, Deserialize)]
struct RunMeta {
    format: u64,
    method: String,
    deep: bool,
    num_prompts: usize,
    rank: usize,
    /// Class names in label order.
    classes: Vec<String>,
    size: usize,
    mean: [f32; 3],
    std: [f32; 3],
    /// Files written before the crop was recorded used 0.875.
    #[serde(default = "default_crop_pct")]
    crop_pct: f64,
    #[serde(default)]
    interpolation: Option<String>,
    pool: String,
    /// Factor names that were trained.
    #[serde(default)]
    trainable: Vec<String>,
    #[serde(flatten)]
    provenance: Map<String, Value>,
}

fn default_crop_pct() -> f64 {
    0.875
}

fn pool_name(pool: Pool) -> &'static str {
    match pool {
        Pool::Token => "token",
        Pool::Avg => "avg",
    }
}

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
                trainable.push(name.clone());
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
    let mut meta = RunMeta {
        format: 1,
        method: c.method.name().into(),
        deep: c.deep,
        num_prompts: c.num_prompts,
        rank: c.rank,
        classes: model.classes.clone(),
        size: t.size,
        mean: t.mean,
        std: t.std,
        crop_pct: t.crop_pct,
        interpolation: Some(t.interpolation.name().into()),
        pool: pool_name(model.pool).into(),
        trainable,
        provenance: Map::new(),
    };
    // The classifier's own fields describe this file; `extra` adds what they do not hold.
    if let Value::Object(extra) = extra {
        let own = serde_json::to_value(&meta).map_err(|e| TrainError::Export(e.to_string()))?;
        meta.provenance = extra
            .into_iter()
            .filter(|(k, _)| own.get(k).is_none())
            .collect();
    }
    if let Some((name, _)) = tensors
        .iter()
        .find(|(_, t)| t.data.iter().any(|v| !v.is_finite()))
    {
        return Err(TrainError::Export(format!(
            "{name} holds values that are not finite: nothing is written (try a smaller learning rate)"
        )));
    }
    let meta = serde_json::to_string(&meta).map_err(|e| TrainError::Export(e.to_string()))?;
    let metadata = BTreeMap::from([(KEY.to_string(), meta)]);
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
    let meta: RunMeta = meta
        .get(KEY)
        .ok_or_else(|| bad(format!("no {KEY:?} metadata: not a BPT Lab run file")))
        .and_then(|s| serde_json::from_str(s).map_err(|e| bad(format!("metadata: {e}"))))?;
    let method = Method::from_name(&meta.method)
        .ok_or_else(|| bad(format!("unknown method {:?}", meta.method)))?;
    let config = PromptConfig {
        method,
        deep: meta.deep,
        num_prompts: meta.num_prompts,
        rank: meta.rank,
        b_init: BInit::Whiten,
        train_b_top: 0,
        dropout: 0.0,
    };
    if !(meta.crop_pct > 0.0 && meta.crop_pct <= 1.0) {
        return Err(bad(format!("crop_pct {} must be in (0, 1]", meta.crop_pct)));
    }
    // Files written before the filter was recorded used bicubic.
    let interpolation = match &meta.interpolation {
        None => Interpolation::Bicubic,
        Some(name) => Interpolation::from_name(name)
            .ok_or_else(|| bad(format!("interpolation {name:?} is not bicubic or bilinear")))?,
    };
    let transform = Transform {
        size: meta.size,
        mean: meta.mean,
        std: meta.std,
        crop_pct: meta.crop_pct,
        interpolation,
        ..Transform::imagenet(0)
    };
    let pool = match meta.pool.as_str() {
        "token" => Pool::Token,
        "avg" => Pool::Avg,
        other => return Err(bad(format!("pool {other:?} is not token or avg"))),
    };
    let classes = meta.classes;

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

#[cfg(test)]
mod tests {
    use super::*;

    const WRITTEN: &str = r#"{"format":1,"method":"vpt","deep":false,"num_prompts":4,"rank":0,
        "classes":["a","b"],"size":56,"mean":[0.5,0.5,0.5],"std":[0.2,0.2,0.2],"crop_pct":0.9,
        "interpolation":"bilinear","pool":"avg","trainable":["prompt.0.p"],
        "model":"dinov2-small","model_hash":"00ff","train":{"lr":0.05}}"#;

    #[test]
    fn the_provenance_beside_the_classifier_fields_is_kept_as_written() {
        let meta: RunMeta = serde_json::from_str(WRITTEN).unwrap();
        assert_eq!((meta.num_prompts, meta.size, meta.crop_pct), (4, 56, 0.9));
        assert_eq!(meta.provenance["model_hash"], "00ff");
        assert_eq!(meta.provenance["train"]["lr"], 0.05);
        assert_eq!(meta.provenance.len(), 3, "{:?}", meta.provenance);
        let again: Value = serde_json::from_str(&serde_json::to_string(&meta).unwrap()).unwrap();
        let written: Value = serde_json::from_str(WRITTEN).unwrap();
        assert_eq!(again, written, "written back field for field");
    }

    #[test]
    fn files_from_before_the_crop_and_filter_were_recorded_read_with_the_old_defaults() {
        let mut v: Value = serde_json::from_str(WRITTEN).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("crop_pct");
        o.remove("interpolation");
        o.remove("trainable");
        let meta: RunMeta = serde_json::from_value(v).unwrap();
        assert_eq!((meta.crop_pct, meta.interpolation), (0.875, None));
        assert!(meta.trainable.is_empty());
    }

    #[test]
    fn a_classifier_field_of_the_wrong_type_is_refused_by_name() {
        for (from, to, needle) in [
            (r#""size":56"#, r#""size":-56"#, "-56"),
            (r#""deep":false"#, r#""deep":"no""#, "expected a boolean"),
            (r#""mean":[0.5,0.5,0.5]"#, r#""mean":[0.5,0.5]"#, "length 2"),
            (
                r#""classes":["a","b"]"#,
                r#""classes":["a",2]"#,
                "expected a string",
            ),
        ] {
            let text = WRITTEN.replace(from, to);
            assert_ne!(text, WRITTEN, "{from}");
            let err = serde_json::from_str::<RunMeta>(&text)
                .err()
                .map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(needle)),
                "{to}: {err:?}"
            );
        }
        let no_size = WRITTEN.replace(r#""size":56,"#, "");
        let err = serde_json::from_str::<RunMeta>(&no_size).err().unwrap();
        assert!(err.to_string().contains("missing field `size`"), "{err}");
    }
}
