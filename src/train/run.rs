//! The training loop, written once: epochs of shuffled batches, the non-finite check, the
//! evaluations, and the settings a run file records. `bpt-lab train`, `bpt-lab compare` and the
//! page's training worker all drive it, each through its own [`Observer`] (a progress bar, a
//! grid's bookkeeping, messages to the page).
//!
//! The loop only awaits the session's reads and [`Observer::proceed`], so it runs unchanged
//! natively (under `pollster`) and in the browser, where `proceed` yields to the event loop
//! and waits while the user has paused.

use std::future::Future;

use serde_json::{Value, json};

use super::TrainError;
use super::data::{Dataset, Sample};
use super::session::{Evaluation, Session, StepStats};

/// What the observer wants after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Figures at one evaluation: after every epoch, and after the extra steps of [`Plan`].
#[derive(Clone, Debug, PartialEq)]
pub struct EvalPoint {
    /// Steps taken so far.
    pub step: usize,
    /// Epochs completed (an evaluation inside an epoch counts the epochs before it).
    pub epoch: usize,
    /// Whether this is an epoch's end.
    pub epoch_end: bool,
    /// Mean training loss over the epoch's samples (epoch ends only).
    pub train_loss: Option<f64>,
    /// On the held-out images, when there are any.
    pub test: Option<Evaluation>,
    /// On the validation images, when the plan has any.
    pub validation: Option<Evaluation>,
}

/// When to evaluate, and on what beside the held-out images.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Evaluate at every epoch's end (curves); a comparison may evaluate only at chosen steps.
    pub every_epoch: bool,
    /// Steps after which to evaluate as well (e.g. 20% of the run, for the convergence claim).
    pub extra_evals: Vec<usize>,
    /// Images to evaluate at every evaluation beside the held-out ones (a validation split).
    pub validation: Vec<Sample>,
}

impl Default for Plan {
    /// Every epoch's end, nothing else.
    fn default() -> Self {
        Self {
            every_epoch: true,
            extra_evals: Vec::new(),
            validation: Vec::new(),
        }
    }
}

/// Hears how a run goes. Every method but [`Observer::proceed`] has an empty default.
pub trait Observer {
    fn started(&mut self, _total_steps: usize) {}
    fn step(&mut self, _stats: &StepStats) {}
    /// An evaluation is about to start (it may take a while).
    fn evaluating(&mut self, _step: usize) {}
    fn evaluated(&mut self, _point: &EvalPoint) {}
    /// Called before every step: the place to yield, to wait while paused, or to stop.
    fn proceed(&mut self) -> impl Future<Output = Flow>;
}

/// How a run ended.
pub struct Outcome {
    pub session: Session,
    pub history: Vec<EvalPoint>,
    /// The observer stopped it before the last step.
    pub stopped: bool,
}

/// Trains `session` on `data.train` to its last step (or until the observer stops it),
/// evaluating on `data.test` (and the plan's validation images) after every epoch and after
/// the plan's extra steps. A loss that is not finite ends the run with an error.
pub async fn run<O: Observer>(
    mut session: Session,
    data: &Dataset,
    plan: &Plan,
    observer: &mut O,
) -> Result<Outcome, TrainError> {
    observer.started(session.total_steps());
    let mut history = Vec::new();
    let mut stopped = false;
    'epochs: while !session.finished() {
        let epoch = session.epoch();
        let mut loss = (0.0, 0usize);
        for batch in session.epoch_batches(data.train.len()) {
            if observer.proceed().await == Flow::Stop {
                stopped = true;
                break 'epochs;
            }
            let stats = session.step(&data.train, &batch).await?;
            if !stats.loss.is_finite() {
                return Err(TrainError::NonFinite {
                    value: stats.loss,
                    step: stats.step + 1,
                });
            }
            loss = (
                loss.0 + stats.loss as f64 * batch.len() as f64,
                loss.1 + batch.len(),
            );
            observer.step(&stats);
            let epoch_end = session.step.is_multiple_of(session.steps_per_epoch());
            if (epoch_end && plan.every_epoch) || plan.extra_evals.contains(&session.step) {
                let train_loss = epoch_end.then(|| loss.0 / loss.1.max(1) as f64);
                let point =
                    evaluate(&session, data, plan, epoch, epoch_end, train_loss, observer).await?;
                history.push(point);
            }
        }
    }
    Ok(Outcome {
        session,
        history,
        stopped,
    })
}

async fn evaluate<O: Observer>(
    session: &Session,
    data: &Dataset,
    plan: &Plan,
    epoch: usize,
    epoch_end: bool,
    train_loss: Option<f64>,
    observer: &mut O,
) -> Result<EvalPoint, TrainError> {
    let (has_test, has_validation) = (!data.test.is_empty(), !plan.validation.is_empty());
    if has_test || has_validation {
        observer.evaluating(session.step);
    }
    let test = if has_test {
        Some(session.evaluate(&data.test).await?)
    } else {
        None
    };
    let validation = if has_validation {
        Some(session.evaluate(&plan.validation).await?)
    } else {
        None
    };
    let point = EvalPoint {
        step: session.step,
        epoch: epoch + usize::from(epoch_end),
        epoch_end,
        train_loss,
        test,
        validation,
    };
    observer.evaluated(&point);
    Ok(point)
}

/// The settings a run file records beside the classifier (its `bpt_lab` metadata, next to what
/// `export` writes itself): the training recipe, the steps taken, the whitening, the model's
/// name and the hash of its weights (never a local path).
pub fn metadata(session: &Session, model_name: &str) -> Value {
    let c = &session.config;
    let w = &session.whiten;
    let prompts = &session.model.prompts.config;
    json!({
        "train": {
            "lr": c.lr, "min_lr": c.min_lr, "epochs": c.epochs, "batch": c.batch, "seed": c.seed,
            "steps": session.step, "warmup_epochs": c.warmup_epochs,
            "weight_decay": c.weight_decay, "weight_decay_head": c.weight_decay_head,
            "optimizer": c.optimizer.name(), "dropout": prompts.dropout,
            "augment": c.augment.name(), "crop_scale": c.crop_scale,
        },
        "whitening": {
            "used": prompts.needs_whitening(),
            "estimator": w.estimator.name(),
            "source": w.source.name(),
            "views": w.views.name(),
            "side": w.side.name(),
            "epsilon": w.epsilon,
            "images": w.max_images,
        },
        "model": model_name,
        "model_hash": session.backbone().weights_hash,
    })
}
