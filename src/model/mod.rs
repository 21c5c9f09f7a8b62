//! The Vision Transformer backbone: its architecture (`config`, timm names in `timm_name`, the
//! weights' own shapes in `arch`), the burn modules (`vit`),
//! reading checkpoints in timm or HF naming (`checkpoint`, the key table `layout`, `load`),
//! whether a checkpoint fits a device (`fit`, from its header alone), resampling position
//! embeddings to other input sizes (`pos_embed`), the pixels a checkpoint
//! expects (`preprocess`), and the frozen `Backbone` built from them.

pub mod arch;
pub mod backbone;
pub mod checkpoint;
pub mod config;
pub mod fit;
pub mod gelu;
pub mod layout;
pub mod load;
pub mod norm;
pub mod pos_embed;
pub mod preprocess;
pub mod profile;
pub mod random;
pub mod timm_name;
pub mod vit;

pub use backbone::{Backbone, MAX_TOKENS};
pub use config::{Pool, VitConfig};
pub use preprocess::{Interpolation, Preprocess};

/// Errors of reading a model: messages name the offending field, tensor or value.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model config: {0}")]
    Config(String),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("the checkpoint lacks {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error("the checkpoint has tensors this architecture does not use: {}", .0.join(", "))]
    Unexpected(Vec<String>),
    #[error("tensor {name:?} has shape {found:?}, the config needs {expected:?}")]
    Shape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("input: {0}")]
    Input(String),
    #[error("reading a result back from the device: {0}")]
    Readback(String),
}
