//! The training loop of the page, the same loop as `bpt-lab train`, written against two small
//! interfaces so it runs unchanged in the training worker (`worker_main`) and, where a worker
//! cannot start, on the page's thread: `control` says what the user asked, `emit` reports.
//!
//! Each step awaits its loss read-back, then the loop yields to the event loop (where pause and
//! stop messages arrive) before the next step. Timing uses `performance.now()` and leaves paused
//! time out. The finished classifier leaves as a run file, the same bytes an export writes.

use std::sync::Arc;

use burn::tensor::Device;
use serde_json::json;

use super::js;
use super::run_state::{Control, EvalPoint, RunSettings, round_to_patch};
use super::worker_protocol::{Event, Phase};
use crate::model::Backbone;
use crate::train::{Dataset, Session, export};
use crate::whiten::WhitenConfig;

/// Training views for the whitening statistics: fewer than the CLI's 100, for a browser GPU.
const WHITEN_IMAGES: usize = 64;

/// One run to train.
pub struct Job {
    pub run: u32,
    pub settings: RunSettings,
    pub backbone: Arc<Backbone>,
    /// The model's name, written into the run file.
    pub model_name: String,
    pub data: Dataset,
}

/// Where the loop reports: events, and for `Finished` the run file.
pub trait Report {
    fn control(&self) -> Control;
    fn emit(&self, event: Event, file: Option<Vec<u8>>);
}

/// Trains `job` on `device`; every outcome, failures included, is reported as an event.
pub async fn run(job: Job, device: &Device, report: &dyn Report) {
    let run = job.run;
    if let Err(message) = train(job, device, report).await {
        report.emit(Event::Failed { run, message }, None);
    }
}

/// Waits while paused; true when the user stopped the run.
async fn stopped(run: u32, report: &dyn Report, paused_ms: &mut f64) -> bool {
    let mut told = false;
    loop {
        match report.control() {
            Control::Run => return false,
            Control::Stop => return true,
            Control::Pause => {
                if !told {
                    report.emit(
                        Event::Phase {
                            run,
                            phase: Phase::Paused,
                        },
                        None,
                    );
                    told = true;
                }
                let t = js::now_ms();
                js::sleep(100).await;
                *paused_ms += js::now_ms() - t;
            }
        }
    }
}

async fn train(job: Job, device: &Device, report: &dyn Report) -> Result<(), String> {
    let Job {
        run,
        settings,
        backbone,
        model_name,
        data,
    } = job;
    let size = round_to_patch(settings.size, backbone.config.patch_size);
    let whiten = WhitenConfig {
        max_images: WHITEN_IMAGES,
        ..WhitenConfig::default()
    };
    js::sleep(0).await;
    let mut session = Session::new(
        backbone,
        settings.prompt_config(),
        settings.train_config(size),
        whiten.clone(),
        &data,
        device,
    )
    .await
    .map_err(|e| e.to_string())?;
    let total_steps = session.total_steps();
    report.emit(Event::Started { run, total_steps }, None);

    let started = js::now_ms();
    let mut paused_ms = 0.0;
    let mut interrupted = false;
    'epochs: while !session.finished() {
        let epoch = session.epoch();
        for batch in session.epoch_batches(data.train.len()) {
            if stopped(run, report, &mut paused_ms).await {
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
            let step = session.step;
            let active_s = (js::now_ms() - started - paused_ms) / 1e3;
            let steps_per_s = step as f64 / active_s.max(1e-3);
            let seconds_left = total_steps.saturating_sub(step) as f64 / steps_per_s.max(1e-9);
            report.emit(
                Event::Step {
                    run,
                    step,
                    loss: stats.loss,
                    steps_per_s,
                    seconds_left,
                },
                None,
            );
            js::sleep(0).await;
        }
        if data.test.is_empty() {
            continue;
        }
        report.emit(
            Event::Phase {
                run,
                phase: Phase::Evaluating,
            },
            None,
        );
        let eval = session
            .evaluate(&data.test)
            .await
            .map_err(|e| e.to_string())?;
        let point = EvalPoint {
            epoch: epoch + 1,
            accuracy: eval.accuracy(),
            loss: eval.loss,
            correct: eval.correct,
            total: eval.total,
        };
        report.emit(Event::Eval { run, point }, None);
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
        "whitening": format!("{whiten:?}"),
        "model": model_name,
    });
    let file = export::to_safetensors(&session.model, extra.clone())
        .await
        .map_err(|e| e.to_string())?;
    report.emit(
        Event::Finished {
            run,
            stopped: interrupted,
            extra,
        },
        Some(file),
    );
    Ok(())
}
