//! Loading a backbone: the weights fetched (those served with the page, the Hub) or read from a file,
//! then placed on the GPU and published as the page's model; after a lost GPU, dropped and
//! loaded again.

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;

use super::state::{LoadedModel, ModelFiles, ModelSource, ModelState, Shipped, model_config};
use crate::app::browser::fetch::{self, FetchError, Progress};
use crate::app::browser::js::{self, PickedFile};
use crate::app::model::cache::ModelCache;
use crate::app::state::AppState;
use crate::hub::{self, CONFIG_FILE, HubModel, PREPROCESSOR_FILE, WEIGHTS_FILE};
use crate::kernels::half::{HalfError, WeightStorage};
use crate::model::fit::{Room, check_fits};
use crate::model::{Backbone, VitConfig};

/// The WebAssembly memory a model may take while it loads (the file and its values as f32):
/// wasm32 addresses 4 GiB, and the pictures, the runs and the rest of the page need the remainder.
const PAGE_MEMORY: u64 = 3 << 30;

/// One load: its number (a load whose number is no longer current is dropped) and the model
/// that was ready when it began, kept in use if it fails.
#[derive(Clone)]
struct Load {
    number: u64,
    kept: Option<Rc<LoadedModel>>,
}

/// Starts a new load.
fn begin(app: AppState) -> Load {
    app.model_load.update_value(|n| *n += 1);
    Load {
        number: app.model_load.get_value(),
        kept: app.model.with_untracked(|m| m.ready()),
    }
}

fn current(app: AppState, load: &Load) -> bool {
    app.model_load.get_value() == load.number
}

/// Reports a failed load, unless a newer one has started.
fn fail(app: AppState, load: &Load, what: String, message: String) {
    if current(app, load) {
        app.model.set(ModelState::Failed {
            what,
            message,
            kept: load.kept.clone(),
        });
    }
}

/// A model's files as read, before they are placed.
struct Downloaded {
    weights: Vec<u8>,
    config: String,
    preprocessor: Option<String>,
}

/// Parses the config and places the weights on the GPU, then publishes the model.
async fn place(
    app: AppState,
    load: Load,
    what: String,
    files: Downloaded,
    source: ModelSource,
    name: String,
) {
    let Downloaded {
        weights,
        config: config_text,
        preprocessor,
    } = files;
    let fail = |message: String| fail(app, &load, what.clone(), message);
    let config = match model_config(&config_text, preprocessor.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let gpu = match app.gpu() {
        Ok(gpu) => gpu,
        Err(message) => return fail(message),
    };
    // Refused from the header alone, before anything is read into tensors or allocated.
    let room = Room {
        binding_values: gpu.max_f32_per_binding() as u64,
        memory_bytes: Some(PAGE_MEMORY),
    };
    let parameters = match check_fits(&weights, room) {
        Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
        Err(e) => return fail(e.to_string()),
    };
    if !current(app, &load) {
        return;
    }
    app.model.set(ModelState::Placing { what: what.clone() });
    // f16 weights need the f16 kernels compiled on this device; if they are refused, the model
    // is placed in f32 and the reason shown beside the choice.
    let (storage, storage_note) = match app.weights.get_untracked() {
        WeightStorage::F16 => match gpu.prepare_f16().await {
            Ok(()) => (WeightStorage::F16, None),
            // The choice says so itself (a choice saved on another GPU).
            Err(HalfError::NoShaderF16) => (WeightStorage::F32, None),
            Err(e) => (WeightStorage::F32, Some(e.to_string())),
        },
        WeightStorage::F32 => (WeightStorage::F32, None),
    };
    // Let the page paint the new state before the (synchronous) upload.
    js::sleep(0).await;
    match Backbone::from_safetensors(&weights, config, gpu.burn_device()) {
        Ok(mut backbone) if current(app, &load) => {
            if storage == WeightStorage::F16 {
                backbone
                    .vit
                    .store_linear_weights(burn::tensor::FloatDType::F16);
            }
            app.model.set(ModelState::Ready(Rc::new(LoadedModel {
                key: load.number,
                backbone: Arc::new(backbone),
                files: ModelFiles {
                    config: config_text,
                    preprocessor,
                    weights: js_sys::Uint8Array::from(&weights[..]),
                },
                source,
                name,
                parameters,
                bytes: weights.len(),
                storage_note,
            })))
        }
        Ok(_) => {}
        Err(e) => fail(e.to_string()),
    }
}

/// Fetches one of the backbones served with the page.
pub async fn load_shipped(app: AppState, which: Shipped) {
    let load = begin(app);
    let what = which.name().to_string();
    let reading = |progress| {
        if current(app, &load) {
            app.model.set(ModelState::Reading {
                what: what.clone(),
                progress,
            });
        }
    };
    reading(Progress::default());
    let dir = which.dir();
    let fetched = async {
        let config = fetch::text(&format!("{dir}/config.json")).await?;
        let weights = fetch::bytes(&format!("{dir}/model.safetensors"), reading).await?;
        Ok::<_, String>((config, weights))
    };
    match fetched.await {
        Ok((config, weights)) => {
            place(
                app,
                load,
                what.clone(),
                // The preprocessing is in the timm config's pretrained_cfg.
                Downloaded {
                    weights,
                    config,
                    preprocessor: None,
                },
                ModelSource::Shipped(which),
                what,
            )
            .await
        }
        Err(e) => fail(
            app,
            &load,
            what,
            format!(
                "{e}. {} Or load a local model below.",
                match which {
                    Shipped::Dinov2Small => "The set-up scripts fetch it (./scripts/serve.sh).",
                    _ => "It is in the repository under static/models/: build the page again.",
                }
            ),
        ),
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
            let files = Downloaded {
                weights: bytes,
                config: config_text,
                preprocessor: None,
            };
            place(app, load, what, files, source, name).await
        }
        Err(message) => fail(app, &load, what, message),
    }
}

/// One file of a hub model: from the browser's cache when it is there, else downloaded (and
/// then cached). Returns the bytes and whether they came from the cache.
async fn hub_file(
    cache: Option<&ModelCache>,
    model: &HubModel,
    file: &str,
    url: &str,
    on_progress: impl Fn(Progress),
) -> Result<(Vec<u8>, bool), String> {
    if let Some(cache) = cache
        && let Some(stored) = cache.get(url).await
    {
        match fetch::body(stored, &on_progress).await {
            Ok(bytes) => return Ok((bytes, true)),
            Err(e) => gloo::console::warn!(format!(
                "BPT Lab: cached {url} unreadable ({e}); downloading"
            )),
        }
    }
    let explain = |e: FetchError| match e {
        FetchError::Network(_) => hub::network_message(url),
        FetchError::Status(code, _) => hub::status_message(model, file, code),
        FetchError::Body(m) => format!("{file} of {}: {m}", model.id),
    };
    let response = fetch::get(url).await.map_err(explain)?;
    let bytes = fetch::body(response, &on_progress).await.map_err(explain)?;
    if let Some(cache) = cache
        && let Err(e) = cache.put(url, &bytes).await
    {
        // Full or refused: the model still loads, it is downloaded again next time.
        gloo::console::warn!(format!("BPT Lab: could not keep {url} in the cache: {e}"));
    }
    Ok((bytes, false))
}

/// Loads a model from the Hugging Face Hub by repository id or URL (see [`hub::parse`]).
pub async fn load_hub(app: AppState, input: String) {
    let load = begin(app);
    let model = match hub::parse(&input) {
        Ok(m) => m,
        Err(message) => return fail(app, &load, input.trim().to_string(), message),
    };
    let what = model.id.clone();
    let reading = |what: String| {
        let load = load.clone();
        move |progress| {
            if current(app, &load) {
                app.model.set(ModelState::Reading {
                    what: what.clone(),
                    progress,
                });
            }
        }
    };
    reading(format!("{what}: {CONFIG_FILE}"))(Progress::default());
    let cache = ModelCache::open().await;
    let fetched = async {
        let (config, _) = hub_file(
            cache.as_ref(),
            &model,
            CONFIG_FILE,
            &model.config_url,
            |_| {},
        )
        .await?;
        let config = String::from_utf8(config)
            .map_err(|_| format!("{CONFIG_FILE} of {what} is not text"))?;
        // Refuse a model that is not a ViT before downloading its weights.
        VitConfig::from_json(&config).map_err(|e| format!("{CONFIG_FILE} of {what}: {e}"))?;
        let preprocessor = optional_text(
            cache.as_ref(),
            &model,
            PREPROCESSOR_FILE,
            &model.preprocessor_url,
        )
        .await?;
        model_config(&config, preprocessor.as_deref()).map_err(|e| format!("{what}: {e}"))?;
        let (weights, cached) = hub_file(
            cache.as_ref(),
            &model,
            WEIGHTS_FILE,
            &model.weights_url,
            reading(format!("{what}: {WEIGHTS_FILE}")),
        )
        .await?;
        Ok::<_, String>((config, preprocessor, weights, cached))
    };
    match fetched.await {
        Ok((config, preprocessor, weights, cached)) => {
            let name = model.short_name().to_string();
            let source = ModelSource::Hub {
                input,
                model,
                cached,
            };
            let files = Downloaded {
                weights,
                config,
                preprocessor,
            };
            place(app, load, what, files, source, name).await
        }
        Err(message) => fail(app, &load, what, message),
    }
}

/// A small text file a model may have: None when the server answers 404; other failures are
/// errors (a missing preprocessor must not silently mean ImageNet's normalisation). Kept in the
/// cache like the other files, its absence as an empty entry, so an offline reload works.
async fn optional_text(
    cache: Option<&ModelCache>,
    model: &HubModel,
    file: &str,
    url: &str,
) -> Result<Option<String>, String> {
    let explain = |e: FetchError| match e {
        FetchError::Network(_) => hub::network_message(url),
        FetchError::Status(code, _) => hub::status_message(model, file, code),
        FetchError::Body(m) => format!("{file} of {}: {m}", model.id),
    };
    let stored = match cache {
        Some(cache) => match cache.get(url).await {
            Some(response) => fetch::body(response, |_| {}).await.ok(),
            None => None,
        },
        None => None,
    };
    let bytes = match stored {
        Some(bytes) => bytes,
        None => {
            let bytes = match fetch::get(url).await {
                Err(FetchError::Status(404, _)) => Vec::new(),
                Err(e) => return Err(explain(e)),
                Ok(response) => fetch::body(response, |_| {}).await.map_err(explain)?,
            };
            if let Some(cache) = cache
                && let Err(e) = cache.put(url, &bytes).await
            {
                gloo::console::warn!(format!("BPT Lab: could not keep {url} in the cache: {e}"));
            }
            bytes
        }
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| format!("{file} of {} is not text", model.id))
}

/// After the GPU was lost: drops the model (its weights lived on the lost device), cancels any
/// load in progress, and returns where the model came from so it can be loaded again.
pub fn drop_for_lost_gpu(app: AppState) -> Option<ModelSource> {
    let lost = begin(app).kept?;
    let message = match lost.source {
        ModelSource::Local { .. } => {
            "The GPU was lost. Restart it, then load the model's files again (Load a local model)."
        }
        _ => "The GPU was lost. Restart it and the model loads again.",
    };
    app.model.set(ModelState::Failed {
        what: lost.name.clone(),
        message: message.into(),
        kept: None,
    });
    Some(lost.source.clone())
}

/// Loads a model again from where it came from (a local file must be chosen again).
pub async fn reload(app: AppState, source: ModelSource) {
    match source {
        ModelSource::Shipped(which) => load_shipped(app, which).await,
        ModelSource::Hub { input, .. } => load_hub(app, input).await,
        ModelSource::Local { .. } => {}
    }
}

/// Places the model in use again from the files it was loaded from, its weights stored as
/// the page's choice now says (see `precision.rs`); nothing when no model is in use or it is
/// stored that way already.
pub async fn place_again(app: AppState) {
    let Some(model) = app.model.with_untracked(ModelState::ready) else {
        return;
    };
    if model.storage() == app.weights.get_untracked() && model.storage_note.is_none() {
        return;
    }
    let load = begin(app);
    let files = Downloaded {
        weights: model.files.weights.to_vec(),
        config: model.files.config.clone(),
        preprocessor: model.files.preprocessor.clone(),
    };
    let what = model.name.clone();
    place(
        app,
        load,
        what,
        files,
        model.source.clone(),
        model.name.clone(),
    )
    .await
}
