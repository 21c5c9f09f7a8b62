//! Starting runs and following them: the run trains in the training worker (`worker::client`),
//! so kernel compilation and long steps never block the page; where a worker cannot train
//! (no WebGPU in workers), the same loop (`train_loop`) runs on the page's thread instead and
//! yields between steps. Either way its events land in [`apply`].

use std::rc::Rc;

use leptos::prelude::*;

use crate::app::analysis::state::{Gathered, split_tensors};
use crate::app::model::state::LoadedModel;
use crate::app::runs::state::round_to_patch;
use crate::app::runs::state::{
    Control, Member, Queued, RunRecord, RunSettings, RunStatus, Trained, next_run_id,
};
use crate::app::state::AppState;
use crate::app::worker::client::{OnCrash, OnEvent, TrainingWorker};
use crate::app::worker::protocol::{Event, Phase};
use crate::app::worker::train_loop::{self, Job, Report};
use crate::model::fit::check_attention;
use crate::train::export;

/// Starts a run with the current data and settings; errors before the start become a failed
/// run with the message, so they show where the user looks.
pub fn start(app: AppState, settings: RunSettings) {
    app.queue.set(Vec::new());
    start_run(app, settings, None);
}

/// Runs `queue` one after the other on the same data (a comparison); a stop, a failure before a
/// run could start or a lost GPU drops the runs not started yet.
pub fn start_queue(app: AppState, queue: Vec<Queued>) {
    app.queue.set(queue);
    next(app);
}

/// Starts the next queued run when none is training.
fn next(app: AppState) {
    if app.active_run.get_untracked().is_some() {
        return;
    }
    let Some(first) = app
        .queue
        .try_update(|q| (!q.is_empty()).then(|| q.remove(0)))
        .flatten()
    else {
        return;
    };
    if !start_run(app, first.settings, Some(first.member)) {
        app.queue.set(Vec::new());
    }
}

/// Refuses, before anything is allocated, a run whose attention scores would not fit one of the
/// GPU's storage bindings (a large side or batch on a model with many heads).
fn fits(app: AppState, model: &LoadedModel, settings: &RunSettings) -> crate::error::Result<()> {
    let b = &model.backbone;
    let size = round_to_patch(settings.size, b.config.patch_size);
    let prompts = settings.prompt_config().effective().num_prompts;
    let tokens = b.tokens_per_image(size, size, prompts);
    let binding = app.gpu()?.max_f32_per_binding() as u64;
    check_attention(b.config.num_heads, settings.batch, tokens, binding)?;
    Ok(())
}

/// Starts one run; false when it failed before it could start.
fn start_run(app: AppState, settings: RunSettings, member: Option<Member>) -> bool {
    let id = app.runs.with_untracked(|r| next_run_id(r));
    let model = app.ready_model();
    let model_name = model.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    let mut record = RunRecord::new(id, settings.label(), model_name);
    record.model_hash = model.as_ref().ok().map(|m| m.backbone.weights_hash.clone());
    record.training_on = model.as_ref().ok().cloned();
    record.member = member;
    let prepared = model.and_then(|m| {
        fits(app, &m, &settings)?;
        let data = app.data.with_untracked(|d| d.dataset(settings.seed));
        Ok((m, data.map_err(crate::error::Error::from)?))
    });
    let (model, data) = match prepared {
        Ok(v) => v,
        Err(message) => {
            record.status = RunStatus::Failed(message);
            app.runs.update(|r| r.push(record));
            return false;
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
        match worker(app).await {
            Ok(worker) => {
                if let Err(message) = worker.train(id, settings, &model, &data) {
                    apply(app, Event::Failed { run: id, message }, None);
                }
            }
            Err(reason) => {
                gloo::console::warn!(format!("BPT Lab: training on the page's thread ({reason})"));
                app.update_run(id, |r| {
                    r.summary.push_str(" · trained on the page's thread")
                });
                let job = Job {
                    run: id,
                    settings,
                    backbone: model.backbone.clone(),
                    model_name: model.name.clone(),
                    data,
                };
                let gpu = match app.gpu() {
                    Ok(gpu) => gpu,
                    Err(message) => return apply(app, Event::Failed { run: id, message }, None),
                };
                train_loop::run(job, gpu.burn_device(), &OnPage(app)).await;
            }
        }
    });
    true
}

/// Passes the user's pause, resume and stop to the run in progress.
pub fn control(app: AppState, control: Control) {
    app.control.set(control);
    if control == Control::Stop {
        app.queue.set(Vec::new());
    }
    if let Some(run) = app.active_run.get_untracked() {
        app.worker.control(run, control);
    }
}

/// The loop on the page's thread reports straight into the page's state.
struct OnPage(AppState);

impl Report for OnPage {
    fn control(&self) -> Control {
        self.0.control.get_untracked()
    }

    fn emit(&self, event: Event, file: Option<Vec<u8>>) {
        apply(self.0, event, file);
    }
}

/// The worker stopped (a panic, or the browser ended it): the run in progress fails, and the
/// next run starts a new worker.
fn crashed(app: AppState, message: String) {
    app.worker.discard();
    if let Some(run) = app.active_run.get_untracked() {
        let message = format!("the training worker stopped: {message}");
        apply(app, Event::Failed { run, message }, None);
    }
}

/// Hands a gather's result (the distributions' pictures through the model) to its job.
fn gathered(app: AppState, event: Event, file: Option<Vec<u8>>) {
    match event {
        Event::Gathered {
            job,
            counts,
            tensors,
            whitening,
        } => {
            let bytes = file.unwrap_or_default();
            let result = split_tensors(tensors, &bytes).map(|tensors| Gathered {
                counts,
                tensors,
                whitening,
            });
            app.gather.deliver(job, result);
        }
        Event::GatherFailed { job, message } => app.gather.deliver(job, Err(message)),
        _ => {}
    }
}

/// The training worker (started with this module's event handlers on first use), or why
/// there is none here.
pub async fn worker(app: AppState) -> Result<Rc<TrainingWorker>, String> {
    let on_event: OnEvent = Rc::new(move |event, file| apply(app, event, file));
    let on_crash: OnCrash = Rc::new(move |message| crashed(app, message));
    app.worker.acquire(on_event, on_crash).await
}

/// Applies a run's event to the page. Events of a run that is no longer active (it failed when
/// the GPU was lost) are dropped.
pub fn apply(app: AppState, event: Event, file: Option<Vec<u8>>) {
    let run = match &event {
        Event::Ready { .. } | Event::Unavailable { .. } => return,
        Event::Progress { job, done, total } => {
            return app.gather.report_progress(*job, *done, *total);
        }
        Event::Gathered { .. } | Event::GatherFailed { .. } => return gathered(app, event, file),
        Event::Predicted { job, probabilities } => {
            return app.predictions.deliver(*job, Ok(probabilities.clone()));
        }
        Event::PredictFailed { job, message } => {
            return app.predictions.deliver(*job, Err(message.clone()));
        }
        Event::Started { run, .. }
        | Event::Phase { run, .. }
        | Event::Step { run, .. }
        | Event::Eval { run, .. }
        | Event::Finished { run, .. }
        | Event::Failed { run, .. } => *run,
    };
    let active = app
        .runs
        .with_untracked(|runs| runs.iter().any(|r| r.id == run && r.status.active()));
    let ends = matches!(event, Event::Finished { .. } | Event::Failed { .. });
    if active {
        update(app, run, event, file);
    }
    if ends {
        app.update_run(run, |r| r.training_on = None);
        if app.active_run.get_untracked() == Some(run) {
            app.active_run.set(None);
            next(app);
        }
    }
}

fn update(app: AppState, run: u32, event: Event, file: Option<Vec<u8>>) {
    match event {
        Event::Started { total_steps, .. } => app.update_run(run, |r| {
            r.total_steps = total_steps;
            r.status = RunStatus::Training;
        }),
        Event::Phase { phase, .. } => app.update_run(run, |r| {
            r.status = match phase {
                Phase::Paused => RunStatus::Paused,
                Phase::Evaluating => RunStatus::Evaluating,
            }
        }),
        Event::Step {
            step,
            loss,
            steps_per_s,
            seconds_left,
            ..
        } => app.update_run(run, |r| {
            r.status = RunStatus::Training;
            r.step = step;
            r.steps_per_s = steps_per_s;
            r.seconds_left = Some(seconds_left);
            r.losses.push((step, loss));
        }),
        Event::Eval { point, .. } => app.update_run(run, |r| r.evals.push(point)),
        Event::Finished { stopped, extra, .. } => {
            let result = finished(app, run, file, extra);
            app.update_run(run, |r| {
                r.seconds_left = None;
                match result {
                    Ok(trained) => {
                        r.status = if stopped {
                            RunStatus::Stopped
                        } else {
                            RunStatus::Finished
                        };
                        r.result = Some(Rc::new(trained));
                    }
                    Err(message) => r.status = RunStatus::Failed(message),
                }
            });
        }
        Event::Failed { message, .. } => {
            if let Some(worker) = app.worker.current() {
                worker.forget_model();
            }
            app.update_run(run, |r| r.status = RunStatus::Failed(message));
        }
        Event::Ready { .. }
        | Event::Unavailable { .. }
        | Event::Progress { .. }
        | Event::Gathered { .. }
        | Event::GatherFailed { .. }
        | Event::Predicted { .. }
        | Event::PredictFailed { .. } => {}
    }
}

/// The finished run's classifier on the page's device, from its run file.
fn finished(
    app: AppState,
    run: u32,
    file: Option<Vec<u8>>,
    extra: serde_json::Value,
) -> Result<Trained, String> {
    let file = file.ok_or("the finished run came without its run file")?;
    let model = app
        .runs
        .with_untracked(|r| r.iter().find(|r| r.id == run)?.training_on.clone())
        .ok_or("the run's model is gone")?;
    let gpu = app.gpu()?;
    let classifier = export::read_for(&file, &model.backbone, gpu.burn_device())
        .map_err(|e| format!("reading the trained run: {e}"))?;
    Ok(Trained {
        classifier,
        backbone: model.backbone.clone(),
        extra,
        file,
    })
}
