//! Messages between the page and its training worker (`client` on the page,
//! `serve` in the worker).
//!
//! A message is a JavaScript object `{ msg, ...bytes }`: `msg` is the JSON of a [`Request`] or an
//! [`Event`], and large byte arrays travel beside it as `Uint8Array`s (the model's weights, the
//! data set's pixels, a finished run file), which `postMessage` copies in one piece or transfers.

use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

use crate::analysis::WhiteningReport;
use crate::app::runs::state::{Control, EvalPoint, RunSettings};
use crate::kernels::half::WeightStorage;

/// Page to worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Train a run. The pixels travel as `pixels`; the weights as `weights` when the worker does
    /// not hold the model `model.key` already.
    Train {
        run: u32,
        settings: RunSettings,
        model: ModelRef,
        /// [`crate::train::pack`]'s index.
        data: String,
    },
    Control {
        run: u32,
        control: Control,
    },
    /// Run the pictures through the model and collect a block's views for the distributions
    /// (`crate::analysis`); the pictures travel as `pixels` (a packed data set's training part),
    /// the weights as for `Train`.
    Gather {
        job: u32,
        model: ModelRef,
        block: usize,
        size: usize,
        /// The norm1 output as X, else the block's input.
        norm1: bool,
        data: String,
    },
    /// Stop gather `job` at its next batch of pictures.
    StopGather {
        job: u32,
    },
    /// Classify one picture with a run: its run file travels as `run`, the picture's RGB bytes
    /// (`width` x `height`) as `image`, the weights as for `Train`.
    Predict {
        job: u32,
        model: ModelRef,
        width: usize,
        height: usize,
    },
}

/// The model a run trains on.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModelRef {
    /// Unique per load on the page.
    pub key: u64,
    pub name: String,
    /// The config file's text.
    pub config: String,
    /// An HF `preprocessor_config.json`'s text, when the model has one.
    #[serde(default)]
    pub preprocessor: Option<String>,
    /// How the page stored the blocks' linear weights; the worker stores its copy the same way.
    #[serde(default)]
    pub storage: WeightStorage,
}

/// What a run is doing between steps.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Paused,
    Evaluating,
}

/// Worker to page (and the training loop to the page, when it runs on the page's thread).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The worker has its GPU and listens; always its first message.
    Ready {
        adapter: String,
    },
    /// The worker cannot train (no WebGPU in workers, no adapter, the module did not load).
    Unavailable {
        message: String,
    },
    /// Whitening estimated, prompts initialised.
    Started {
        run: u32,
        total_steps: usize,
    },
    Phase {
        run: u32,
        phase: Phase,
    },
    Step {
        run: u32,
        step: usize,
        loss: f32,
        steps_per_s: f64,
        seconds_left: f64,
    },
    Eval {
        run: u32,
        point: EvalPoint,
    },
    /// The run file travels as `file`; `extra` is its provenance (also in the file).
    Finished {
        run: u32,
        stopped: bool,
        extra: serde_json::Value,
    },
    Failed {
        run: u32,
        message: String,
    },
    /// `done` of `total` pictures of gather `job` have been through the model.
    Progress {
        job: u32,
        done: usize,
        total: usize,
    },
    /// Gather `job` is done: the tensors travel as `file`, their f32 values one after the other
    /// in the order and shapes of `tensors`.
    Gathered {
        job: u32,
        counts: GatherCounts,
        tensors: Vec<(String, Vec<usize>)>,
        /// The chosen source's whitening diagnostics.
        whitening: WhiteningReport,
    },
    GatherFailed {
        job: u32,
        message: String,
    },
    /// The class probabilities of prediction `job`, in the run's label order.
    Predicted {
        job: u32,
        probabilities: Vec<f32>,
    },
    PredictFailed {
        job: u32,
        message: String,
    },
}

/// How many pictures a gather used: all, those the whitening was fitted on, and the rest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GatherCounts {
    pub images: usize,
    pub fit: usize,
    pub held_out: usize,
}

/// The message object for `body` with `bytes` beside it, and the buffers to transfer (those
/// named in `transfer`; the others are copied).
pub fn encode<T: Serialize>(
    body: &T,
    bytes: &[(&str, &Uint8Array)],
    transfer: &[&str],
) -> crate::error::Result<(Object, Array)> {
    let msg = serde_json::to_string(body)?;
    let obj = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&obj, &k.into(), v).map(|_| ());
    set("msg", &msg.into()).map_err(|e| crate::app::browser::js::message(&e))?;
    let moved = Array::new();
    for (name, array) in bytes {
        set(name, array).map_err(|e| crate::app::browser::js::message(&e))?;
        if transfer.contains(name) {
            moved.push(&array.buffer());
        }
    }
    Ok((obj, moved))
}

/// The JSON body of a message event's data.
pub fn decode<T: DeserializeOwned>(data: &JsValue) -> crate::error::Result<T> {
    let msg = crate::app::browser::js::get(data, "msg")
        .as_string()
        .ok_or("a message without a body")?;
    serde_json::from_str(&msg).map_err(|e| format!("an unreadable message ({e}): {msg}").into())
}

/// The bytes named `name` beside a message body, if any.
pub fn bytes(data: &JsValue, name: &str) -> Option<Vec<u8>> {
    crate::app::browser::js::get(data, name)
        .dyn_into::<Uint8Array>()
        .ok()
        .map(|a| a.to_vec())
}
