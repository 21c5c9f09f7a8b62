//! BPT Lab: Bilinear Prompt Tuning of Vision Transformers on your own GPU.
//!
//! The engine (everything but `app`) compiles natively and to wasm32 and never touches the DOM;
//! the Leptos page in `app` (wasm32 only) depends on it, never the reverse.

pub mod analysis;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod compare;
pub mod error;
pub mod gpu;
pub mod heatmap;
pub mod hub;
pub mod kernels;
pub mod model;
pub mod prompt;
pub mod rng;
pub mod saved;
pub mod stats;
pub mod timing;
pub mod train;
pub mod whiten;

#[cfg(target_arch = "wasm32")]
pub mod app;
