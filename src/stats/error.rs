//! Errors of the statistics layer.

use crate::gpu::GpuError;

/// Anything that can go wrong while summarising a set of values.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("reading the tensor back for its statistics failed: {0}")]
    Tensor(String),
    #[error("invalid summary options: {0}")]
    Options(String),
}
