//! The training loop of the page: the same loop as `bpt-lab train`, driven from the event loop.
//!
//! Each step awaits its loss read-back (the GPU works while the page stays responsive), then
//! the loop yields to the event loop before the next step, checks pause and stop, and publishes
//! progress and curves. Timing uses `performance.now()` and leaves paused time out.

use std::rc::Rc;

use leptos::prelude::*;
use serde_json::json;

use super::js;
use super::model_state::LoadedModel;
use super::run_state::{
    Control, EvalPoint, RunRecord, RunSettings, RunStatus, Trained, round_to_patch,
};
use super::state::AppState;
use crate::train::{Dataset, Session};
use crate::whiten::WhitenConfig;

/// Training views for the whitening statistics: fewer than the CLI's 100, for a browser GPU.
const WHITEN_IMAGES: usize = 64;

/// Starts a run with the current data and settings; errors before the start become a failed
/// run with the message, so they show where the user looks.
pub fn start(app: AppState, settings: RunSettings) {
    let id = app
        .runs
        .with_untracked(|r| r.iter().map(|r| r.id + 1).max().unwrap_or(0));
    let model = app.model.with_untracked(|m| m.ready());
    let model_name = model.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    let mut record = RunRecord::new(id, settings.label(), model_name);
    let prepared = model
        .ok_or_else(|| "load a model first (Model panel)".to_string())
        .and_then(|m| {
            let data = app
                .data
                .with_untracked(|d| d.dataset(settings.seed))
                .map_err(|e| e.to_string())?;
            Ok((m, data))
        });
    let (model, data) = match prepared {
        Ok(v) => v,
        Err(message) => {
            record.status = RunStatus::Failed(message);
            app.runs.update(|r| r.push(record));
            return;
        }
    };
    record.summary = format!(
        "{} classes, {} training and {} held-out images",
        data.classes.len(),
        data.train.len(),
        data.test.len()
    );
    app.runs.update(|r| r.push(record));
    app.control.set(Control::Run);
    app.active_run.set(Some(id));
    leptos::task::spawn_local(async move {
        if let Err(message) = train(app, id, settings, model, data).await {
            app.update_run(id, |r| r.status = RunStatus::Failed(message));
        }
        app.active_run.set(None);
    });
}

/// Waits while paused; true when the user stopped the run.
async fn stopped(app: AppState, id: u32, paused_ms: &mut f64) -> bool {
    loop {
        match app.control.get_untracked() {
            Control::Run => return false,
            Control::Stop => return true,
            Control::Pause => {
                app.update_run(id, |r| {
                    if r.status != RunStatus::Paused {
                        r.status = RunStatus::Paused;
                    }
                });
                let t = js::now_ms();
                js::sleep(100).await;
                *paused_ms += js::now_ms() - t;
            }
        }
    }
}

async fn train(
    app: AppState,
    id: u32,
    settings: RunSettings,
    model: Rc<LoadedModel>,
    data: Dataset,
) -> Result<(), String> {
    let gpu = app
        .gpu
        .get_untracked()
        .ok_or("the GPU is not ready: see the GPU panel")?;
    let device = gpu.burn_device().clone();
    let size = round_to_patch(settings.size, model.backbone.config.patch_size);
    let whiten = WhitenConfig {
        max_images: WHITEN_IMAGES,
        ..WhitenConfig::default()
    };
    // Let the page show the new run before the whitening estimate.
    js::sleep(0).await;
    let mut session = Session::new(
        model.backbone.clone(),
        settings.prompt_config(),
        settings.train_config(size),
        whiten,
        &data,
        &device,
    )
    .await
    .map_err(|e| e.to_string())?;
    let total = session.total_steps();
    app.update_run(id, |r| {
        r.total_steps = total;
        r.status = RunStatus::Training;
    });

    let started = js::now_ms();
    let mut paused_ms = 0.0;
    let mut interrupted = false;
    'epochs: while !session.finished() {
        let epoch = session.epoch();
        for batch in session.epoch_batches(data.train.len()) {
            if stopped(app, id, &mut paused_ms).await {
                interrupted = true;
                break 'epochs;
            }
            let stats = session
                .step(&data.train, &batch)
                .await
                .map_err(|e| e.to_string())?;
            if !stats.loss.is_finite() {
                return Err(format!(
                    "the loss became {} at step {}: try a smaller learning rate",
                    stats.loss,
                    stats.step + 1
                ));
            }
            let done = session.step;
            let active_s = (js::now_ms() - started - paused_ms) / 1e3;
            let rate = done as f64 / active_s.max(1e-3);
            app.update_run(id, |r| {
                r.status = RunStatus::Training;
                r.step = done;
                r.steps_per_s = rate;
                r.seconds_left = Some(total.saturating_sub(done) as f64 / rate.max(1e-9));
                r.losses.push((done, stats.loss));
            });
            js::sleep(0).await;
        }
        if data.test.is_empty() {
            continue;
        }
        app.update_run(id, |r| r.status = RunStatus::Evaluating);
        let eval = session
            .evaluate(&data.test)
            .await
            .map_err(|e| e.to_string())?;
        app.update_run(id, |r| {
            r.evals.push(EvalPoint {
                epoch: epoch + 1,
                accuracy: eval.accuracy(),
                loss: eval.loss,
                correct: eval.correct,
                total: eval.total,
            })
        });
        js::sleep(0).await;
    }

    let extra = json!({
        "train": {
            "lr": settings.lr, "epochs": settings.epochs, "batch": settings.batch,
            "seed": settings.seed, "steps": session.step,
            "warmup_epochs": session.config.warmup_epochs,
            "weight_decay": session.config.weight_decay,
            "weight_decay_head": session.config.weight_decay_head,
        },
        "whitening": format!("{:?}", WhitenConfig { max_images: WHITEN_IMAGES, ..WhitenConfig::default() }),
        "model": model.name,
    });
    let trained = Trained {
        classifier: session.model.clone(),
        backbone: model.backbone.clone(),
        extra,
    };
    app.update_run(id, |r| {
        r.status = if interrupted {
            RunStatus::Stopped
        } else {
            RunStatus::Finished
        };
        r.seconds_left = None;
        r.result = Some(Rc::new(trained));
    });
    Ok(())
}
