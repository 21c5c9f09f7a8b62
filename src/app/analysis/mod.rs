//! Looking at a trained run and its backbone: the distributions (burstiness), the learned
//! prompts, and predictions on new pictures.

pub mod distributions;
pub mod predict;
pub mod prompts;
