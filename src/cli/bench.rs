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

pub fn run(command: BenchCommand) -> Result<(), String> {
    match command {
        BenchCommand::Forward(args) => forward::run(args),
        BenchCommand::TrainStep(args) => train_step::run(args),
        BenchCommand::Stats(args) => stats::run(args),
    }
}

/// Median, minimum and maximum of per-iteration times, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// None for an empty sample. The median of an even count is the mean of the middle two.
    pub fn of(times: &[f64]) -> Option<Self> {
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]),
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_takes_the_middle_value_or_the_mean_of_the_middle_two() {
        let odd = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        let even = Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
        assert_eq!(Summary::of(&[]), None);
    }
}
