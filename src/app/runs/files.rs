//! Run files in and out: the same safetensors file as `bpt-lab train`'s run.safetensors
//! (names in `train::export`), downloaded through a Blob URL and read back from a file input.

use std::rc::Rc;

use leptos::prelude::*;

use crate::app::browser::js::{self, PickedFile};
use crate::app::runs::state::{RunRecord, RunStatus, Trained, next_run_id};
use crate::app::state::AppState;
use crate::train::export;

/// A file name from a run label: "BPT-bilinear m=16 p=16" -> "bpt-bilinear-m16-p16.safetensors".
pub fn file_name(label: &str) -> String {
    let mut name = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if (c == ' ' || c == '-') && !name.ends_with('-') {
            name.push('-');
        }
    }
    format!("{}.safetensors", name.trim_matches('-'))
}

/// Writes the run's classifier and offers it as a download.
pub async fn export(trained: &Trained, label: &str) -> crate::error::Result<()> {
    let bytes = export::to_safetensors(&trained.classifier, trained.extra.clone()).await?;
    Ok(js::download(&bytes, &file_name(label))?)
}

/// Reads a run file for the loaded model and adds it to the runs as an imported run.
pub async fn import(app: AppState, file: PickedFile) {
    app.io_error.set(None);
    let result = async {
        let model = app
            .ready_model()
            .map_err(|_| "load the model the run was trained on first")?;
        let gpu = app.gpu()?;
        let bytes = file.bytes().await?;
        let classifier = export::read_for(&bytes, &model.backbone, gpu.burn_device())?;
        let other_weights =
            export::recorded_model_hash(&bytes).is_some_and(|h| h != model.backbone.weights_hash);
        Ok::<_, crate::error::Error>((model, classifier, other_weights, bytes))
    }
    .await;
    match result {
        Ok((model, classifier, other_weights, bytes)) => {
            let id = app.runs.with_untracked(|r| next_run_id(r));
            let c = &classifier.prompts.config;
            let mut run = RunRecord::new(
                id,
                format!(
                    "{} (imported, {} m={}){}",
                    file.name,
                    c.method.name(),
                    c.num_prompts,
                    // It fits the model's shapes but was trained on other weights: say so.
                    if other_weights {
                        " \u{2014} trained on other weights than this model's"
                    } else {
                        ""
                    }
                ),
                model.name.clone(),
            );
            run.model_hash = Some(model.backbone.weights_hash.clone());
            run.status = RunStatus::Imported;
            run.summary = format!("classes: {}", classifier.classes.join(", "));
            run.result = Some(Rc::new(Trained {
                classifier,
                backbone: model.backbone.clone(),
                extra: serde_json::json!({ "imported_from": file.name }),
                file: bytes,
            }));
            app.runs.update(|r| r.push(run));
        }
        Err(e) => app.io_error.set(Some(format!("{}: {e}", file.name))),
    }
}
