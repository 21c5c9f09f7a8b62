//! How a checkpoint expects its pixels: the normalisation, the evaluation crop and the
//! resampling filter. Read from timm's `pretrained_cfg` (`mean`, `std`, `crop_pct`,
//! `interpolation`; nested or at the top of the config) or from a Hugging Face
//! `preprocessor_config.json` (`image_mean`, `image_std`, `size`, `crop_size`,
//! `do_center_crop`, `resample`); ImageNet's values (timm's defaults) when the files say
//! nothing.

use serde_json::Value;

use super::ModelError;

/// The resampling filter of resizes and crops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Keys' cubic, a = -0.5 (PIL's and torchvision's bicubic).
    Bicubic,
    /// The triangle filter (PIL's bilinear).
    Bilinear,
}

impl Interpolation {
    pub fn name(self) -> &'static str {
        match self {
            Interpolation::Bicubic => "bicubic",
            Interpolation::Bilinear => "bilinear",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Interpolation::Bicubic, Interpolation::Bilinear]
            .into_iter()
            .find(|i| i.name() == name)
    }
}

/// Normalisation and evaluation crop of one checkpoint.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preprocess {
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// The evaluation view is the centre crop of this share of the shorter side (timm's
    /// `crop_pct`; 224 / 256 = 0.875 for the usual resize-256-crop-224).
    pub crop_pct: f64,
    pub interpolation: Interpolation,
}

impl Default for Preprocess {
    /// ImageNet's mean and std, crop 0.875, bicubic.
    fn default() -> Self {
        Self {
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
            crop_pct: 0.875,
            interpolation: Interpolation::Bicubic,
        }
    }
}

fn bad(m: String) -> ModelError {
    ModelError::Config(m)
}

/// Three channel values (one is repeated), each finite and, for a std, positive.
fn channels(v: &Value, name: &str, positive: bool) -> Result<[f32; 3], ModelError> {
    let list: Vec<f64> = match v {
        Value::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN)],
        Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect(),
        _ => return Err(bad(format!("{name} must be a list of 3 numbers"))),
    };
    let list = match list.as_slice() {
        [x] => vec![*x; 3],
        _ => list,
    };
    let ok = list.len() == 3
        && list
            .iter()
            .all(|x| x.is_finite() && (!positive || *x > 0.0) && x.abs() < 1e6);
    if !ok {
        return Err(bad(format!(
            "{name} {v} must be 3 finite numbers{}",
            if positive { ", each above 0" } else { "" }
        )));
    }
    Ok([list[0] as f32, list[1] as f32, list[2] as f32])
}

fn crop_pct(v: &Value, name: &str) -> Result<f64, ModelError> {
    v.as_f64()
        .filter(|c| *c > 0.0 && *c <= 1.0)
        .ok_or_else(|| bad(format!("{name} {v} must be a number in (0, 1]")))
}

impl Preprocess {
    /// From a timm config: the keys of `pretrained_cfg` when there is one, else at the top.
    pub fn from_timm(json: &Value) -> Result<Self, ModelError> {
        let cfg = json.get("pretrained_cfg").unwrap_or(json);
        let mut p = Self::default();
        if let Some(v) = cfg.get("mean") {
            p.mean = channels(v, "mean", false)?;
        }
        if let Some(v) = cfg.get("std") {
            p.std = channels(v, "std", true)?;
        }
        if let Some(v) = cfg.get("crop_pct") {
            p.crop_pct = crop_pct(v, "crop_pct")?;
        }
        if let Some(v) = cfg.get("interpolation") {
            let name = v.as_str().unwrap_or_default();
            p.interpolation = Interpolation::from_name(name).ok_or_else(|| {
                bad(format!(
                    "interpolation {v} is not supported (bicubic or bilinear)"
                ))
            })?;
        }
        Ok(p)
    }

    /// From the text of a Hugging Face `preprocessor_config.json` (an image processor).
    ///
    /// The crop share is `crop_size / size.shortest_edge` when the processor centre-crops
    /// (transformers' default for ViT-style processors that give a `crop_size`), else 1 (a plain
    /// resize, as google/vit-* do).
    pub fn from_hf(text: &str) -> Result<Self, ModelError> {
        let json: Value = serde_json::from_str(text)
            .map_err(|e| bad(format!("preprocessor_config.json is not valid JSON: {e}")))?;
        let mut p = Self::default();
        if let Some(v) = json.get("image_mean") {
            p.mean = channels(v, "image_mean", false)?;
        }
        if let Some(v) = json.get("image_std") {
            p.std = channels(v, "image_std", true)?;
        }
        let side = |v: Option<&Value>, key: &str| -> Option<f64> {
            let v = v?;
            v.as_f64()
                .or_else(|| v.get(key).and_then(Value::as_f64))
                .or_else(|| v.get("height").and_then(Value::as_f64))
        };
        let crop = side(json.get("crop_size"), "height");
        let resize = side(json.get("size"), "shortest_edge");
        let centre_crop = json
            .get("do_center_crop")
            .and_then(Value::as_bool)
            .unwrap_or(crop.is_some());
        p.crop_pct = match (centre_crop, crop, resize) {
            (true, Some(c), Some(s)) if c > 0.0 && s >= c => c / s,
            (true, Some(c), Some(s)) => {
                return Err(bad(format!(
                    "preprocessor_config.json: crop_size {c} must be positive and at most size {s}"
                )));
            }
            _ => 1.0,
        };
        if let Some(v) = json.get("resample") {
            // PIL's codes: 2 bilinear, 3 bicubic.
            p.interpolation = match v.as_u64() {
                Some(2) => Interpolation::Bilinear,
                Some(3) => Interpolation::Bicubic,
                _ => {
                    return Err(bad(format!(
                        "resample {v} is not supported (2 bilinear or 3 bicubic)"
                    )));
                }
            };
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timm_pretrained_cfg_sets_mean_std_crop_and_filter() {
        // timm/vit_small_patch16_224.augreg_in21k's config.json.
        let json: Value = serde_json::from_str(
            r#"{"architecture":"vit_small_patch16_224","pretrained_cfg":{"mean":[0.5,0.5,0.5],
               "std":[0.5,0.5,0.5],"crop_pct":0.9,"interpolation":"bicubic"}}"#,
        )
        .unwrap();
        let p = Preprocess::from_timm(&json).unwrap();
        assert_eq!((p.mean, p.std, p.crop_pct), ([0.5; 3], [0.5; 3], 0.9));
        assert_eq!(
            Preprocess::from_timm(&serde_json::json!({})).unwrap(),
            Preprocess::default()
        );
        for bad in [
            r#"{"std":[0.5,0,0.5]}"#,
            r#"{"mean":"0.5"}"#,
            r#"{"crop_pct":1.5}"#,
            r#"{"interpolation":"lanczos"}"#,
        ] {
            let json: Value = serde_json::from_str(bad).unwrap();
            assert!(Preprocess::from_timm(&json).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_hf_image_processor_gives_its_crop_share_and_resample_filter() {
        // facebook/dinov2-small's processor: resize 256, centre crop 224, bicubic.
        let p = Preprocess::from_hf(
            r#"{"crop_size":{"height":224,"width":224},"do_center_crop":true,
                "image_mean":[0.485,0.456,0.406],"image_std":[0.229,0.224,0.225],
                "resample":3,"size":{"shortest_edge":256}}"#,
        )
        .unwrap();
        assert_eq!(
            (p.crop_pct, p.interpolation),
            (0.875, Interpolation::Bicubic)
        );
        // google/vit-base-patch16-224's: a plain resize, mean and std 0.5, bilinear.
        let p = Preprocess::from_hf(
            r#"{"do_normalize":true,"do_resize":true,"image_mean":[0.5,0.5,0.5],
                "image_std":[0.5,0.5,0.5],"resample":2,"size":{"height":224,"width":224}}"#,
        )
        .unwrap();
        assert_eq!(
            (p.mean, p.crop_pct, p.interpolation),
            ([0.5; 3], 1.0, Interpolation::Bilinear)
        );
        assert!(Preprocess::from_hf(r#"{"resample":0}"#).is_err());
        assert!(Preprocess::from_hf("not json").is_err());
    }
}
