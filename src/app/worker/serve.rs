//! The training worker: the same WebAssembly module as the page, started in a dedicated worker
//! (see `client`), where `start` lands here instead of mounting the page.
//!
//! It acquires its own WebGPU device, answers `Ready` (or `Unavailable`), and trains one run at a
//! time with `train_loop`. Kernel compilation, the whitening estimate and every step then block
//! this worker's thread, never the page's. The last model stays loaded for the next run.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;

use crate::app::browser::js;
use crate::app::model::state::model_config;
use crate::app::runs::state::Control;
use crate::app::worker::gather;
use crate::app::worker::outbox::post;
use crate::app::worker::predict;
use crate::app::worker::protocol::{Event, ModelRef, Request, bytes, decode};
use crate::app::worker::train_loop::{self, Job, Report};
use crate::gpu::GpuContext;
use crate::kernels::half::WeightStorage;
use crate::model::Backbone;
use crate::train::{RgbImage, pack};

thread_local! {
    /// The run being trained and what the page asked of it.
    static CONTROL: Cell<(u32, Control)> = const { Cell::new((u32::MAX, Control::Run)) };
    /// The model of the last run: its key and the backbone on this worker's device.
    static MODEL: RefCell<Option<(u64, Arc<Backbone>)>> = const { RefCell::new(None) };
}

/// Reports for one run; a run that is no longer the worker's current one is told to stop (the
/// page moved on, for example after its GPU was lost, and sent a new run).
struct ToPage {
    run: u32,
}

impl Report for ToPage {
    fn control(&self) -> Control {
        match CONTROL.get() {
            (run, control) if run == self.run => control,
            _ => Control::Stop,
        }
    }

    fn emit(&self, event: Event, file: Option<Vec<u8>>) {
        post(&event, file);
    }
}

/// Entry point in a worker: acquires the GPU, then listens.
pub fn serve() {
    spawn_local(async {
        let gpu = match GpuContext::new().await {
            Ok(gpu) => Rc::new(gpu),
            Err(e) => {
                let message = format!("no GPU in the training worker: {e}");
                return post(&Event::Unavailable { message }, None);
            }
        };
        let adapter = gpu.adapter().name.clone();
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            on_message(gpu.clone(), js::get(&ev, "data"));
        });
        let scope = js_sys::global();
        let _ = js_sys::Reflect::set(
            &scope,
            &"onmessage".into(),
            handler.as_ref().unchecked_ref(),
        );
        handler.forget();
        post(&Event::Ready { adapter }, None);
    });
}

fn on_message(gpu: Rc<GpuContext>, data: JsValue) {
    let request = match decode::<Request>(&data) {
        Ok(r) => r,
        Err(e) => return gloo::console::error!(format!("BPT Lab worker: {e}")),
    };
    match request {
        Request::Control { run, control } => {
            if CONTROL.get().0 == run {
                CONTROL.set((run, control));
            }
        }
        Request::StopGather { job } => gather::stop(job),
        Request::Predict {
            job,
            model,
            width,
            height,
        } => {
            let weights = bytes(&data, "weights");
            let run = bytes(&data, "run").unwrap_or_default();
            let pixels = bytes(&data, "image").unwrap_or_default();
            spawn_local(async move {
                let image = RgbImage {
                    width,
                    height,
                    pixels,
                };
                let fits = image.pixels.len() == width.saturating_mul(height).saturating_mul(3);
                match backbone(&gpu, &model, weights).await {
                    Ok(backbone) if fits => predict::predict(&gpu, backbone, run, image, job).await,
                    Ok(_) => post(
                        &Event::PredictFailed {
                            job,
                            message: format!("a {width}x{height} picture with the wrong bytes"),
                        },
                        None,
                    ),
                    Err(e) => post(
                        &Event::PredictFailed {
                            job,
                            message: e.to_string(),
                        },
                        None,
                    ),
                }
            });
        }
        Request::Gather {
            job,
            model,
            block,
            size,
            norm1,
            data: index,
        } => {
            let weights = bytes(&data, "weights");
            let pixels = bytes(&data, "pixels").unwrap_or_default();
            spawn_local(async move {
                let prepared = backbone(&gpu, &model, weights)
                    .await
                    .and_then(|backbone| Ok((backbone, pack::unpack(&index, &pixels)?.train)));
                drop(pixels);
                match prepared {
                    Ok((backbone, samples)) => {
                        let what = (block, size, norm1);
                        gather::gather(&gpu, backbone, samples, job, what).await;
                    }
                    Err(e) => post(
                        &Event::GatherFailed {
                            job,
                            message: e.to_string(),
                        },
                        None,
                    ),
                }
            });
        }
        Request::Train {
            run,
            settings,
            model,
            data: index,
        } => {
            CONTROL.set((run, Control::Run));
            let weights = bytes(&data, "weights");
            let pixels = bytes(&data, "pixels").unwrap_or_default();
            spawn_local(async move {
                let prepared = backbone(&gpu, &model, weights)
                    .await
                    .and_then(|backbone| Ok((backbone, pack::unpack(&index, &pixels)?)));
                drop(pixels);
                match prepared {
                    Ok((backbone, data)) => {
                        let job = Job {
                            run,
                            settings,
                            backbone,
                            model_name: model.name,
                            data,
                        };
                        train_loop::run(job, gpu.burn_device(), &ToPage { run }).await;
                    }
                    Err(e) => post(
                        &Event::Failed {
                            run,
                            message: e.to_string(),
                        },
                        None,
                    ),
                }
            });
        }
    }
}

/// The backbone for `model`: the one held when the key matches, else built from `weights`,
/// its linear weights stored as the page stored them.
async fn backbone(
    gpu: &GpuContext,
    model: &ModelRef,
    weights: Option<Vec<u8>>,
) -> crate::error::Result<Arc<Backbone>> {
    // The one wait comes first (compiling the f16 kernels, once), so that what follows runs
    // without yielding, as before, and two requests cannot both place a model.
    if model.storage == WeightStorage::F16 {
        gpu.prepare_f16().await.map_err(|e| e.to_string())?;
    }
    if let Some(held) =
        MODEL.with_borrow(|m| m.as_ref().filter(|m| m.0 == model.key).map(|m| m.1.clone()))
    {
        return Ok(held);
    }
    let weights = weights.ok_or("the training worker does not have this model's weights")?;
    // Free the previous model's GPU memory before placing the new one.
    MODEL.set(None);
    let config = model_config(&model.config, model.preprocessor.as_deref())?;
    let mut backbone = Backbone::from_safetensors(&weights, config, gpu.burn_device())?;
    if model.storage == WeightStorage::F16 {
        backbone
            .vit
            .store_linear_weights(burn::tensor::FloatDType::F16);
    }
    let backbone = Arc::new(backbone);
    MODEL.set(Some((model.key, backbone.clone())));
    Ok(backbone)
}
