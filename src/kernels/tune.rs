//! Which form of the linear kernel a device runs, measured when the device is set up.
//!
//! The tiled form (operand tiles in workgroup memory) is what GPUs want; adapters that emulate a
//! GPU on the CPU (SwiftShader in Chromium, llvmpipe natively) pay for every barrier and are
//! better served by the direct form. Names and vendor strings do not say reliably which kind an
//! adapter is (Chromium hands wgpu an empty adapter name), so both forms are timed on one
//! ViT-sized layer and the direct form is taken only when it is clearly faster.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::linear_layer;
use crate::model::ModelError;
use crate::model::checkpoint::HostTensor;
use crate::rng::Rng;

static TILED: AtomicBool = AtomicBool::new(true);

/// Whether launches use the tiled form (the default until a measurement says otherwise).
pub fn tiled() -> bool {
    TILED.load(Ordering::Relaxed)
}

pub fn set_tiled(on: bool) {
    TILED.store(on, Ordering::Relaxed);
}

/// The direct form must take less than this share of the tiled form's time to be chosen.
pub const DIRECT_MARGIN: f64 = 0.8;

/// Tokens, input and output width of the timed layer (a ViT-S layer at 112 px, batch 2).
const SHAPE: (usize, usize, usize) = (128, 384, 384);
/// Layers per timed pass, so that one pass is more than a read-back's latency.
const LAYERS: usize = 4;

/// The two forms' times on this device, in milliseconds per pass of [`LAYERS`] layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatmulChoice {
    pub tiled_ms: f64,
    pub direct_ms: f64,
}

impl MatmulChoice {
    /// The tiled form unless the direct one is clearly faster (a NaN time keeps it tiled).
    pub fn tiled(&self) -> bool {
        let direct_wins = self.direct_ms < DIRECT_MARGIN * self.tiled_ms;
        !direct_wins
    }

    pub fn summary(&self) -> String {
        let (form, other) = if self.tiled() {
            ("tiled", "direct")
        } else {
            ("direct", "tiled")
        };
        let (won, lost) = if self.tiled() {
            (self.tiled_ms, self.direct_ms)
        } else {
            (self.direct_ms, self.tiled_ms)
        };
        format!("linear layers {form} ({won:.1} ms against {lost:.1} ms {other})")
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn now_ms() -> f64 {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1e3
}

#[cfg(target_arch = "wasm32")]
fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Milliseconds of one pass of the layers over `x` in the current form: the best of two after
/// one untimed pass (shader compilation).
async fn time_form(x: &Tensor<3>, layers: &[Linear]) -> Result<f64, ModelError> {
    let mut best = f64::INFINITY;
    for i in 0..3 {
        let start = now_ms();
        let sum = layers
            .iter()
            .map(|l| linear_layer(x.clone(), l, false).sum())
            .reduce(|a, b| a + b)
            .expect("at least one layer");
        HostTensor::read(sum).await?;
        if i > 0 {
            best = best.min(now_ms() - start);
        }
    }
    Ok(best)
}

/// Times both forms on `device` and keeps the faster one for every later launch.
pub async fn measure(device: &Device) -> Result<MatmulChoice, ModelError> {
    let (m, k, n) = SHAPE;
    // Values of a LayerNorm'd token and of trained weights in size (the times do not depend on them).
    let values = |len: usize, seed: u32| {
        let mut rng = Rng::new(u64::from(seed));
        (0..len)
            .map(|_| 0.05 * rng.normal() as f32)
            .collect::<Vec<f32>>()
    };
    let data = |v: Vec<f32>, shape: Vec<usize>| TensorData::new(v, shape);
    let x = Tensor::<3>::from_data(data(values(m * k, 1), vec![1, m, k]), device);
    let layers: Vec<Linear> = (0..LAYERS as u32)
        .map(|i| {
            let w = data(values(k * n, 2 + i), vec![k, n]);
            let b = data(values(n, 9 + i), vec![n]);
            Linear {
                weight: Param::from_tensor(Tensor::from_data(w, device)),
                bias: Some(Param::from_tensor(Tensor::from_data(b, device))),
            }
        })
        .collect();
    set_tiled(true);
    let tiled_ms = time_form(&x, &layers).await?;
    set_tiled(false);
    let direct_ms = time_form(&x, &layers).await?;
    let choice = MatmulChoice {
        tiled_ms,
        direct_ms,
    };
    set_tiled(choice.tiled());
    Ok(choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_form_needs_a_clear_win() {
        let choice = |tiled_ms, direct_ms| MatmulChoice {
            tiled_ms,
            direct_ms,
        };
        assert!(choice(10.0, 9.0).tiled());
        assert!(choice(10.0, 8.0).tiled());
        assert!(!choice(10.0, 7.9).tiled());
        assert!(choice(10.0, 12.0).tiled());
        assert!(
            choice(10.0, 7.0)
                .summary()
                .starts_with("linear layers direct (7.0 ms against 10.0 ms tiled)")
        );
    }
}
