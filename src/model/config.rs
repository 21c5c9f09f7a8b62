//! The architecture of a ViT, read from a timm `config.json` (an architecture name, read by
//! [`TimmName`], with `model_args`; or VisionTransformer's own argument names) or a Hugging Face
//! `config.json` (ViTModel, Dinov2Model). `model::arch` checks it against the weights.

use serde_json::Value;

use super::ModelError;
use super::preprocess::Preprocess;
use super::timm_name::{Dims, TimmName};

/// How the classifier pools the final tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    /// The class token after the final norm (supervised and DINOv2 checkpoints).
    Token,
    /// The mean of all other tokens, prompts included, then the final norm (MAE's recipe;
    /// timm's `global_pool='avg'`, whose checkpoints carry `fc_norm`).
    Avg,
}

/// Everything that fixes the shapes and arithmetic of the backbone.
#[derive(Clone, Debug, PartialEq)]
pub struct VitConfig {
    /// Side of the square image the position embeddings were trained for.
    pub img_size: usize,
    pub patch_size: usize,
    pub in_chans: usize,
    pub embed_dim: usize,
    pub depth: usize,
    pub num_heads: usize,
    /// Hidden width of the MLP divided by `embed_dim`.
    pub mlp_ratio: f64,
    /// LayerNorm epsilon: 1e-6 for timm and DINOv2, 1e-12 for HF ViTModel.
    pub layer_norm_eps: f64,
    /// Whether each block scales its two residual branches (LayerScale).
    pub layer_scale: bool,
    pub qkv_bias: bool,
    pub class_token: bool,
    /// DeiT's distillation token, after the class token (timm `dist_token`).
    pub dist_token: bool,
    /// Register tokens after the class token (timm `reg_token`, HF `register_tokens`).
    pub reg_tokens: usize,
    /// The position table has no rows for the prefix tokens, which then get no position
    /// (timm's `no_embed_class`, as its DINOv2-with-registers models have it). Otherwise it
    /// covers the class and distillation tokens, and registers get none (as HF has it).
    pub no_embed_class: bool,
    /// Whether position tables are resampled with antialiasing, as the library does for the
    /// family: timm and HF Dinov2WithRegisters do, HF ViTModel and Dinov2Model do not.
    pub pos_antialias: bool,
    pub global_pool: Pool,
    /// Classes of the checkpoint's own head; 0 when it has none.
    pub num_classes: usize,
    /// Normalisation, evaluation crop and resampling filter the checkpoint was trained with.
    pub preprocess: Preprocess,
    /// Fields the config did not state and the weights decide (`VitConfig::resolve`, in
    /// `model::arch`).
    pub weights_decide: WeightsDecide,
}

/// Which fields a config leaves to the weights: a timm name does not say whether the attention
/// has biases, the blocks LayerScale or how wide the MLP is (`vit_medium_patch16_gap_256` has
/// no qkv bias and LayerScale; `vit_giant_patch14_224` an MLP of 48/11 the width), and a Hub
/// config states them only when they were overridden.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WeightsDecide {
    pub qkv_bias: bool,
    pub layer_scale: bool,
    pub mlp_width: bool,
}

impl VitConfig {
    fn base(
        img_size: usize,
        patch_size: usize,
        embed_dim: usize,
        depth: usize,
        heads: usize,
    ) -> Self {
        Self {
            img_size,
            patch_size,
            in_chans: 3,
            embed_dim,
            depth,
            num_heads: heads,
            mlp_ratio: 4.0,
            layer_norm_eps: 1e-6,
            layer_scale: false,
            qkv_bias: true,
            class_token: true,
            dist_token: false,
            reg_tokens: 0,
            no_embed_class: false,
            pos_antialias: true,
            global_pool: Pool::Token,
            num_classes: 0,
            preprocess: Preprocess::default(),
            weights_decide: WeightsDecide::default(),
        }
    }

    /// Tokens before the patches: the class token, the distillation token and the registers,
    /// in that order. Prompts go after all of them.
    pub fn prefix_tokens(&self) -> usize {
        usize::from(self.class_token) + usize::from(self.dist_token) + self.reg_tokens
    }

    /// Leading prefix tokens the position table has rows for.
    pub fn pos_prefix(&self) -> usize {
        if self.no_embed_class {
            0
        } else {
            usize::from(self.class_token) + usize::from(self.dist_token)
        }
    }

    /// The architecture a timm name stands for (`vit_small_patch14_dinov2.lvd142m`): its size,
    /// patch and image side, with timm's defaults for the rest; an error names what the name
    /// does not say or what we do not run ([`TimmName`]).
    pub fn timm(name: &str) -> Result<Self, ModelError> {
        Self::timm_with(name, None)
    }

    /// [`Self::timm`], with the width, depth and heads from `given` where the name's size is
    /// not one we know (a config's `model_args`).
    fn timm_with(name: &str, given: Option<Dims>) -> Result<Self, ModelError> {
        let n = TimmName::parse(name)?;
        let Some(dims) = n.dims.or(given) else {
            let size = name.split('_').nth(1).unwrap_or_default();
            return Err(ModelError::Config(format!(
                "architecture {name:?}: the size {size:?} is not one we know; give embed_dim, \
                 depth and num_heads in model_args"
            )));
        };
        Ok(Self {
            layer_scale: n.layer_scale,
            dist_token: n.dist_token,
            reg_tokens: n.reg_tokens,
            no_embed_class: n.no_embed_class,
            class_token: !n.gap,
            global_pool: if n.gap { Pool::Avg } else { Pool::Token },
            ..Self::base(
                n.img_size,
                n.patch_size,
                dims.embed_dim,
                dims.depth,
                dims.num_heads,
            )
        })
    }

    /// Number of patches along one side at `image_side` pixels.
    pub fn grid(&self, image_side: usize) -> usize {
        image_side / self.patch_size
    }

    pub fn mlp_hidden(&self) -> usize {
        (self.embed_dim as f64 * self.mlp_ratio).round() as usize
    }

    /// Reads either format: an HF config has `hidden_size`, a timm one `embed_dim`.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let json: Value = serde_json::from_str(text)
            .map_err(|e| ModelError::Config(format!("not valid JSON: {e}")))?;
        let config = if json.get("hidden_size").is_some() {
            Self::from_hf(&json)?
        } else if ["embed_dim", "architecture", "model_args"]
            .iter()
            .any(|key| json.get(key).is_some())
        {
            Self::from_timm(&json)?
        } else {
            return Err(ModelError::Config(
                "neither an HF config (hidden_size) nor a timm one (embed_dim)".into(),
            ));
        };
        config.validate()?;
        Ok(config)
    }

    fn from_hf(json: &Value) -> Result<Self, ModelError> {
        let model_type = text_field(json, "model_type")?.unwrap_or("vit");
        let registers = model_type == "dinov2_with_registers";
        let dinov2 = model_type == "dinov2" || registers;
        // ViTMAEModel is ViTModel's encoder with a fixed sine-cosine position table, saved like
        // any other; its random masking is for pretraining and not applied here.
        if !dinov2 && !["vit", "vit_mae"].contains(&model_type) {
            return Err(ModelError::Config(format!(
                "HF model_type {model_type:?} is not supported (vit, vit_mae, dinov2 or \
                 dinov2_with_registers)"
            )));
        }
        let reg_tokens = if registers {
            count_field(json, "num_register_tokens", 0..=MAX_REGISTERS)?.unwrap_or(4)
        } else {
            0
        };
        let act = text_field(json, "hidden_act")?.unwrap_or("gelu");
        if act != "gelu" {
            return Err(ModelError::Config(format!(
                "activation {act:?}: only exact gelu is supported"
            )));
        }
        if bool_field(json, "use_swiglu_ffn")? == Some(true) {
            return Err(ModelError::Config(
                "SwiGLU MLPs (DINOv2 giant) are not supported".into(),
            ));
        }
        let embed_dim = usize_field(json, "hidden_size")?;
        let mlp_ratio = if dinov2 {
            positive_field(json, "mlp_ratio")?.unwrap_or(4.0)
        } else {
            usize_field(json, "intermediate_size")? as f64 / embed_dim as f64
        };
        let num_labels = match json.get("id2label") {
            None => 0,
            Some(v) => v
                .as_object()
                .ok_or_else(|| ModelError::Config(format!("id2label {v} must be an object")))?
                .len(),
        };
        Ok(Self {
            img_size: usize_field(json, "image_size")?,
            patch_size: usize_field(json, "patch_size")?,
            in_chans: count_field(json, "num_channels", 1..=MAX_CHANNELS)?.unwrap_or(3),
            embed_dim,
            depth: usize_field(json, "num_hidden_layers")?,
            num_heads: usize_field(json, "num_attention_heads")?,
            mlp_ratio,
            layer_norm_eps: positive_field(json, "layer_norm_eps")?.unwrap_or(if dinov2 {
                1e-6
            } else {
                1e-12
            }),
            layer_scale: dinov2,
            qkv_bias: bool_field(json, "qkv_bias")?.unwrap_or(true),
            class_token: true,
            dist_token: false,
            reg_tokens,
            no_embed_class: false,
            pos_antialias: registers,
            global_pool: Pool::Token,
            weights_decide: WeightsDecide::default(),
            num_classes: if dinov2 { 0 } else { num_labels },
            // HF keeps it in preprocessor_config.json: see [`Self::with_hf_preprocessor`].
            preprocess: Preprocess::default(),
        })
    }

    fn from_timm(json: &Value) -> Result<Self, ModelError> {
        // A timm pretrained_cfg-style file may nest the arguments under "model_args".
        let args = match json.get("model_args") {
            None => json,
            Some(v) if v.is_object() => v,
            Some(v) => {
                return Err(ModelError::Config(format!(
                    "model_args {v} must be an object"
                )));
            }
        };
        // Each key from model_args, else from the top; a value of the wrong type or range is an
        // error naming the key, never a silent default.
        let from = |key: &str| if args.get(key).is_some() { args } else { json };
        let mut c = match text_field(json, "architecture")? {
            Some(name) => {
                // The dimensions model_args gives replace the name's below; they stand in for
                // them where the name's size is one we do not know.
                let count = |key: &str| count_field(from(key), key, 1..=usize::MAX);
                let given = match (count("embed_dim")?, count("depth")?, count("num_heads")?) {
                    (Some(embed_dim), Some(depth), Some(num_heads)) => Some(Dims {
                        embed_dim,
                        depth,
                        num_heads,
                    }),
                    _ => None,
                };
                let mut c = Self::timm_with(name, given)?;
                if let Some(side) = input_size(json)? {
                    c.img_size = side;
                }
                // What the name cannot say, unless model_args or the top level says it.
                let stated = |key: &str| from(key).get(key).is_some();
                c.weights_decide = WeightsDecide {
                    qkv_bias: !stated("qkv_bias"),
                    layer_scale: !stated("init_values"),
                    mlp_width: !stated("mlp_ratio"),
                };
                c
            }
            None => {
                // VisionTransformer's own arguments: the dimensions must be given.
                let missing: Vec<&str> =
                    ["img_size", "patch_size", "embed_dim", "depth", "num_heads"]
                        .into_iter()
                        .filter(|key| from(key).get(*key).is_none())
                        .collect();
                if !missing.is_empty() {
                    return Err(ModelError::Config(format!(
                        "a timm config without \"architecture\" must give {}",
                        missing.join(", ")
                    )));
                }
                Self::base(0, 0, 0, 0, 0)
            }
        };
        c.preprocess = Preprocess::from_timm(json)?;
        if let Some(v) = from("img_size").get("img_size") {
            c.img_size = v
                .as_u64()
                .or_else(|| v.as_array().and_then(|a| a.first()).and_then(Value::as_u64))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| ModelError::Config("img_size must be a number".into()))?;
        }
        let count = |key: &str, slot: &mut usize| -> Result<(), ModelError> {
            if let Some(n) = count_field(from(key), key, 0..=usize::MAX)? {
                *slot = n;
            }
            Ok(())
        };
        count("patch_size", &mut c.patch_size)?;
        count("in_chans", &mut c.in_chans)?;
        count("embed_dim", &mut c.embed_dim)?;
        count("depth", &mut c.depth)?;
        count("num_heads", &mut c.num_heads)?;
        count("num_classes", &mut c.num_classes)?;
        if let Some(r) = positive_field(from("mlp_ratio"), "mlp_ratio")? {
            c.mlp_ratio = r;
        }
        // timm: LayerScale when init_values is truthy (None, the default, is JSON null).
        match from("init_values").get("init_values") {
            None | Some(Value::Null) => {}
            Some(v) => {
                let init = v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                    ModelError::Config(format!("init_values {v} must be a number or null"))
                })?;
                c.layer_scale = init != 0.0;
            }
        }
        if let Some(b) = bool_field(from("qkv_bias"), "qkv_bias")? {
            c.qkv_bias = b;
        }
        if let Some(b) = bool_field(from("class_token"), "class_token")? {
            c.class_token = b;
        }
        if let Some(n) = count_field(from("reg_tokens"), "reg_tokens", 0..=MAX_REGISTERS)? {
            c.reg_tokens = n;
        }
        if let Some(b) = bool_field(from("no_embed_class"), "no_embed_class")? {
            c.no_embed_class = b;
        }
        if let Some(pool) = text_field(from("global_pool"), "global_pool")? {
            c.global_pool = match pool {
                "token" => Pool::Token,
                "avg" => Pool::Avg,
                other => {
                    return Err(ModelError::Config(format!(
                        "global_pool {other:?} is not supported (token or avg)"
                    )));
                }
            };
        }
        Ok(c)
    }

    /// The same config with the normalisation and crop of a Hugging Face
    /// `preprocessor_config.json` (its text).
    pub fn with_hf_preprocessor(mut self, text: &str) -> Result<Self, ModelError> {
        self.preprocess = Preprocess::from_hf(text)?;
        Ok(self)
    }

    /// Rejects shapes the model cannot be built with.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Config(m));
        if self.patch_size == 0 || self.embed_dim == 0 || self.depth == 0 || self.num_heads == 0 {
            return bad(format!("zero-sized architecture: {self:?}"));
        }
        if !(1..=MAX_CHANNELS).contains(&self.in_chans) {
            return bad(format!(
                "in_chans {} must be between 1 and {MAX_CHANNELS}",
                self.in_chans
            ));
        }
        if self.img_size < self.patch_size {
            return bad(format!(
                "img_size {} is smaller than one patch of {}",
                self.img_size, self.patch_size
            ));
        }
        if !(self.mlp_ratio.is_finite() && self.mlp_ratio > 0.0 && self.mlp_ratio <= 16.0) {
            return bad(format!("mlp_ratio {} must be in (0, 16]", self.mlp_ratio));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return bad(format!(
                "layer_norm_eps {} must be a positive number",
                self.layer_norm_eps
            ));
        }
        let hidden = self.embed_dim as f64 * self.mlp_ratio;
        if (hidden - hidden.round()).abs() > 1e-6 * hidden {
            return bad(format!(
                "mlp_ratio {} gives an MLP width of {hidden:.2} for embed_dim {}, not a whole \
                 number",
                self.mlp_ratio, self.embed_dim
            ));
        }
        if !self.embed_dim.is_multiple_of(self.num_heads) {
            return bad(format!(
                "embed_dim {} is not divisible by {} heads",
                self.embed_dim, self.num_heads
            ));
        }
        if !self.img_size.is_multiple_of(self.patch_size) {
            return bad(format!(
                "img_size {} is not a multiple of patch_size {}",
                self.img_size, self.patch_size
            ));
        }
        if !self.class_token && self.global_pool == Pool::Token {
            return bad("token pooling needs a class token".into());
        }
        if self.dist_token && !self.class_token {
            return bad("a distillation token needs a class token".into());
        }
        if self.embed_dim > 8192 || self.depth > 64 || self.img_size > 4096 {
            return bad(format!("implausibly large architecture: {self:?}"));
        }
        Ok(())
    }
}

/// Most input channels an image may have.
const MAX_CHANNELS: usize = 16;

/// Most register tokens a config may declare.
const MAX_REGISTERS: usize = 64;

/// The side of `pretrained_cfg.input_size` ([channels, height, width]), the resolution the
/// weights were trained at; an error when it is not square or not whole numbers.
fn input_size(json: &Value) -> Result<Option<usize>, ModelError> {
    let Some(v) = json
        .get("pretrained_cfg")
        .and_then(|cfg| cfg.get("input_size"))
    else {
        return Ok(None);
    };
    let sides: Option<Vec<usize>> = v.as_array().map(|a| {
        a.iter()
            .filter_map(|x| x.as_u64().and_then(|n| usize::try_from(n).ok()))
            .collect()
    });
    match sides.as_deref() {
        Some([_, h, w]) if h == w && *h > 0 => Ok(Some(*h)),
        _ => Err(ModelError::Config(format!(
            "pretrained_cfg.input_size {v} must be [channels, side, side]"
        ))),
    }
}

/// A required whole number.
fn usize_field(json: &Value, key: &str) -> Result<usize, ModelError> {
    json.get(key)
        .and_then(Value::as_u64)
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| {
            ModelError::Config(format!("config field {key:?} is missing or not a number"))
        })
}

/// An optional field: `None` when absent, else what `read` makes of it, or an error naming the
/// key, its value and what was `expected` when `read` makes nothing of it.
fn field<'a, T>(
    json: &'a Value,
    key: &str,
    expected: &str,
    read: impl FnOnce(&'a Value) -> Option<T>,
) -> Result<Option<T>, ModelError> {
    json.get(key)
        .map(|v| read(v).ok_or_else(|| ModelError::Config(format!("{key} {v} must be {expected}"))))
        .transpose()
}

/// An optional whole number within `range`.
fn count_field(
    json: &Value,
    key: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Option<usize>, ModelError> {
    let expected = match (*range.start(), *range.end()) {
        (0, usize::MAX) => "a whole number (0 or more)".to_string(),
        (low, usize::MAX) => format!("a whole number ({low} or more)"),
        (low, high) => format!("a whole number from {low} to {high}"),
    };
    field(json, key, &expected, |v| {
        v.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| range.contains(n))
    })
}

/// An optional finite number above 0.
fn positive_field(json: &Value, key: &str) -> Result<Option<f64>, ModelError> {
    field(json, key, "a positive number", |v| {
        v.as_f64().filter(|x| x.is_finite() && *x > 0.0)
    })
}

fn bool_field(json: &Value, key: &str) -> Result<Option<bool>, ModelError> {
    field(json, key, "true or false", Value::as_bool)
}

fn text_field<'a>(json: &'a Value, key: &str) -> Result<Option<&'a str>, ModelError> {
    field(json, key, "a string", Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_converted_dinov2_config() {
        let text = r#"{"model_type":"dinov2","hidden_size":384,"num_hidden_layers":12,
            "num_attention_heads":6,"mlp_ratio":4,"patch_size":14,"image_size":518,
            "layer_norm_eps":1e-06,"hidden_act":"gelu","use_swiglu_ffn":false}"#;
        // The same architecture as timm's name, resampled as HF resamples (no antialiasing).
        assert_eq!(
            VitConfig::from_json(text).unwrap(),
            VitConfig {
                pos_antialias: false,
                ..VitConfig::timm("vit_small_patch14_dinov2").unwrap()
            }
        );
    }

    #[test]
    fn reads_an_hf_vit_config() {
        let text = r#"{"model_type":"vit","hidden_size":768,"num_hidden_layers":12,
            "num_attention_heads":12,"intermediate_size":3072,"patch_size":16,"image_size":224,
            "layer_norm_eps":1e-12,"id2label":{"0":"a","1":"b"}}"#;
        let c = VitConfig::from_json(text).unwrap();
        assert_eq!(
            (c.embed_dim, c.mlp_hidden(), c.layer_norm_eps, c.num_classes),
            (768, 3072, 1e-12, 2)
        );
        assert!(!c.layer_scale);
    }

    #[test]
    fn values_of_the_wrong_type_or_sign_are_errors_that_name_the_key() {
        let base = r#""img_size":32,"patch_size":8,"embed_dim":48,"num_heads":3"#;
        for (extra, key) in [
            (r#""depth":"2""#, "depth"),
            (r#""depth":-2"#, "depth"),
            (r#""depth":2.5"#, "depth"),
            (r#""depth":2,"mlp_ratio":-1"#, "mlp_ratio"),
            (r#""depth":2,"in_chans":0"#, "in_chans"),
        ] {
            let text = format!("{{{base},{extra}}}");
            let err = VitConfig::from_json(&text).unwrap_err().to_string();
            assert!(err.contains(key), "{extra}: {err}");
        }
        let err = VitConfig::from_json(
            r#"{"model_type":"vit","hidden_size":48,"num_hidden_layers":2,"num_attention_heads":3,
                "intermediate_size":96,"patch_size":8,"image_size":0}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("smaller than one patch"), "{err}");
    }

    /// The error of reading `{base, extra}`, or a panic when it reads.
    fn error_of(base: &str, extra: &str) -> String {
        let text = format!("{{{base},{extra}}}");
        match VitConfig::from_json(&text) {
            Ok(c) => panic!("{extra} was read as {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    const HF_VIT: &str = r#""hidden_size":48,"num_hidden_layers":2,"num_attention_heads":3,
        "intermediate_size":96,"patch_size":8,"image_size":32"#;
    const HF_DINOV2: &str = r#""model_type":"dinov2","hidden_size":48,"num_hidden_layers":2,
        "num_attention_heads":3,"patch_size":8,"image_size":32"#;
    const TIMM: &str = r#""img_size":32,"patch_size":8,"embed_dim":48,"depth":2,"num_heads":3"#;

    #[test]
    fn hf_optional_fields_take_their_defaults_only_when_absent() {
        let vit = VitConfig::from_json(&format!("{{{HF_VIT}}}")).unwrap();
        assert_eq!(
            (vit.in_chans, vit.layer_norm_eps, vit.qkv_bias),
            (3, 1e-12, true)
        );
        let dinov2 = VitConfig::from_json(&format!("{{{HF_DINOV2}}}")).unwrap();
        assert_eq!((dinov2.mlp_ratio, dinov2.layer_norm_eps), (4.0, 1e-6));
        let given = VitConfig::from_json(&format!(
            r#"{{{HF_DINOV2},"num_channels":1,"layer_norm_eps":1e-5,"qkv_bias":false,
                "mlp_ratio":2}}"#
        ))
        .unwrap();
        assert_eq!(
            (
                given.in_chans,
                given.layer_norm_eps,
                given.qkv_bias,
                given.mlp_hidden()
            ),
            (1, 1e-5, false, 96)
        );
    }

    #[test]
    fn hf_qkv_bias_must_be_a_bool() {
        let err = error_of(HF_VIT, r#""qkv_bias":"yes""#);
        assert!(
            err.contains(r#"qkv_bias "yes" must be true or false"#),
            "{err}"
        );
        let err = error_of(HF_VIT, r#""qkv_bias":1"#);
        assert!(err.contains("qkv_bias 1 must be true or false"), "{err}");
    }

    #[test]
    fn hf_num_channels_must_be_a_whole_number_from_1_to_16() {
        for value in ["-3", "0", "17", "3.5", r#""3""#] {
            let err = error_of(HF_VIT, &format!(r#""num_channels":{value}"#));
            assert!(
                err.contains(&format!(
                    "num_channels {value} must be a whole number from 1 to 16"
                )),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn hf_layer_norm_eps_must_be_a_positive_number() {
        for value in [r#""1e-6""#, "0", "-1e-6", "null"] {
            let err = error_of(HF_VIT, &format!(r#""layer_norm_eps":{value}"#));
            assert!(
                err.contains(&format!("layer_norm_eps {value} must be a positive number")),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn dinov2_mlp_ratio_must_be_a_positive_number_giving_a_whole_width() {
        for value in [r#""4""#, "0", "-4"] {
            let err = error_of(HF_DINOV2, &format!(r#""mlp_ratio":{value}"#));
            assert!(
                err.contains(&format!("mlp_ratio {value} must be a positive number")),
                "{value}: {err}"
            );
        }
        let err = error_of(HF_DINOV2, r#""mlp_ratio":2.01"#);
        assert!(
            err.contains("mlp_ratio 2.01 gives an MLP width of 96.48 for embed_dim 48"),
            "{err}"
        );
    }

    #[test]
    fn the_other_hf_and_timm_fields_are_checked_by_type_too() {
        for (base, extra, message) in [
            (HF_VIT, r#""model_type":7"#, "model_type 7 must be a string"),
            (
                HF_VIT,
                r#""hidden_act":null"#,
                "hidden_act null must be a string",
            ),
            (
                HF_DINOV2,
                r#""use_swiglu_ffn":"no""#,
                r#"use_swiglu_ffn "no" must be true or false"#,
            ),
            (
                HF_VIT,
                r#""id2label":["a"]"#,
                r#"id2label ["a"] must be an object"#,
            ),
            (
                TIMM,
                r#""qkv_bias":"yes""#,
                r#"qkv_bias "yes" must be true or false"#,
            ),
            (
                TIMM,
                r#""class_token":0"#,
                "class_token 0 must be true or false",
            ),
            (TIMM, r#""global_pool":1"#, "global_pool 1 must be a string"),
            (
                TIMM,
                r#""init_values":"1e-5""#,
                r#"init_values "1e-5" must be a number or null"#,
            ),
            (
                TIMM,
                r#""mlp_ratio":"4""#,
                r#"mlp_ratio "4" must be a positive number"#,
            ),
            (
                TIMM,
                r#""architecture":3"#,
                "architecture 3 must be a string",
            ),
            (
                TIMM,
                r#""model_args":"x""#,
                r#"model_args "x" must be an object"#,
            ),
        ] {
            let err = error_of(base, extra);
            assert!(err.contains(message), "{extra}: {err}");
        }
        // timm's default init_values is None: no LayerScale.
        let c = VitConfig::from_json(&format!(r#"{{{TIMM},"init_values":null}}"#)).unwrap();
        assert!(!c.layer_scale);
    }

    #[test]
    fn reads_timm_arguments() {
        let text = r#"{"img_size":32,"patch_size":8,"embed_dim":48,"depth":2,"num_heads":3,
            "mlp_ratio":2.0,"init_values":1e-5,"num_classes":5,"global_pool":"avg"}"#;
        let c = VitConfig::from_json(text).unwrap();
        assert_eq!(
            (c.img_size, c.patch_size, c.embed_dim, c.depth, c.num_heads),
            (32, 8, 48, 2, 3)
        );
        assert_eq!(
            (c.mlp_hidden(), c.num_classes, c.global_pool),
            (96, 5, Pool::Avg)
        );
        assert!(c.layer_scale);
    }

    #[test]
    fn a_hub_config_takes_its_dimensions_from_the_architecture_name() {
        // As timm/vit_small_patch14_dinov2.lvd142m has it on the Hub: no dimensions but the name.
        let text = r#"{"architecture":"vit_small_patch14_dinov2","num_classes":0,
            "num_features":384,"global_pool":"token","pretrained_cfg":{"tag":"lvd142m",
            "input_size":[3,518,518],"interpolation":"bicubic","crop_pct":1.0,
            "mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"num_classes":0}}"#;
        let c = VitConfig::from_json(text).unwrap();
        assert_eq!(
            (c.embed_dim, c.depth, c.num_heads, c.patch_size, c.img_size),
            (384, 12, 6, 14, 518)
        );
        assert!(c.layer_scale);
        // pretrained_cfg's input size is the native side when model_args does not give one.
        let text = r#"{"architecture":"vit_base_patch16_224",
            "pretrained_cfg":{"input_size":[3,384,384]}}"#;
        assert_eq!(VitConfig::from_json(text).unwrap().img_size, 384);
        let text = r#"{"architecture":"vit_base_patch16_224","model_args":{"img_size":[256,256]},
            "pretrained_cfg":{"input_size":[3,384,384]}}"#;
        assert_eq!(VitConfig::from_json(text).unwrap().img_size, 256);
    }

    #[test]
    fn a_size_we_do_not_know_takes_its_dimensions_from_model_args() {
        let text = r#"{"architecture":"vit_betwixt_patch16_reg4_gap_256",
            "model_args":{"embed_dim":640,"depth":12,"num_heads":10}}"#;
        let c = VitConfig::from_json(text).unwrap();
        assert_eq!(
            (c.embed_dim, c.depth, c.num_heads, c.patch_size, c.img_size),
            (640, 12, 10, 16, 256)
        );
        assert_eq!((c.reg_tokens, c.class_token), (4, false));
    }

    #[test]
    fn a_name_we_cannot_read_or_missing_dimensions_are_errors_not_vit_b() {
        for (text, says) in [
            (
                r#"{"architecture":"vit_base_patch16_clip_224"}"#,
                "norm_pre",
            ),
            (
                r#"{"architecture":"convnext_tiny"}"#,
                "not a timm VisionTransformer",
            ),
            (
                r#"{"architecture":"vit_colossal_patch16_224"}"#,
                "the size \"colossal\" is not one we know",
            ),
            (
                r#"{"architecture":"vit_base_patch16_224","pretrained_cfg":{"input_size":[3,224]}}"#,
                "input_size",
            ),
            (
                r#"{"embed_dim":48,"num_heads":3}"#,
                "must give img_size, patch_size, depth",
            ),
        ] {
            let err = VitConfig::from_json(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn rejects_inconsistent_or_foreign_configs() {
        for text in [
            "not json",
            r#"{"foo": 1}"#,
            r#"{"embed_dim":50,"num_heads":3}"#,
            r#"{"model_type":"bert","hidden_size":8}"#,
            r#"{"img_size":30,"patch_size":8,"embed_dim":48,"num_heads":3}"#,
        ] {
            assert!(VitConfig::from_json(text).is_err(), "{text}");
        }
    }
}
