//! Runs as the page keeps them: the settings a run was started with, where it stands, its
//! curves, and the trained classifier once there is one (to predict with and to export).

use std::rc::Rc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::app::model::state::LoadedModel;
use crate::model::Backbone;
use crate::prompt::{Method, PromptConfig};
pub use crate::saved::Member;
use crate::train::{Classifier, TrainConfig};

/// The settings form. Defaults a browser GPU can run in minutes. Saved as JSON (`settings_store`);
/// a field missing there takes its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunSettings {
    pub method: Method,
    pub deep: bool,
    /// m, prompt tokens.
    pub prompts: usize,
    /// p, the rank of BPT-bilinear.
    pub rank: usize,
    pub lr: f64,
    pub epochs: usize,
    pub batch: usize,
    /// Input side in pixels; rounded to a multiple of the patch when a run starts.
    pub size: usize,
    pub seed: u64,
    /// Also evaluate after 20% of the steps (`compare::early_step`): comparison runs do, so that
    /// "how fast" is measured as `bpt-lab compare` measures it.
    pub early_eval: bool,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            method: Method::BptBilinear,
            deep: false,
            prompts: 16,
            rank: 16,
            lr: 1e-2,
            epochs: 10,
            batch: 8,
            size: 112,
            seed: 0,
            early_eval: false,
        }
    }
}

/// How the page names a method.
pub fn method_label(method: Method) -> &'static str {
    match method {
        Method::Head => "Head only",
        Method::Vpt => "VPT",
        Method::BptFWhiten => "BPT-fWhiten",
        Method::BptTWhiten => "BPT-tWhiten",
        Method::BptBilinear => "BPT-bilinear",
    }
}

impl RunSettings {
    pub fn label(&self) -> String {
        if self.method == Method::Head {
            return method_label(self.method).to_string();
        }
        let rank = if self.method == Method::BptBilinear {
            format!(" p={}", self.rank)
        } else {
            String::new()
        };
        format!(
            "{}{} m={}{rank}",
            method_label(self.method),
            if self.deep { " deep" } else { "" },
            self.prompts
        )
    }

    pub fn prompt_config(&self) -> PromptConfig {
        let paper = PromptConfig::paper(self.method, self.deep);
        PromptConfig {
            num_prompts: self.prompts,
            rank: self.rank,
            ..paper
        }
    }

    /// The training recipe at the page's scale; `size` already a multiple of the patch.
    pub fn train_config(&self, size: usize) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            lr_head: crate::train::head_lr(self.method, None),
            warmup_epochs: (self.epochs / 10).max(1).min(self.epochs.saturating_sub(1)),
            size,
            seed: self.seed,
            ..TrainConfig::default()
        }
    }
}

/// The nearest multiple of `patch` to `size` (at least one patch).
pub fn round_to_patch(size: usize, patch: usize) -> usize {
    let patch = patch.max(1);
    (((size as f64) / patch as f64).round() as usize).max(1) * patch
}

/// What the user asked of the run in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Control {
    Run,
    Pause,
    Stop,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RunStatus {
    /// Estimating the whitening and initialising.
    Preparing,
    Training,
    Paused,
    /// Measuring the held-out accuracy.
    Evaluating,
    Finished,
    Stopped,
    Failed(String),
    /// Read from a run file: no curves.
    Imported,
}

impl RunStatus {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Preparing => "preparing",
            Self::Training => "training",
            Self::Paused => "paused",
            Self::Evaluating => "evaluating",
            Self::Finished => "finished",
            Self::Stopped => "stopped",
            Self::Failed(_) => "failed",
            Self::Imported => "imported",
        }
    }

    pub fn active(&self) -> bool {
        matches!(
            self,
            Self::Preparing | Self::Training | Self::Paused | Self::Evaluating
        )
    }
}

/// A trained classifier with the backbone it belongs to.
pub struct Trained {
    pub classifier: Classifier,
    pub backbone: Arc<Backbone>,
    /// Settings and provenance written into the exported file's metadata.
    pub extra: serde_json::Value,
    /// The run file the classifier was read from (what the training worker predicts with).
    pub file: Vec<u8>,
}

/// A run waiting in a comparison's queue.
#[derive(Clone, Debug)]
pub struct Queued {
    pub settings: RunSettings,
    pub member: Member,
}

/// One held-out evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// Steps taken when it was made.
    pub step: usize,
    pub epoch: usize,
    /// At an epoch's end (else the early evaluation of a comparison run).
    pub epoch_end: bool,
    pub accuracy: f64,
    pub loss: f64,
    pub correct: usize,
    pub total: usize,
}

#[derive(Clone)]
pub struct RunRecord {
    pub id: u32,
    pub label: String,
    pub color: &'static str,
    pub model: String,
    /// The hash of the model's weights (`Backbone::weights_hash`): a restored run gets its
    /// classifier back from a loaded model with these weights, whatever its name. None for runs
    /// saved before it was kept (matched by name).
    pub model_hash: Option<String>,
    /// The model a run in progress trains on (its finished classifier joins it); None once it
    /// has ended.
    pub training_on: Option<Rc<LoadedModel>>,
    pub status: RunStatus,
    pub step: usize,
    pub total_steps: usize,
    pub steps_per_s: f64,
    pub seconds_left: Option<f64>,
    /// (step, training loss of that step's batch).
    pub losses: Vec<(usize, f32)>,
    pub evals: Vec<EvalPoint>,
    /// Counts at the start: classes, training and held-out images.
    pub summary: String,
    pub result: Option<Rc<Trained>>,
    /// Its place in a comparison, for a run one started.
    pub member: Option<Member>,
}

/// The number for a new run: past every run's on the page (restored ids are below u32::MAX).
pub fn next_run_id(runs: &[RunRecord]) -> u32 {
    runs.iter()
        .map(|r| r.id.saturating_add(1))
        .max()
        .unwrap_or(0)
}

impl RunRecord {
    /// Whether this run was trained on (or imported for) `model`: by weights when the run knows
    /// its model's hash, else by name.
    pub fn belongs_to(&self, model: &LoadedModel) -> bool {
        match &self.model_hash {
            Some(hash) => *hash == model.backbone.weights_hash,
            None => self.model == model.name,
        }
    }
}

/// Colours for the curves, distinct for the first eight runs (Okabe-Ito, colour-blind safe).
const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#555555", "#b8a200",
];

pub fn color_for(id: u32) -> &'static str {
    PALETTE[id as usize % PALETTE.len()]
}

impl RunRecord {
    pub fn new(id: u32, label: String, model: String) -> Self {
        Self {
            id,
            label,
            color: color_for(id),
            model,
            model_hash: None,
            training_on: None,
            status: RunStatus::Preparing,
            step: 0,
            total_steps: 0,
            steps_per_s: 0.0,
            seconds_left: None,
            losses: Vec::new(),
            evals: Vec::new(),
            summary: String::new(),
            result: None,
            member: None,
        }
    }

    pub fn last_accuracy(&self) -> Option<EvalPoint> {
        self.evals.last().copied()
    }
}

/// "1 min 05 s", "12 s".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}
