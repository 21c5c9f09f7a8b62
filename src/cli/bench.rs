//! `bpt-lab bench`: throughput measurements of the engine on one machine.
//!
//! `forward` times the frozen backbone's forward pass (images/s), `train-step` one prompt-tuning
//! step (ms per image), `stats` the statistics kernels (values/s). Every benchmark here follows the same rules, because wgpu
//! queues work lazily and may reuse results: warm-up iterations are run and discarded, each
//! iteration gets fresh random inputs, and an iteration's clock stops only once a scalar that
//! depends on every output has been read back to the host.

pub mod forward;
pub mod profile;
pub mod random;
pub mod stats;
pub mod train_step;

use crate::error::Error;
use crate::gpu::GpuContext;
use crate::model::Backbone;

pub use crate::timing::Summary;

/// Whose ops the model runs on a GPU: our WGSL kernels where they apply (with the blocks'
/// linear weights in f32, or in f16 where the adapter has shader-f16), or burn's own ops
/// throughout (as before the kernels existed), to compare them in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Ops {
    Ours,
    OursF16,
    Burn,
}

impl Ops {
    /// Makes the choice for every later pass and names the case's backend: `wgpu` with our
    /// kernels, `wgpu/burn-ops` without (the CPU backend always runs burn's ops: `cpu`).
    pub fn select(self, gpu: Option<&GpuContext>, backend: &str) -> Result<String, Error> {
        let Some(gpu) = gpu else {
            return Ok(backend.to_string());
        };
        match self {
            Ops::Ours | Ops::OursF16 if !gpu.kernel_check().ok() => {
                Err(gpu.kernel_check().summary().into())
            }
            Ops::Ours => {
                crate::kernels::set_enabled(true);
                Ok(backend.to_string())
            }
            Ops::OursF16 => {
                crate::kernels::set_enabled(true);
                pollster::block_on(gpu.prepare_f16()).map_err(|e| e.to_string())?;
                Ok(format!("{backend}/f16-weights"))
            }
            Ops::Burn => {
                crate::kernels::set_enabled(false);
                Ok(format!("{backend}/burn-ops"))
            }
        }
    }

    /// Stores `backbone`'s linear weights as this choice asks (f16 for [`Ops::OursF16`], after
    /// [`Self::select`] has readied the device).
    pub fn store(self, gpu: Option<&GpuContext>, backbone: &mut Backbone) -> Result<(), Error> {
        if let (Ops::OursF16, Some(gpu)) = (self, gpu) {
            pollster::block_on(gpu.store_f16(&mut backbone.vit)).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The subcommands of `bpt-lab bench`.
#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Images per second of the backbone's forward pass (final-norm tokens, no head).
    Forward(forward::ForwardArgs),
    /// Milliseconds per image of one prompt-tuning step (forward, backward, AdamW).
    TrainStep(train_step::TrainStepArgs),
    /// Values per second of the moments and histogram kernels against their CPU twins.
    Stats(stats::StatsArgs),
}

pub fn run(command: BenchCommand) -> Result<(), Error> {
    match command {
        BenchCommand::Forward(args) => forward::run(args),
        BenchCommand::TrainStep(args) => train_step::run(args),
        BenchCommand::Stats(args) => stats::run(args),
    }
}
