//! Looking at a trained run and its backbone: the distributions (burstiness), the learned
//! prompts, and predictions on new pictures and on the camera's live picture.

pub mod classify;
pub mod distributions;
pub mod gathering;
pub mod live;
pub mod predict;
pub mod prompts;
pub mod spectrum;
pub mod state;
