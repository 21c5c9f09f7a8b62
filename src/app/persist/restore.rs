//! Rebuilding the page from what an earlier visit saved: classes and images (decoded again from
//! the saved files), the held-out share, and runs with their curves. A run's classifier needs
//! its backbone on the GPU, so runs come back without one and are rebuilt from their run files
//! (as an imported file is) when a model with the same weights (by their hash; by name for runs
//! saved before the hash was kept) is loaded.

use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use leptos::prelude::*;
use web_sys::Blob;

use super::state::{Persist, RunFile, SaveStatus};
use super::store::Store;
use crate::app::browser::js::{self, PickedFile};
use crate::app::data::decode;
use crate::app::data::state::{DataImage, ImageClasses, Rejected};
use crate::app::model::state::LoadedModel;
use crate::app::runs::state::{EvalPoint, RunRecord, RunStatus, Trained, next_run_id};
use crate::app::state::AppState;
use crate::saved::{INDEX_KEY, Saved, SavedRun, image_key, orphans, run_key};
use crate::train::export;

/// Opens the store and restores what it holds; then turns saving on.
pub async fn restore(app: AppState, p: Persist) {
    let inner = p.inner();
    let store = match Store::open(super::DB_NAME).await {
        Ok(store) => store,
        Err(e) => {
            gloo::console::warn!(format!("BPT Lab: no IndexedDB: {e}"));
            return p.status.set(SaveStatus::Off(e));
        }
    };
    inner.borrow_mut().store = Some(store.clone());
    let index = match store.get(INDEX_KEY).await {
        Ok(index) => index.and_then(|v| v.as_string()),
        Err(e) => {
            inner.borrow_mut().store = None;
            return p.status.set(SaveStatus::Off(e));
        }
    };
    let saved = match index.map(|text| Saved::from_json(&text)).transpose() {
        Ok(saved) => saved,
        Err(e) => return p.status.set(SaveStatus::Unreadable(e.to_string())),
    };
    // Files an interrupted save left behind take space and nothing will read them.
    if let Ok(keys) = store.keys().await {
        let _ = store.delete(&orphans(saved.as_ref(), keys)).await;
    }
    if let Some(saved) = &saved {
        restore_data(app, p, &store, saved).await;
        restore_runs(app, p, &store, saved).await;
    }
    inner.borrow_mut().live = true;
    let images = app
        .data
        .with_untracked(|d| d.classes.iter().map(|c| c.images.len()).sum());
    let runs = app.runs.with_untracked(|r| r.len());
    // Records that could not be read are said once; the next save writes the index without them.
    let left_out = saved.map(|s| s.skipped).unwrap_or_default();
    p.status.set(if left_out.is_empty() {
        SaveStatus::Saved { images, runs }
    } else {
        SaveStatus::Partial {
            images,
            runs,
            left_out,
        }
    });
    p.schedule(app);
    if let Ok(model) = app.ready_model() {
        rebuild_runs(app, p, model).await;
    }
}

async fn restore_data(app: AppState, p: Persist, store: &Store, saved: &Saved) {
    let mut data = ImageClasses::default();
    data.holdout = saved.holdout.clamp(0.0, 0.9);
    for class in &saved.classes {
        let id = data.add_named_class(class.name.clone());
        for im in &class.images {
            data.reserve_file(im.file);
            let key = image_key(im.file);
            let restored = async {
                let buffer = store.get(&key).await?.ok_or("its saved copy is missing")?;
                let blob = Blob::new_with_u8_array_sequence(&Array::of1(&buffer))
                    .map_err(|e| js::message(&e))?;
                let file = PickedFile {
                    name: im.name.clone(),
                    blob,
                };
                let image = decode::decode(&file).await?;
                Ok::<_, String>((file, image))
            };
            match restored.await {
                Ok((file, image)) => {
                    p.inner().borrow_mut().saved_keys.insert(key);
                    if let Some(c) = data.class_mut(id) {
                        c.images.push(DataImage {
                            name: file.name,
                            image: image.into(),
                            thumb: js::object_url(&file.blob),
                            blob: file.blob,
                            file: im.file,
                        });
                    }
                }
                Err(reason) => data.rejected.push(Rejected {
                    name: im.name.clone(),
                    reason: format!("not restored: {reason}"),
                }),
            }
        }
    }
    let urls = app
        .data
        .try_update(|d| {
            let urls = d.clear_classes();
            *d = data;
            urls
        })
        .unwrap_or_default();
    urls.iter().for_each(|u| js::revoke_url(u));
}

fn status(run: &SavedRun) -> RunStatus {
    match run.status.as_str() {
        "finished" => RunStatus::Finished,
        "imported" => RunStatus::Imported,
        "failed" => RunStatus::Failed(run.message.clone().unwrap_or_default()),
        _ => RunStatus::Stopped,
    }
}

async fn restore_runs(app: AppState, p: Persist, store: &Store, saved: &Saved) {
    // Runs already on the page (none, unless one was imported during the restore) keep their ids.
    let taken = app.runs.with_untracked(|r| next_run_id(r));
    let mut restored = Vec::new();
    for (i, s) in saved.runs.iter().enumerate() {
        let offset = u32::try_from(i).unwrap_or(u32::MAX);
        let id = if taken == 0 {
            s.id
        } else {
            taken.saturating_add(offset)
        };
        let mut run = RunRecord::new(id, s.label.clone(), s.model.clone());
        run.model_hash = s.model_hash.clone();
        run.member = s.member.clone();
        run.status = status(s);
        run.step = s.step;
        run.total_steps = s.total_steps;
        run.steps_per_s = s.steps_per_s;
        run.summary = s.summary.clone();
        run.losses = s.losses.clone();
        run.evals = s
            .evals
            .iter()
            .map(|e| EvalPoint {
                step: e.step,
                epoch: e.epoch,
                epoch_end: e.epoch_end,
                accuracy: e.accuracy,
                loss: e.loss,
                correct: e.correct,
                total: e.total,
            })
            .collect();
        if let Some(file) = s.file {
            let key = run_key(file);
            match store.get(&key).await {
                Ok(Some(bytes)) => {
                    let bytes = Uint8Array::new(&bytes).to_vec();
                    // Runs saved before the index kept the hash: their run file records it.
                    if run.model_hash.is_none() {
                        run.model_hash = export::recorded_model_hash(&bytes);
                    }
                    let i = p.inner();
                    let mut i = i.borrow_mut();
                    i.saved_keys.insert(key);
                    i.runs.push(RunFile {
                        id,
                        trained: None,
                        file,
                        pending: Some(bytes),
                    });
                }
                _ => {
                    run.summary = format!("{} \u{00b7} its saved run file is missing", run.summary)
                }
            }
        }
        restored.push(run);
    }
    // A read index's numbers are all below the last, so there is a next one.
    p.inner().borrow_mut().next_run_file = saved.next_numbers().map_or(u64::MAX, |n| n.1);
    app.runs.update(|r| r.extend(restored));
}

/// Gives restored runs trained on `model` their classifier back, from their run files.
pub async fn rebuild_runs(app: AppState, p: Persist, model: Rc<LoadedModel>) {
    let Ok(gpu) = app.gpu() else {
        return;
    };
    // Runs of this model without a classifier: restored ones (their file read at start) and
    // ones whose classifier went with a lost GPU (their file is read again).
    let (mut todo, reread) = {
        let inner = p.inner();
        let mut inner = inner.borrow_mut();
        let waiting: Vec<u32> = app.runs.with_untracked(|r| {
            r.iter()
                .filter(|r| r.belongs_to(&model) && r.result.is_none())
                .map(|r| r.id)
                .collect()
        });
        let mut todo: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut reread: Vec<(u32, u64)> = Vec::new();
        for f in inner.runs.iter_mut().filter(|f| waiting.contains(&f.id)) {
            match f.pending.take() {
                Some(bytes) => todo.push((f.id, bytes)),
                None => reread.push((f.id, f.file)),
            }
        }
        (todo, reread)
    };
    if !reread.is_empty()
        && let Ok(store) = Store::open(super::DB_NAME).await
    {
        for (id, file) in reread {
            if let Ok(Some(bytes)) = store.get(&run_key(file)).await {
                todo.push((id, Uint8Array::new(&bytes).to_vec()));
            }
        }
    }
    for (id, bytes) in todo {
        match export::read_for(&bytes, &model.backbone, gpu.burn_device()) {
            Ok(classifier) => {
                // The original settings and provenance, so a later export carries them again.
                let extra = export::recorded(&bytes).unwrap_or(serde_json::Value::Null);
                let trained = Rc::new(Trained {
                    classifier,
                    backbone: model.backbone.clone(),
                    extra,
                    file: bytes,
                });
                if let Some(f) = p.inner().borrow_mut().runs.iter_mut().find(|f| f.id == id) {
                    f.trained = Some(trained.clone());
                }
                app.update_run(id, |r| r.result = Some(trained));
            }
            Err(e) => app.update_run(id, |r| {
                r.summary = format!("{} \u{00b7} its saved run file was refused: {e}", r.summary)
            }),
        }
    }
}
