//! Prompt tuning: the data pipeline (`image`, `data`), the optimiser (`optim`), the training
//! session over a frozen backbone (`session`), and what it produces (`classifier`, saved and
//! read back by `export`).

pub mod classifier;
pub mod data;
pub mod export;
pub mod image;
pub mod optim;
pub mod pack;
pub mod session;

pub use classifier::{Classifier, Head};
pub use data::{Dataset, Sample};
pub use image::{RgbImage, Transform};
pub use session::{Evaluation, Session, StepStats};

use crate::model::ModelError;
use crate::prompt::PromptError;
use crate::whiten::WhitenError;

/// The recipe (BPT.md, "training recipe"), scaled to a few images and a browser GPU.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    /// Peak learning rate, reached after the warm-up.
    pub lr: f64,
    pub min_lr: f64,
    pub warmup_epochs: usize,
    /// Weight decay of the prompt factors.
    pub weight_decay: f64,
    /// Weight decay of the head's weight (its bias has none).
    pub weight_decay_head: f64,
    /// Input side in pixels (a multiple of the patch size).
    pub size: usize,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch: 16,
            lr: 1e-2,
            min_lr: 1e-8,
            warmup_epochs: 2,
            weight_decay: 5e-3,
            weight_decay_head: 0.1,
            size: 224,
            seed: 0,
        }
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
}
