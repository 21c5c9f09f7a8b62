//! The page's side of the training worker: starts it (once, on the first run), sends it runs
//! and controls, and hands its events to a callback.
//!
//! The worker runs this same WebAssembly module: a small module script (a Blob URL) imports the
//! page's JavaScript glue and instantiates the page's `.wasm` (both found through the
//! `modulepreload`/`preload` links Trunk writes), and `start` sees that there is no window.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Array, Object, Reflect, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::app::browser::js;
use crate::app::model::state::LoadedModel;
use crate::app::runs::state::{Control, RunSettings};
use crate::app::worker::protocol::{Event, ModelRef, Request, bytes, decode, encode};
use crate::train::{Dataset, RgbImage, Sample, pack};

/// Receives the worker's events (with a finished run's file) and its failures.
pub type OnEvent = Rc<dyn Fn(Event, Option<Vec<u8>>)>;
pub type OnCrash = Rc<dyn Fn(String)>;

pub struct TrainingWorker {
    worker: JsValue,
    /// The key of the model whose weights the worker has been sent.
    model_key: RefCell<Option<u64>>,
    _handlers: [Closure<dyn FnMut(JsValue)>; 2],
}

pub enum Slot {
    Empty,
    Ready(Rc<TrainingWorker>),
    /// The worker could not start here; runs train on the page's thread.
    Unavailable(String),
}

/// The training worker of the page (in `AppState`): none until the first run starts it.
#[derive(Clone, Copy)]
pub struct WorkerSlot(StoredValue<Slot, LocalStorage>);

impl WorkerSlot {
    pub fn new() -> Self {
        Self(StoredValue::new_local(Slot::Empty))
    }

    /// The running worker, started on first use; Err(reason) where workers cannot train.
    pub async fn acquire(
        self,
        on_event: OnEvent,
        on_crash: OnCrash,
    ) -> Result<Rc<TrainingWorker>, String> {
        let known = self.0.with_value(|s| match s {
            Slot::Ready(w) => Some(Ok(w.clone())),
            Slot::Unavailable(m) => Some(Err(m.clone())),
            Slot::Empty => None,
        });
        if let Some(known) = known {
            return known;
        }
        let started = TrainingWorker::start(on_event, on_crash).await;
        self.0.set_value(match &started {
            Ok(w) => Slot::Ready(w.clone()),
            Err(m) => Slot::Unavailable(m.clone()),
        });
        started
    }

    /// Forgets a worker that stopped, so the next run starts a fresh one.
    pub fn discard(self) {
        let old = self
            .0
            .try_update_value(|s| std::mem::replace(s, Slot::Empty));
        if let Some(Slot::Ready(w)) = old {
            let _ = js::call(&w.worker, "terminate", &[]);
        }
    }

    /// Sends a control to the worker, if one is running.
    pub fn control(self, run: u32, control: Control) {
        if let Some(w) = self.current()
            && let Err(e) = w.send(&Request::Control { run, control }, &[], &[])
        {
            gloo::console::error!(format!("BPT Lab: a control did not reach the worker: {e}"));
        }
    }

    /// The worker, when one is running.
    pub fn current(self) -> Option<Rc<TrainingWorker>> {
        self.0.with_value(|s| match s {
            Slot::Ready(w) => Some(w.clone()),
            _ => None,
        })
    }
}

/// What the worker needs to know of a model besides its weights.
fn model_ref(model: &LoadedModel) -> ModelRef {
    ModelRef {
        key: model.key,
        name: model.name.clone(),
        config: model.files.config.clone(),
        preprocessor: model.files.preprocessor.clone(),
        storage: model.storage(),
    }
}

/// The absolute URL of the first `<link>` matching `selector`.
fn link_url(selector: &str) -> Result<String, String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link = js::call(&document, "querySelector", &[selector.into()])?;
    js::get(&link, "href")
        .as_string()
        .ok_or_else(|| format!("the page has no {selector} link (not a Trunk build?)"))
}

/// The worker's module script: the page's glue and wasm, instantiated in the worker.
fn script() -> Result<String, String> {
    let glue = link_url(r#"link[rel="modulepreload"][href$=".js"]:not([href*="/snippets/"])"#)?;
    let wasm = link_url(r#"link[rel="preload"][href$="_bg.wasm"]"#)?;
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let failed = q("the training worker did not start: ");
    Ok(format!(
        "import init from {glue};\n\
         init({{ module_or_path: {wasm} }}).catch((e) => postMessage({{ msg: JSON.stringify(\
         {{ kind: 'unavailable', message: {failed} + e }}) }}));\n",
        glue = q(&glue),
        wasm = q(&wasm),
    ))
}

fn new_worker(source: &str) -> Result<JsValue, String> {
    let global = js_sys::global();
    let construct = |name: &str, args: &Array| {
        let ctor = js::get(&global, name)
            .dyn_into::<js_sys::Function>()
            .map_err(|_| format!("this browser has no {name}"))?;
        Reflect::construct(&ctor, args).map_err(|e| js::message(&e))
    };
    let options = Object::new();
    let _ = Reflect::set(&options, &"type".into(), &"text/javascript".into());
    let blob = construct("Blob", &Array::of2(&Array::of1(&source.into()), &options))?;
    let url = js::call(&js::get(&global, "URL"), "createObjectURL", &[blob])?;
    let options = Object::new();
    let _ = Reflect::set(&options, &"type".into(), &"module".into());
    let _ = Reflect::set(&options, &"name".into(), &"bpt-lab-training".into());
    construct("Worker", &Array::of2(&url, &options))
}

impl TrainingWorker {
    /// Starts the worker and waits for its first message.
    async fn start(on_event: OnEvent, on_crash: OnCrash) -> Result<Rc<Self>, String> {
        let worker = new_worker(&script()?)?;
        let (tx, rx) = oneshot::channel::<Result<(), String>>();
        let first = Rc::new(RefCell::new(Some(tx)));
        let answer = first.clone();
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let data = js::get(&ev, "data");
            let event = match decode::<Event>(&data) {
                Ok(e) => e,
                Err(e) => return gloo::console::error!(format!("BPT Lab: from the worker: {e}")),
            };
            if let Some(tx) = answer.borrow_mut().take() {
                let _ = tx.send(match event {
                    Event::Ready { .. } => Ok(()),
                    Event::Unavailable { message } => Err(message),
                    other => Err(format!("the worker began with {other:?}")),
                });
                return;
            }
            on_event(event, bytes(&data, "file"));
        });
        let crashed = first.clone();
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            // Keep the default report (the console) and say it on the page.
            let message = js::get(&ev, "message")
                .as_string()
                .unwrap_or_else(|| "the worker's script failed".into());
            match crashed.borrow_mut().take() {
                Some(tx) => {
                    let _ = tx.send(Err(format!("the training worker did not start: {message}")));
                }
                None => on_crash(message),
            }
        });
        let _ = Reflect::set(
            &worker,
            &"onmessage".into(),
            on_message.as_ref().unchecked_ref(),
        );
        let _ = Reflect::set(
            &worker,
            &"onerror".into(),
            on_error.as_ref().unchecked_ref(),
        );
        let this = Rc::new(Self {
            worker,
            model_key: RefCell::new(None),
            _handlers: [on_message, on_error],
        });
        match rx.await {
            Ok(Ok(())) => Ok(this),
            Ok(Err(message)) => {
                let _ = js::call(&this.worker, "terminate", &[]);
                Err(message)
            }
            Err(_) => Err("the training worker went away while starting".into()),
        }
    }

    fn send(
        &self,
        request: &Request,
        bytes: &[(&str, &Uint8Array)],
        transfer: &[&str],
    ) -> Result<(), String> {
        let (msg, moved) = encode(request, bytes, transfer)?;
        js::call(&self.worker, "postMessage", &[msg.into(), moved.into()]).map(|_| ())
    }

    /// Sends a gather: the pictures (packed as a data set's training part) always, the model's
    /// weights when the worker does not hold them yet.
    pub fn gather(
        &self,
        job: u32,
        model: &LoadedModel,
        samples: Vec<Sample>,
        (block, size, norm1): (usize, usize, bool),
    ) -> Result<(), String> {
        let data = Dataset {
            classes: vec!["pictures".into()],
            train: samples,
            test: Vec::new(),
        };
        let packed = pack::pack(&data);
        let pixels = Uint8Array::from(&packed.pixels[..]);
        drop(packed.pixels);
        let request = Request::Gather {
            job,
            model: model_ref(model),
            block,
            size,
            norm1,
            data: packed.index,
        };
        self.send_with_model(&request, model, vec![("pixels", &pixels)])
    }

    /// Sends a prediction: the run file and the picture always, the weights when the worker
    /// does not hold them yet.
    pub fn predict(
        &self,
        job: u32,
        model: &LoadedModel,
        run: &[u8],
        image: &RgbImage,
    ) -> Result<(), String> {
        let request = Request::Predict {
            job,
            model: model_ref(model),
            width: image.width,
            height: image.height,
        };
        let run = Uint8Array::from(run);
        let pixels = Uint8Array::from(&image.pixels[..]);
        self.send_with_model(&request, model, vec![("run", &run), ("image", &pixels)])
    }

    /// Asks gather `job` to stop.
    pub fn stop_gather(&self, job: u32) -> Result<(), String> {
        self.send(&Request::StopGather { job }, &[], &[])
    }

    /// Sends `request` with `arrays` (transferred: they were made for it) and the model's
    /// weights (copied: the page keeps them) when the worker does not hold them yet.
    fn send_with_model<'a>(
        &self,
        request: &Request,
        model: &'a LoadedModel,
        mut arrays: Vec<(&'a str, &'a Uint8Array)>,
    ) -> Result<(), String> {
        let transfer: Vec<&str> = arrays.iter().map(|(name, _)| *name).collect();
        if *self.model_key.borrow() != Some(model.key) {
            arrays.push(("weights", &model.files.weights));
        }
        self.send(request, &arrays, &transfer)?;
        *self.model_key.borrow_mut() = Some(model.key);
        Ok(())
    }

    /// Sends a run: the data set's pixels always, the model's weights when the worker does not
    /// hold that model yet.
    pub fn train(
        &self,
        run: u32,
        settings: RunSettings,
        model: &LoadedModel,
        data: &Dataset,
    ) -> Result<(), String> {
        let packed = pack::pack(data);
        let pixels = Uint8Array::from(&packed.pixels[..]);
        drop(packed.pixels);
        let request = Request::Train {
            run,
            settings,
            model: model_ref(model),
            data: packed.index,
        };
        self.send_with_model(&request, model, vec![("pixels", &pixels)])
    }

    /// After a failed run the worker may not hold the model: send the weights next time.
    pub fn forget_model(&self) {
        *self.model_key.borrow_mut() = None;
    }
}
