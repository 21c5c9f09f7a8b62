//! One error type for the places that meet several of the engine's errors (the command line,
//! the page's actions): each module's own error converts with `?`, and a plain message (a
//! `String` or `&str`) converts too. Its text is the source's own message.

use crate::analysis::AnalysisError;
use crate::gpu::GpuError;
use crate::model::ModelError;
use crate::prompt::PromptError;
use crate::saved::SavedError;
use crate::stats::StatsError;
use crate::train::TrainError;
use crate::whiten::WhitenError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Whiten(#[from] WhitenError),
    #[error(transparent)]
    Stats(#[from] StatsError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Saved(#[from] SavedError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A picture the command line could not decode (the page decodes with the browser).
    #[cfg(not(target_arch = "wasm32"))]
    #[error(transparent)]
    Image(#[from] image::ImageError),
    /// A message written where the failure was found.
    #[error("{0}")]
    Message(String),
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self::Message(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Self::Message(message.to_string())
    }
}

/// For the places that keep a message as text (the page's signals, the worker's events).
impl From<Error> for String {
    fn from(e: Error) -> Self {
        e.to_string()
    }
}

impl Error {
    /// A failure that concerns a file: its path, then the message.
    pub fn at(path: impl AsRef<std::path::Path>, e: impl std::fmt::Display) -> Self {
        Self::Message(format!("{}: {e}", path.as_ref().display()))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_the_source_message() {
        let e: Error = ModelError::Config("depth must be at least 1".into()).into();
        assert_eq!(
            e.to_string(),
            ModelError::Config("depth must be at least 1".into()).to_string()
        );
        let e: Error = "no images".into();
        assert_eq!(e.to_string(), "no images");
    }
}
