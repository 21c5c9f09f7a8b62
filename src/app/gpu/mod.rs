//! The GPU: the WebGPU probe, starting the engine's context and watching for its loss, the
//! start-up self-check, and their panels.

pub mod lost;
pub mod panel;
pub mod probe;
pub mod selfcheck_panel;
pub mod start;
pub mod state;
