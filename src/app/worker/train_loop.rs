//! A page run: the engine's training loop (`train::run`, the same as `bpt-lab train`) with an
//! observer that reports to the page, written against two small interfaces so it runs
//! unchanged in the training worker (`serve`) and, where a worker cannot start, on the
//! page's thread: `control` says what the user asked, `emit` reports.
//!
//! Before each step the observer yields to the event loop (where pause and stop messages
//! arrive). Timing uses `performance.now()` and leaves paused time out. The finished classifier
//! leaves as a run file, the same bytes an export writes.

use std::sync::Arc;

use burn::tensor::Device;

use crate::app::browser::js;
use crate::app::runs::state::{Control, EvalPoint, RunSettings, round_to_patch};
use crate::app::worker::protocol::{Event, Phase};
use crate::model::Backbone;
use crate::train::run::{self, Flow, Observer, Plan};
use crate::train::{Dataset, Session, StepStats, export};
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
    if let Err(e) = train(job, device, report).await {
        let message = e.to_string();
        report.emit(Event::Failed { run, message }, None);
    }
}

/// The page's side of the engine's loop: step and evaluation events, yields between steps,
/// and waits while paused.
struct PageObserver<'a> {
    run: u32,
    report: &'a dyn Report,
    total_steps: usize,
    started: f64,
    paused_ms: f64,
}

impl Observer for PageObserver<'_> {
    fn started(&mut self, total_steps: usize) {
        self.total_steps = total_steps;
        self.started = js::now_ms();
    }

    fn step(&mut self, stats: &StepStats) {
        let step = stats.step + 1;
        let active_s = (js::now_ms() - self.started - self.paused_ms) / 1e3;
        let steps_per_s = step as f64 / active_s.max(1e-3);
        let seconds_left = self.total_steps.saturating_sub(step) as f64 / steps_per_s.max(1e-9);
        self.report.emit(
            Event::Step {
                run: self.run,
                step,
                loss: stats.loss,
                steps_per_s,
                seconds_left,
            },
            None,
        );
    }

    fn evaluating(&mut self, _step: usize) {
        self.report.emit(
            Event::Phase {
                run: self.run,
                phase: Phase::Evaluating,
            },
            None,
        );
    }

    fn evaluated(&mut self, point: &run::EvalPoint) {
        if let Some(eval) = point.test {
            let point = EvalPoint {
                step: point.step,
                epoch: point.epoch,
                epoch_end: point.epoch_end,
                accuracy: eval.accuracy(),
                loss: eval.loss,
                correct: eval.correct,
                total: eval.total,
            };
            self.report.emit(
                Event::Eval {
                    run: self.run,
                    point,
                },
                None,
            );
        }
    }

    /// Yields to the event loop (where pause and stop arrive), then waits while paused.
    async fn proceed(&mut self) -> Flow {
        js::sleep(0).await;
        let mut told = false;
        loop {
            match self.report.control() {
                Control::Run => return Flow::Continue,
                Control::Stop => return Flow::Stop,
                Control::Pause => {
                    if !told {
                        self.report.emit(
                            Event::Phase {
                                run: self.run,
                                phase: Phase::Paused,
                            },
                            None,
                        );
                        told = true;
                    }
                    let t = js::now_ms();
                    js::sleep(100).await;
                    self.paused_ms += js::now_ms() - t;
                }
            }
        }
    }
}

async fn train(job: Job, device: &Device, report: &dyn Report) -> crate::error::Result<()> {
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
    let session = Session::new(
        backbone,
        settings.prompt_config(),
        settings.train_config(size),
        whiten,
        &data,
        device,
    )
    .await?;
    report.emit(
        Event::Started {
            run,
            total_steps: session.total_steps(),
        },
        None,
    );
    let mut observer = PageObserver {
        run,
        report,
        total_steps: 0,
        started: js::now_ms(),
        paused_ms: 0.0,
    };
    let plan = Plan {
        extra_evals: if settings.early_eval {
            vec![crate::compare::early_step(session.total_steps())]
        } else {
            Vec::new()
        },
        ..Plan::default()
    };
    let outcome = run::run(session, &data, &plan, &mut observer).await?;
    let extra = run::metadata(&outcome.session, &model_name);
    let file = export::to_safetensors(&outcome.session.model, extra.clone()).await?;
    report.emit(
        Event::Finished {
            run,
            stopped: outcome.stopped,
            extra,
        },
        Some(file),
    );
    Ok(())
}
