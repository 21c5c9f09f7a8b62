//! The GPU side of the engine: one wgpu device shared by burn and by our own WGSL kernels.
//!
//! [`GpuContext`] acquires the adapter and device (asynchronously, so it works on the browser's
//! main thread), registers the same device with burn, and offers the buffer helpers the kernel
//! launchers use. Each kernel lives in `shaders/<name>.wgsl` beside a launcher here, and each has
//! a plain-Rust twin that the tests compare it with.

mod context;
mod error;
pub mod histogram;
mod launch;
pub mod moments;
pub mod selfcheck;
pub mod tail;
mod values;

pub use context::{AdapterSummary, GpuContext};
pub use error::GpuError;
pub use values::GpuValues;
