//! Prompt tuning: the data pipeline (`image`, `data`), the optimiser (`optim`), the training
//! session over a frozen backbone (`session`), and what it produces (`classifier`, saved and
//! read back by `export`).

pub mod classifier;
pub mod confusion;
pub mod data;
pub mod export;
pub mod image;
pub mod optim;
pub mod pack;
pub mod recipe;
pub mod run;
pub mod session;

pub use classifier::{Classifier, Head};
pub use data::{Dataset, Sample};
pub use image::{RgbImage, Transform};
pub use run::{EvalPoint, Flow, Observer, Outcome, Plan};
pub use session::{Evaluation, Session, StepStats};

use crate::model::ModelError;
use crate::prompt::PromptError;
use crate::whiten::WhitenError;

/// The recipe (docs/method.md, "Training recipe"), scaled to a few images and a browser GPU.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    /// Peak learning rate of the prompt factors, reached after the warm-up.
    pub lr: f64,
    /// Peak learning rate of the head; None: the same as `lr` (the official recipes). It
    /// follows the same schedule.
    pub lr_head: Option<f64>,
    pub min_lr: f64,
    pub warmup_epochs: usize,
    /// Weight decay of the prompt factors.
    pub weight_decay: f64,
    /// Weight decay of the head's weight (its bias has none).
    pub weight_decay_head: f64,
    /// Input side in pixels (a multiple of the patch size).
    pub size: usize,
    pub seed: u64,
    pub optimizer: optim::Optimizer,
    /// How the head pools the final tokens; None takes the checkpoint's own pooling.
    pub pool: Option<crate::model::Pool>,
    /// The training views: RandomResizedCrop and flips, or each picture's evaluation view.
    pub augment: Augment,
    /// The smallest area share RandomResizedCrop keeps (torchvision's and the official 0.08).
    pub crop_scale: f64,
}

/// How training pictures are turned into views.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Augment {
    /// RandomResizedCrop (area share from `crop_scale` to 1) and horizontal flips, as the
    /// official recipes.
    #[default]
    CropFlip,
    /// The evaluation view (resize and centre crop), the same at every step.
    None,
}

impl Augment {
    pub fn name(self) -> &'static str {
        match self {
            Augment::CropFlip => "crop-flip",
            Augment::None => "none",
        }
    }
}

/// The official RandomResizedCrop's smallest area share.
pub const DEFAULT_CROP_SCALE: f64 = 0.08;

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch: 16,
            lr: 1e-2,
            lr_head: None,
            min_lr: 1e-8,
            warmup_epochs: 2,
            weight_decay: 5e-3,
            weight_decay_head: 0.1,
            size: 224,
            seed: 0,
            optimizer: optim::Optimizer::AdamW,
            pool: None,
            augment: Augment::CropFlip,
            crop_scale: DEFAULT_CROP_SCALE,
        }
    }
}

/// Bounds checked before anything is allocated: images per step and input side (tokens per
/// image are bounded by `model::MAX_TOKENS`).
pub const MAX_BATCH: usize = 4096;
pub const MAX_INPUT_SIDE: usize = 4096;

/// The head's peak learning rate when no other is asked for. The official recipes give the
/// head the prompts' rate (5e-2 for self-supervised backbones) behind a warm-up of ten epochs,
/// hundreds of steps; in a run of a few dozen steps AdamW's first, sign-like steps at that rate
/// move every logit by about lr x |features|_1 (tens on DINOv2-S) and the classifier sits at
/// one class for most of the run (docs/method.md, "Our choices"). 5e-3 learns in a few steps there.
pub const DEFAULT_LR_HEAD: f64 = 5e-3;

/// The head's learning rate for a run of `method`: head-only runs train nothing else, so their
/// head takes the run's rate (None: the same as `lr`); the others take `explicit`, else
/// [`DEFAULT_LR_HEAD`].
pub fn head_lr(method: crate::prompt::Method, explicit: Option<f64>) -> Option<f64> {
    match method {
        crate::prompt::Method::Head => None,
        _ => Some(explicit.unwrap_or(DEFAULT_LR_HEAD)),
    }
}

impl TrainConfig {
    /// Refuses settings no run can follow: no images per step, no epochs, a warm-up that never
    /// ends, a learning rate that is not a positive number, step counts that overflow.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.batch == 0 || self.epochs == 0 {
            return bad("batch and epochs must be positive".into());
        }
        if self.batch > MAX_BATCH {
            return bad(format!(
                "batch {} is above the limit of {MAX_BATCH}",
                self.batch
            ));
        }
        if self.size == 0 || self.size > MAX_INPUT_SIDE {
            return bad(format!(
                "input side {} px must be between 1 and {MAX_INPUT_SIDE}",
                self.size
            ));
        }
        if self.warmup_epochs >= self.epochs {
            return bad(format!(
                "a warm-up of {} epochs leaves nothing of {} epochs: use fewer warm-up epochs",
                self.warmup_epochs, self.epochs
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!(
                "learning rate {} must be a positive number",
                self.lr
            ));
        }
        if let Some(h) = self.lr_head.filter(|h| !(h.is_finite() && *h > 0.0)) {
            return bad(format!("head learning rate {h} must be a positive number"));
        }
        if !(self.crop_scale > 0.0 && self.crop_scale <= 1.0) {
            return bad(format!(
                "crop scale {} must be above 0 and at most 1 (the smallest area share a \
                 random crop keeps)",
                self.crop_scale
            ));
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0) {
            return bad(format!(
                "the final learning rate {} must be zero or positive",
                self.min_lr
            ));
        }
        for (name, v) in [
            ("weight decay", self.weight_decay),
            ("head weight decay", self.weight_decay_head),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} {v} must be zero or positive"));
            }
        }
        Ok(())
    }

    /// The head's learning rate relative to the prompts'.
    pub fn head_lr_ratio(&self) -> f64 {
        self.lr_head.map_or(1.0, |h| h / self.lr)
    }

    /// The learning-rate schedule for epochs of `steps_per_epoch` steps.
    pub fn schedule(&self, steps_per_epoch: usize) -> Result<optim::Schedule, TrainError> {
        /// Far more than any run takes, and far below the random streams' index range.
        const MAX_STEPS: u64 = 1 << 40;
        let total = self
            .epochs
            .checked_mul(steps_per_epoch)
            .filter(|&t| t as u64 <= MAX_STEPS)
            .ok_or_else(|| {
                TrainError::Config(format!(
                    "{} epochs of {steps_per_epoch} steps is too many steps",
                    self.epochs
                ))
            })?;
        Ok(optim::Schedule {
            lr: self.lr,
            min_lr: self.min_lr,
            warmup_steps: self.warmup_epochs * steps_per_epoch,
            total_steps: total,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("data: {0}")]
    Data(String),
    #[error("training config: {0}")]
    Config(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error("whitening: {0}")]
    Whiten(#[from] WhitenError),
    #[error("reading a result back from the device: {0}")]
    Readback(String),
    #[error("run file: {0}")]
    Export(String),
    #[error("the loss became {value} at step {step}: try a smaller learning rate")]
    NonFinite { value: f32, step: usize },
}
