//! Prompt parameterisations: VPT and the three BPT variants, shallow or deep (BPT.md).
//!
//! Every method makes its m prompt tokens P~ (m x d) as a product `P~ = L R^T` of two factors,
//! or as L alone:
//!
//! | method        | L          | R                       | trainable           |
//! |---------------|------------|-------------------------|---------------------|
//! | VPT           | P  (m x d) | none                    | P                   |
//! | BPT-fWhiten   | P  (m x d) | W  (d x d, whitening)   | P                   |
//! | BPT-tWhiten   | P  (m x d) | W  (d x d, whitening)   | P and W             |
//! | BPT-bilinear  | A  (m x p) | B  (d x p)              | A and B             |
//!
//! W is symmetric, so `P W^T = P W`: the prompt meets whitened data (BPT.md, "the fix").

pub mod inspect;
mod params;

pub use inspect::PromptPicture;
pub use params::{Factor, PromptParams, PromptSet};

/// Which parameterisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Method {
    Vpt,
    BptFWhiten,
    BptTWhiten,
    BptBilinear,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::Vpt,
        Method::BptFWhiten,
        Method::BptTWhiten,
        Method::BptBilinear,
    ];

    /// The name the command line and the exported files use.
    pub fn name(self) -> &'static str {
        match self {
            Method::Vpt => "vpt",
            Method::BptFWhiten => "bpt-fwhiten",
            Method::BptTWhiten => "bpt-twhiten",
            Method::BptBilinear => "bpt-bilinear",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// How BPT-bilinear's B starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BInit {
    /// p distinct columns of the whitening matrix, chosen at random (seeded).
    Whiten,
    /// Xavier uniform, as the official code does without whitening.
    Xavier,
}

/// What a run's prompts look like.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptConfig {
    pub method: Method,
    /// One prompt set per block instead of one before block 0.
    pub deep: bool,
    /// m, the number of prompt tokens (any positive number).
    pub num_prompts: usize,
    /// p, the rank of BPT-bilinear.
    pub rank: usize,
    pub b_init: BInit,
    /// Deep BPT-bilinear: B is trained in this many top blocks and kept at its initial value
    /// below (the official code trains the top 4).
    pub train_b_top: usize,
    /// Dropout on the prompt tokens while training (VPT uses 0.1 for deep prompts).
    pub dropout: f64,
}

impl PromptConfig {
    /// The paper's defaults: shallow m = 100, p = 75; deep m = 50, p = 50, B trained in the top 4
    /// blocks; prompt dropout 0.1 for deep VPT.
    pub fn paper(method: Method, deep: bool) -> Self {
        Self {
            method,
            deep,
            num_prompts: if deep { 50 } else { 100 },
            rank: if deep { 50 } else { 75 },
            b_init: BInit::Whiten,
            train_b_top: 4,
            dropout: if deep && method == Method::Vpt {
                0.1
            } else {
                0.0
            },
        }
    }

    /// Whether the method needs the whitening matrices before it can start.
    pub fn needs_whitening(&self) -> bool {
        match self.method {
            Method::Vpt => false,
            Method::BptFWhiten | Method::BptTWhiten => true,
            Method::BptBilinear => self.b_init == BInit::Whiten,
        }
    }

    pub fn validate(&self, embed_dim: usize) -> Result<(), PromptError> {
        if self.num_prompts == 0 {
            return Err(PromptError::Config(
                "the number of prompts must be positive".into(),
            ));
        }
        if self.method == Method::BptBilinear && (self.rank == 0 || self.rank > embed_dim) {
            return Err(PromptError::Config(format!(
                "rank p = {} must be between 1 and the model width {embed_dim}",
                self.rank
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(PromptError::Config(format!(
                "prompt dropout {} must be in [0, 1)",
                self.dropout
            )));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("prompt config: {0}")]
    Config(String),
    #[error("{0}")]
    Whitening(String),
}
