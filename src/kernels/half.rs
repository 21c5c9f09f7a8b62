//! f16 storage of the frozen linear weights, with f32 everywhere else: an opt-in for adapters
//! with `shader-f16`.
//!
//! The four linear layers of every block hold nearly all of a ViT's parameters. Stored in f16
//! they take half the memory and half the reading (what a GPU's linear layer waits on at small
//! batches; not measured here, see BENCHMARKS.md). The kernel widens each weight to f32 as it
//! loads it ([`super::linear::Variant::half_b`]), so the activations, the bias, the
//! accumulation and the gradients stay f32. The only error is the rounding of each weight to f16 (a relative 2^-11,
//! about 4.9e-4, for weights in f16's normal range); what that does to a whole ViT is measured
//! by `tests/vit_default_model.rs` and stated in BENCHMARKS.md.
//!
//! [`prepare`] compiles the f16 variants on the device (inside error scopes, as
//! [`super::check`] does for the rest) before any weight is converted, so a compiler that
//! rejects them leaves the model in f32 with the compiler's message.

use std::sync::atomic::{AtomicBool, Ordering};

use super::check::compile;
use super::linear::Variant;

static READY: AtomicBool = AtomicBool::new(false);

/// Whether the f16 variants compiled ([`prepare`] succeeded). Kept for the process, like
/// [`super::enabled`]: a device set up again after a loss is the same adapter and browser, and
/// [`prepare`] checks its `shader-f16` before this.
pub fn ready() -> bool {
    READY.load(Ordering::Relaxed)
}

/// Why f16 weights cannot be used on a device, for the page and the command line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HalfError {
    #[error("this adapter has no shader-f16, so the weights stay in f32")]
    NoShaderF16,
    #[error("the f16 kernels do not compile here, so the weights stay in f32: {0}")]
    Rejected(String),
    #[error("f16 weights need our kernels, which are off on this device")]
    KernelsOff,
}

/// Compiles every f16 variant (both forms) on `device`, once; `shader_f16` is the adapter's
/// feature. Idempotent: a second call after a success compiles nothing.
pub async fn prepare(device: &wgpu::Device, shader_f16: bool) -> Result<(), HalfError> {
    if !shader_f16 {
        return Err(HalfError::NoShaderF16);
    }
    if !super::enabled() {
        return Err(HalfError::KernelsOff);
    }
    if ready() {
        return Ok(());
    }
    for variant in Variant::all_half() {
        if let Some(message) = compile(device, variant.wgsl()).await {
            return Err(HalfError::Rejected(format!("{variant:?}: {message}")));
        }
    }
    READY.store(true, Ordering::Relaxed);
    Ok(())
}

/// How the blocks' linear weights are stored: the user's choice, f32 unless asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum WeightStorage {
    #[default]
    F32,
    /// f16 where the adapter has `shader-f16` (half the weights' memory).
    F16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_is_saved_as_its_lowercase_name() {
        // The page keeps it in localStorage this way (and the browser test plants it so).
        assert_eq!(
            serde_json::to_string(&WeightStorage::F16).unwrap(),
            "\"f16\""
        );
        let back: WeightStorage = serde_json::from_str("\"f32\"").unwrap();
        assert_eq!(back, WeightStorage::F32);
        assert!(serde_json::from_str::<WeightStorage>("\"bf16\"").is_err());
    }
}
