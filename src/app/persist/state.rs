//! Where saving stands (the status line's state) and what the saver knows of the store: the
//! records in it, the run files and the classifiers they were written from.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use leptos::prelude::*;

use super::store::Store;
use crate::app::runs::state::Trained;

#[derive(Clone, Debug, PartialEq)]
pub enum SaveStatus {
    /// Reading what an earlier visit saved.
    Restoring,
    /// Everything on the page is saved.
    Saved { images: usize, runs: usize },
    /// Restored, but these saved records could not be read and were left out.
    Partial {
        images: usize,
        runs: usize,
        left_out: Vec<String>,
    },
    /// No IndexedDB here: the page works in memory only.
    Off(String),
    /// The last save failed; the next change tries again.
    Failed(String),
    /// Saved data this page cannot read; left alone until the user clears it.
    Unreadable(String),
}

/// A run file in the store, and the classifier it was written from (None until a restored run
/// is rebuilt on its model).
pub(super) struct RunFile {
    pub id: u32,
    pub trained: Option<Rc<Trained>>,
    pub file: u64,
    /// A restored run's file, kept until its model is loaded.
    pub pending: Option<Vec<u8>>,
}

#[derive(Default)]
pub(super) struct Inner {
    pub store: Option<Store>,
    /// Saving is on (after the restore, unless the store is off or unreadable).
    pub live: bool,
    /// File records known to be in the store.
    pub saved_keys: BTreeSet<String>,
    pub runs: Vec<RunFile>,
    pub next_run_file: u64,
    pub last_index: String,
    pub busy: bool,
    pub dirty: bool,
    pub generation: u64,
}

#[derive(Clone, Copy)]
pub struct Persist {
    pub status: RwSignal<SaveStatus>,
    /// A save is scheduled or under way.
    pub saving: RwSignal<bool>,
    inner: StoredValue<Rc<RefCell<Inner>>, LocalStorage>,
}

impl Persist {
    pub fn new() -> Self {
        Self {
            status: RwSignal::new(SaveStatus::Restoring),
            saving: RwSignal::new(false),
            inner: StoredValue::new_local(Rc::default()),
        }
    }

    pub(super) fn inner(&self) -> Rc<RefCell<Inner>> {
        self.inner.get_value()
    }
}
