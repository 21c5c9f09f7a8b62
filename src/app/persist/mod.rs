//! Keeping the page's images and finished runs across reloads, in the browser's IndexedDB.
//!
//! Records (see `crate::saved`): one per image (the original file's bytes), one per run (its
//! run file, `train::export`'s safetensors: prompts, head and settings) and an index (classes,
//! names, order, the held-out share, each run's curves and status). On start the index is read
//! and the page rebuilt from it (`restore`); after that every change of the data or the runs
//! schedules a save a moment later, which writes the new files first, then the index, then
//! deletes files nothing refers to any more, so a reload always finds a consistent state. Saves
//! run one at a time, off the click handlers; a failure (no IndexedDB in a private window, a full
//! store) sets one message and the page goes on in memory.

mod restore;
pub mod state;
mod store;
mod view;

use std::rc::Rc;

use js_sys::Uint8Array;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

use crate::app::browser::js;
use crate::app::runs::state::{RunRecord, Trained};
use crate::app::state::AppState;
use crate::saved::{INDEX_KEY, Saved, SavedClass, SavedEval, SavedImage, SavedRun, run_key};
use crate::train::export;
use state::{Persist, RunFile, SaveStatus};
pub use view::SaveStatusLine;

/// The IndexedDB database of the page.
const DB_NAME: &str = "bpt-lab";
/// How long a save waits for more changes (typing a class name).
const DEBOUNCE_MS: i32 = 300;

/// Starts persistence: restores the saved state, then saves every change.
pub fn start(app: AppState) {
    let p = app.persist;
    Effect::new(move |_| {
        app.data.track();
        app.runs.track();
        p.schedule(app);
    });
    Effect::new(move |_| {
        if let Some(model) = app.model.with(|m| m.ready()) {
            spawn_local(restore::rebuild_runs(app, p, model));
        }
    });
    spawn_local(restore::restore(app, p));
}

fn same(a: &Option<Rc<Trained>>, b: &Option<Rc<Trained>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Rc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

impl Persist {
    /// Saves a moment after the last of a burst of changes.
    fn schedule(self, app: AppState) {
        let generation = {
            let inner = self.inner();
            let mut inner = inner.borrow_mut();
            if !inner.live {
                return;
            }
            inner.generation += 1;
            inner.generation
        };
        self.saving.set(true);
        spawn_local(async move {
            js::sleep(DEBOUNCE_MS).await;
            if self.inner().borrow().generation == generation {
                self.save(app).await;
            }
        });
    }

    /// Saves until nothing changed during the save; one save at a time.
    async fn save(self, app: AppState) {
        let inner = self.inner();
        {
            let mut i = inner.borrow_mut();
            if i.busy {
                i.dirty = true;
                return;
            }
            i.busy = true;
        }
        let mut generation;
        loop {
            generation = {
                let mut i = inner.borrow_mut();
                i.dirty = false;
                i.generation
            };
            match self.write(app).await {
                // Records left out at the restore stay said for the rest of the visit.
                Ok((images, runs)) => self.status.update(|s| {
                    *s = match std::mem::replace(s, SaveStatus::Restoring) {
                        SaveStatus::Partial { left_out, .. } => SaveStatus::Partial {
                            images,
                            runs,
                            left_out,
                        },
                        _ => SaveStatus::Saved { images, runs },
                    }
                }),
                // A change made during a failed write is tried once more: it may free space.
                Err(e) => {
                    gloo::console::warn!(format!("BPT Lab: saving failed: {e}"));
                    self.status.set(SaveStatus::Failed(e));
                }
            }
            if !inner.borrow().dirty {
                break;
            }
        }
        inner.borrow_mut().busy = false;
        // A change during the last write has its own save scheduled.
        if inner.borrow().generation == generation {
            self.saving.set(false);
        }
    }

    /// Writes what is not in the store yet, then the index, then deletes what nothing refers to.
    /// Returns the numbers of images and runs saved.
    async fn write(self, app: AppState) -> Result<(usize, usize), String> {
        let inner = self.inner();
        let store = inner.borrow().store.clone().ok_or("no store")?;
        let (holdout, classes) = app.data.with_untracked(|d| {
            let classes: Vec<_> = d
                .classes
                .iter()
                .map(|c| {
                    let images: Vec<_> = c
                        .images
                        .iter()
                        .map(|im| (im.file, im.name.clone(), im.blob.clone()))
                        .collect();
                    (c.name.clone(), images)
                })
                .collect();
            (d.holdout, classes)
        });
        let mut saved = Saved {
            holdout,
            classes: Vec::new(),
            runs: Vec::new(),
            skipped: Vec::new(),
        };
        for (name, images) in classes {
            let mut class = SavedClass {
                name,
                images: Vec::new(),
            };
            for (file, image_name, blob) in images {
                let key = crate::saved::image_key(file);
                if !inner.borrow().saved_keys.contains(&key) {
                    let bytes = js::resolve(blob.array_buffer().into())
                        .await
                        .map_err(|e| format!("{image_name}: {e}"))?;
                    store.put(&key, &bytes).await?;
                    inner.borrow_mut().saved_keys.insert(key);
                }
                class.images.push(SavedImage {
                    file,
                    name: image_name,
                });
            }
            saved.classes.push(class);
        }

        let runs: Vec<RunRecord> = app.runs.with_untracked(|runs| {
            runs.iter()
                .filter(|r| !r.status.active())
                .cloned()
                .collect()
        });
        for run in runs {
            let known = inner
                .borrow()
                .runs
                .iter()
                // A run whose classifier was dropped (the GPU was lost) keeps its saved file.
                .find(|f| f.id == run.id && (run.result.is_none() || same(&f.trained, &run.result)))
                .map(|f| f.file);
            let file = match (known, &run.result) {
                (Some(file), _) => Some(file),
                (None, Some(trained)) => {
                    let bytes = export::to_safetensors(&trained.classifier, trained.extra.clone())
                        .await
                        .map_err(|e| format!("{}: {e}", run.label))?;
                    let file = {
                        let mut i = inner.borrow_mut();
                        let file = i.next_run_file;
                        i.next_run_file = file
                            .checked_add(1)
                            .ok_or("no run file numbers are left (clear the saved data)")?;
                        file
                    };
                    let key = run_key(file);
                    store
                        .put(&key, &Uint8Array::from(&bytes[..]).into())
                        .await?;
                    let mut i = inner.borrow_mut();
                    i.saved_keys.insert(key);
                    i.runs.push(RunFile {
                        id: run.id,
                        trained: Some(trained.clone()),
                        file,
                        pending: None,
                    });
                    Some(file)
                }
                (None, None) => None,
            };
            saved.runs.push(saved_run(&run, file));
        }

        let index = saved.to_json();
        if inner.borrow().last_index != index {
            store.put(INDEX_KEY, &JsValue::from_str(&index)).await?;
            inner.borrow_mut().last_index = index;
        }
        let keep = saved.file_keys();
        let stale: Vec<String> = inner
            .borrow()
            .saved_keys
            .difference(&keep)
            .cloned()
            .collect();
        store.delete(&stale).await?;
        let mut i = inner.borrow_mut();
        for key in &stale {
            i.saved_keys.remove(key);
        }
        i.runs.retain(|f| keep.contains(&run_key(f.file)));
        let images = saved.classes.iter().map(|c| c.images.len()).sum();
        Ok((images, saved.runs.len()))
    }

    /// Empties the store and the page (classes back to two empty ones, finished runs gone),
    /// then saves again from there.
    pub async fn clear(self, app: AppState) {
        let inner = self.inner();
        let store = inner.borrow().store.clone();
        if let Some(store) = store
            && let Err(e) = store.clear().await
        {
            self.status.set(SaveStatus::Failed(e));
            return;
        }
        {
            let mut i = inner.borrow_mut();
            i.saved_keys.clear();
            i.runs.clear();
            i.next_run_file = 0;
            i.last_index.clear();
            i.live = i.store.is_some();
        }
        let urls = app
            .data
            .try_update(|d| {
                let urls = d.clear_classes();
                d.rejected.clear();
                d.add_class();
                d.add_class();
                urls
            })
            .unwrap_or_default();
        urls.iter().for_each(|u| js::revoke_url(u));
        app.runs.update(|r| r.retain(|r| r.status.active()));
        if inner.borrow().live {
            self.status.set(SaveStatus::Saved { images: 0, runs: 0 });
        }
    }
}

/// A run as the index keeps it.
fn saved_run(run: &RunRecord, file: Option<u64>) -> SavedRun {
    let message = match &run.status {
        crate::app::runs::state::RunStatus::Failed(m) => Some(m.clone()),
        _ => None,
    };
    SavedRun {
        id: run.id,
        label: run.label.clone(),
        model: run.model.clone(),
        model_hash: run.model_hash.clone(),
        status: run.status.name().to_string(),
        message,
        step: run.step,
        total_steps: run.total_steps,
        steps_per_s: run.steps_per_s,
        summary: run.summary.clone(),
        losses: run.losses.clone(),
        evals: run
            .evals
            .iter()
            .map(|e| SavedEval {
                step: e.step,
                epoch: e.epoch,
                epoch_end: e.epoch_end,
                accuracy: e.accuracy,
                loss: e.loss,
                correct: e.correct,
                total: e.total,
            })
            .collect(),
        file,
        member: run.member.clone(),
    }
}
