//! The page's shared state: one set of signals, provided as context to every panel.
//!
//! Values hold GPU handles and burn tensors, so they live in local (single-threaded) storage.
//! Each piece is a feature's own state type (`GpuState`, `ModelState`, `ImageClasses`,
//! `RunRecord`), defined in that feature's `state` module, which never imports this one.

use std::rc::Rc;

use leptos::prelude::*;

use crate::app::analysis::state::{GatherJobs, Replies};
use crate::app::browser::saved;
use crate::app::data::state::ImageClasses;
use crate::app::gpu::state::{CheckState, GPU_NOT_READY, GpuState};
use crate::app::model::state::{LoadedModel, ModelState};
use crate::app::persist::state::Persist;
use crate::app::runs::state::{Control, Queued, RunRecord};
use crate::app::worker::client::WorkerSlot;
use crate::gpu::GpuContext;
use crate::kernels::half::WeightStorage;

/// Where [`AppState::weights`] is kept in `localStorage`.
pub const WEIGHTS_KEY: &str = "bpt-lab.weights";

/// What every action that needs a model says when none is loaded.
pub const NO_MODEL: &str = "load a model first (Model panel)";

#[derive(Clone, Copy)]
pub struct AppState {
    /// The GPU: probing, ready with its context, or why not.
    pub gpu: RwSignal<GpuState, LocalStorage>,
    /// The start-up self-check of the GPU kernels.
    pub check: RwSignal<CheckState, LocalStorage>,
    pub model: RwSignal<ModelState, LocalStorage>,
    /// Incremented by every model load; a load whose number is no longer current is dropped.
    pub model_load: StoredValue<u64>,
    /// How the user wants the blocks' linear weights stored (kept in `localStorage`).
    pub weights: RwSignal<WeightStorage>,
    pub data: RwSignal<ImageClasses, LocalStorage>,
    pub runs: RwSignal<Vec<RunRecord>, LocalStorage>,
    /// Runs of a comparison waiting for the one in progress to end.
    pub queue: RwSignal<Vec<Queued>, LocalStorage>,
    /// What the user asked of the run in progress.
    pub control: RwSignal<Control>,
    /// The id of the run being trained, if any (one at a time: they share the GPU).
    pub active_run: RwSignal<Option<u32>>,
    /// The last failure of exporting or importing a run file.
    pub io_error: RwSignal<Option<String>>,
    /// Saving to the browser's store, and where it stands.
    pub persist: Persist,
    /// The training worker, once a run has started it.
    pub worker: WorkerSlot,
    /// The distributions' gather in progress.
    pub gather: GatherJobs,
    /// Predictions the worker is making: their class probabilities.
    pub predictions: Replies<Vec<f32>>,
}

impl AppState {
    pub fn new() -> Self {
        Self {
            gpu: RwSignal::new_local(GpuState::Probing),
            check: RwSignal::new_local(CheckState::Waiting),
            model: RwSignal::new_local(ModelState::Idle),
            model_load: StoredValue::new(0),
            weights: RwSignal::new(saved::load(WEIGHTS_KEY).unwrap_or_default()),
            data: RwSignal::new_local(ImageClasses::with_default_classes()),
            runs: RwSignal::new_local(Vec::new()),
            queue: RwSignal::new_local(Vec::new()),
            control: RwSignal::new(Control::Run),
            active_run: RwSignal::new(None),
            io_error: RwSignal::new(None),
            persist: Persist::new(),
            worker: WorkerSlot::new(),
            gather: GatherJobs::new(),
            predictions: Replies::new(),
        }
    }

    pub fn provide(self) {
        provide_context(self);
    }

    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// The GPU's context for an action (not tracked), or the one message for "not ready".
    pub fn gpu(&self) -> Result<Rc<GpuContext>, String> {
        self.gpu
            .with_untracked(GpuState::context)
            .ok_or_else(|| GPU_NOT_READY.to_string())
    }

    /// Whether the GPU is ready (tracked: for what a view enables).
    pub fn gpu_ready(&self) -> bool {
        self.gpu.with(|g| g.context().is_some())
    }

    /// The model to train and predict with (not tracked), or the one message for "none".
    pub fn ready_model(&self) -> Result<Rc<LoadedModel>, String> {
        self.model
            .with_untracked(ModelState::ready)
            .ok_or_else(|| NO_MODEL.to_string())
    }

    /// Changes one run in place.
    pub fn update_run(&self, id: u32, f: impl FnOnce(&mut RunRecord)) {
        self.runs.update(|runs| {
            if let Some(run) = runs.iter_mut().find(|r| r.id == id) {
                f(run);
            }
        });
    }
}
