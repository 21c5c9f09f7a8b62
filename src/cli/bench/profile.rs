//! `bpt-lab bench forward --profile`: where one forward pass spends its time.
//!
//! The pass is re-run stage by stage (`model::profile`), the device synchronised after every
//! stage so that each stage's clock covers its own work only. Times are summed over
//! the blocks and the median over [`REPEATS`] passes (after one untimed pass) is reported. The
//! synchronisation costs a little on wgpu, so the stages add up to somewhat more than the
//! un-synchronised pass that `bench forward` times.

use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};

use super::Summary;
use super::random;
use crate::model::profile::{Laps, STAGES, forward_in_stages};
use crate::model::{Backbone, ModelError};

/// Timed passes per profile.
pub const REPEATS: usize = 3;

/// Median seconds per stage (index into [`STAGES`]) of one forward pass; the final norm is
/// counted with the layernorms.
pub fn run(
    backbone: &Backbone,
    batch: usize,
    size: usize,
    seed: u32,
    device: &Device,
) -> Result<Vec<f64>, ModelError> {
    let mut per_pass: Vec<Vec<f64>> = Vec::new();
    for pass in 0..=REPEATS {
        let c = backbone.config.in_chans;
        let pixels = random::images(batch * c * size * size, seed.wrapping_add(pass as u32));
        let mut clock = Clock::new(device);
        let images =
            Tensor::<4>::from_data(TensorData::new(pixels, [batch, c, size, size]), device);
        pollster::block_on(forward_in_stages(backbone, images, &mut clock))?;
        if pass > 0 {
            per_pass.push(clock.totals);
        }
    }
    Ok((0..STAGES.len())
        .map(|s| {
            let times: Vec<f64> = per_pass.iter().map(|p| p[s]).collect();
            Summary::of(&times).map_or(0.0, |m| m.median)
        })
        .collect())
}

/// Accumulates the time since the previous lap into a stage, after waiting for the device.
struct Clock<'a> {
    device: &'a Device,
    last: Instant,
    totals: Vec<f64>,
}

impl<'a> Clock<'a> {
    fn new(device: &'a Device) -> Self {
        Self {
            device,
            last: Instant::now(),
            totals: vec![0.0; STAGES.len()],
        }
    }
}

impl Laps for Clock<'_> {
    async fn lap<const D: usize>(
        &mut self,
        stage: usize,
        _done: &Tensor<D>,
    ) -> Result<(), ModelError> {
        self.device
            .sync()
            .map_err(|e| ModelError::Readback(format!("{e:?}")))?;
        let now = Instant::now();
        self.totals[stage] += (now - self.last).as_secs_f64();
        self.last = now;
        Ok(())
    }
}

/// Prints the stages with their share of the pass.
pub fn print(model: &str, backend: &str, batch: usize, stages: &[f64]) {
    let total: f64 = stages.iter().sum();
    println!(
        "{model} on {backend}, batch {batch}: {:.1} ms per pass (stages synchronised)",
        total * 1e3
    );
    for (name, s) in STAGES.iter().zip(stages) {
        println!(
            "  {name:<20} {:>10.2} ms {:>6.1} %",
            s * 1e3,
            100.0 * s / total
        );
    }
}
