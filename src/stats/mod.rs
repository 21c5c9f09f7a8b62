//! Distribution statistics of one tensor of values: moments up to the fourth, a histogram, tail
//! masses beyond k standard deviations, the median, and Gaussian, Laplace and generalised
//! Gaussian fits, computed on the GPU by the kernels in [`crate::gpu`] or on the CPU by their
//! twins, into the same [`Summary`].
//!
//! These are the figures behind the paper's burstiness plots (docs/method.md, "The finding:
//! burstiness"): Laplacian patch embeddings, hyper-Laplacian `W_q W_k^T`, bursty `X~` and
//! learned prompts.

pub mod correlation;
mod error;
pub mod fit;
mod median;
mod passes;
pub mod sample;
pub mod special;
mod summary;
#[cfg(test)]
mod tests;

pub use error::StatsError;
pub use median::MEDIAN_BINS;
pub use summary::{StatsKernels, Summary, SummaryOptions, TailMass, summarize, summarize_cpu};
