//! The page's shared state: one set of signals, provided as context to every panel.
//!
//! Values hold GPU handles and burn tensors, so they live in local (single-threaded) storage.
//! Each piece is a plain Rust type (`ModelState`, `DataSet`, `RunRecord`) so persistence
//! (IndexedDB) or other model sources can be added beside the panels without touching them.

use std::rc::Rc;

use leptos::prelude::*;

use super::data_state::DataSet;
use super::model_state::ModelState;
use super::run_state::{Control, RunRecord};
use crate::gpu::GpuContext;

#[derive(Clone, Copy)]
pub struct AppState {
    /// The GPU context the GPU panel acquired (None until then, or after a failure).
    pub gpu: RwSignal<Option<Rc<GpuContext>>, LocalStorage>,
    pub model: RwSignal<ModelState, LocalStorage>,
    /// Incremented by every model load; a load whose number is no longer current is dropped.
    pub model_load: StoredValue<u64>,
    pub data: RwSignal<DataSet, LocalStorage>,
    pub runs: RwSignal<Vec<RunRecord>, LocalStorage>,
    /// What the user asked of the run in progress.
    pub control: RwSignal<Control>,
    /// The id of the run being trained, if any (one at a time: they share the GPU).
    pub active_run: RwSignal<Option<u32>>,
    /// The last failure of exporting or importing a run file.
    pub io_error: RwSignal<Option<String>>,
}

impl AppState {
    pub fn new() -> Self {
        Self {
            gpu: RwSignal::new_local(None),
            model: RwSignal::new_local(ModelState::Idle),
            model_load: StoredValue::new(0),
            data: RwSignal::new_local(DataSet::with_default_classes()),
            runs: RwSignal::new_local(Vec::new()),
            control: RwSignal::new(Control::Run),
            active_run: RwSignal::new(None),
            io_error: RwSignal::new(None),
        }
    }

    pub fn provide(self) {
        provide_context(self);
    }

    pub fn get() -> Self {
        expect_context::<Self>()
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
