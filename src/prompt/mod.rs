//! Prompt parameterisations: VPT and the three BPT variants, shallow or deep (docs/method.md).
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
//! W is symmetric, so `P W^T = P W`: the prompt meets whitened data (docs/method.md, "The fix").

pub mod inspect;
mod params;

pub use inspect::PromptPicture;
pub use params::{Factor, PromptParams, PromptSet};

/// Which parameterisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Method {
    /// No prompt tokens: only the linear head is trained (the baseline every table needs).
    Head,
    Vpt,
    BptFWhiten,
    BptTWhiten,
    BptBilinear,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Head,
        Method::Vpt,
        Method::BptFWhiten,
        Method::BptTWhiten,
        Method::BptBilinear,
    ];

    /// The name the command line and the exported files use.
    pub fn name(self) -> &'static str {
        match self {
            Method::Head => "head",
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

impl std::str::FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_name(s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
            format!("unknown method {s:?} (one of {})", names.join(", "))
        })
    }
}

/// Most prompt tokens a set may have (the paper uses 100).
pub const MAX_PROMPTS: usize = 4096;

/// How BPT-bilinear's B starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BInit {
    /// p distinct columns of the whitening matrix, chosen at random (seeded).
    Whiten,
    /// Xavier uniform, as the official code does without whitening.
    Xavier,
}

impl BInit {
    pub const ALL: [BInit; 2] = [BInit::Whiten, BInit::Xavier];

    /// The name the command line and the exported files use.
    pub fn name(self) -> &'static str {
        match self {
            BInit::Whiten => "whiten",
            BInit::Xavier => "xavier",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }
}

impl std::str::FromStr for BInit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_name(s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|b| b.name()).collect();
            format!("unknown B init {s:?} ({})", names.join(" or "))
        })
    }
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

    /// Whether the method inserts prompt tokens at all (head-only does not).
    pub fn has_prompts(&self) -> bool {
        self.method != Method::Head
    }

    /// The config as a run records it: head-only has no prompts, so m, p, deep and dropout
    /// are zero whatever was asked (a comparison passes one m to every method).
    pub fn effective(&self) -> Self {
        if self.has_prompts() {
            return self.clone();
        }
        Self {
            deep: false,
            num_prompts: 0,
            rank: 0,
            train_b_top: 0,
            dropout: 0.0,
            ..self.clone()
        }
    }

    /// Whether the method needs the whitening matrices before it can start.
    pub fn needs_whitening(&self) -> bool {
        match self.method {
            Method::Head | Method::Vpt => false,
            Method::BptFWhiten | Method::BptTWhiten => true,
            Method::BptBilinear => self.b_init == BInit::Whiten,
        }
    }

    pub fn validate(&self, embed_dim: usize) -> Result<(), PromptError> {
        if !self.has_prompts() {
            return Ok(());
        }
        if self.num_prompts > MAX_PROMPTS {
            return Err(PromptError::Config(format!(
                "{} prompts is above the limit of {MAX_PROMPTS}",
                self.num_prompts
            )));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_and_b_init_name_reads_back_as_itself() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>(), Ok(m));
        }
        for b in BInit::ALL {
            assert_eq!(b.name().parse::<BInit>(), Ok(b));
        }
        let names: std::collections::BTreeSet<&str> = Method::ALL.map(Method::name).into();
        assert_eq!(names.len(), Method::ALL.len());
        assert_ne!(BInit::Whiten.name(), BInit::Xavier.name());
    }

    #[test]
    fn unknown_names_are_refused_with_the_list() {
        assert_eq!(
            "VPT".parse::<Method>(),
            Err(
                "unknown method \"VPT\" (one of head, vpt, bpt-fwhiten, bpt-twhiten, \
                 bpt-bilinear)"
                    .to_string()
            )
        );
        assert_eq!(
            "zeros".parse::<BInit>(),
            Err("unknown B init \"zeros\" (whiten or xavier)".to_string())
        );
    }
}
