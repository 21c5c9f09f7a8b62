//! Tail counts and a power sum of the deviations `|x - center|` on the GPU
//! (`shaders/tail.wgsl`), and [`tail_cpu`], its plain-Rust twin.
//!
//! The counts of `|x - center| > t_j` are exact and equal on both sides: the deviation is one
//! correctly rounded f32 subtraction and an abs, compared with f32 thresholds fixed by
//! [`TailSpec`]. The power sum `sum |x - center|^power` is rounded on the GPU (f32 per thread and
//! per workgroup, `pow` with a few ulps of error); the tests accept a relative difference of
//! [`POWER_SUM_TOL`] from the twin's f64 sum. Only finite values take part.

use super::launch::{Pipeline, groups_for, output, uniform, word};
use super::{GpuContext, GpuError, GpuValues};

/// Most thresholds one pass counts; must equal `MAX_THRESHOLDS` in the shader.
pub const MAX_THRESHOLDS: usize = 8;
/// Relative difference of the GPU power sum from the twin's that the tests accept.
pub const POWER_SUM_TOL: f64 = 1e-4;
/// Bytes of one `Partial` in the shader (eight counts, finite, the sum, two pads).
const PARTIAL_BYTES: u64 = 48;

/// What one tail pass measures.
#[derive(Clone, Debug, PartialEq)]
pub struct TailSpec {
    pub center: f32,
    /// Up to [`MAX_THRESHOLDS`] thresholds on `|x - center|`.
    pub thresholds: Vec<f32>,
    /// Exponent of the power sum (1 and 2 are computed without `pow`).
    pub power: f32,
}

impl TailSpec {
    /// Thresholds `k * scale` rounded to f32 for each `k` (the tail beyond k standard deviations
    /// when `center` is the mean and `scale` the standard deviation).
    pub fn beyond_k(center: f32, scale: f32, ks: &[f32], power: f32) -> Result<Self, GpuError> {
        let spec = TailSpec {
            center,
            thresholds: ks.iter().map(|k| k * scale).collect(),
            power,
        };
        spec.check()?;
        Ok(spec)
    }

    fn check(&self) -> Result<(), GpuError> {
        if self.thresholds.len() > MAX_THRESHOLDS
            || !self.center.is_finite()
            || !self.power.is_finite()
            || self.power <= 0.0
            || self.thresholds.iter().any(|t| t.is_nan())
        {
            return Err(GpuError::InvalidArgument(format!(
                "a tail pass takes a finite center, a positive power and at most {MAX_THRESHOLDS} thresholds, got {self:?}"
            )));
        }
        Ok(())
    }

    fn params(&self, len: u32) -> [u32; 12] {
        let mut words = [0u32; 12];
        words[0] = len;
        words[1] = self.thresholds.len() as u32;
        words[2] = self.center.to_bits();
        words[3] = self.power.to_bits();
        for (w, t) in words[4..].iter_mut().zip(&self.thresholds) {
            *w = t.to_bits();
        }
        words
    }
}

/// Result of one tail pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Tail {
    /// Number of finite values.
    pub finite: u64,
    /// For each threshold, the number of finite values with `|x - center| > t`.
    pub beyond: Vec<u64>,
    /// `sum |x - center|^power` over the finite values.
    pub power_sum: f64,
}

impl Tail {
    fn empty(spec: &TailSpec) -> Self {
        Tail {
            finite: 0,
            beyond: vec![0; spec.thresholds.len()],
            power_sum: 0.0,
        }
    }
}

/// The plain-Rust twin: counts from the same f32 deviation, power sum in f64.
pub fn tail_cpu(values: &[f32], spec: &TailSpec) -> Result<Tail, GpuError> {
    spec.check()?;
    let mut tail = Tail::empty(spec);
    for x in values.iter().filter(|x| x.is_finite()) {
        let d = (x - spec.center).abs();
        tail.finite += 1;
        tail.power_sum += (d as f64).powf(spec.power as f64);
        for (count, t) in tail.beyond.iter_mut().zip(&spec.thresholds) {
            *count += (d > *t) as u64;
        }
    }
    Ok(tail)
}

/// The `tail` kernel, compiled once per [`GpuContext`].
pub struct TailKernel {
    pipeline: Pipeline,
}

impl TailKernel {
    pub fn new(ctx: &GpuContext) -> Self {
        let source = include_str!("../../shaders/tail.wgsl");
        Self {
            pipeline: Pipeline::new(ctx, "tail", source),
        }
    }

    /// Uploads `values` and runs one pass on the GPU.
    pub async fn run(
        &self,
        ctx: &GpuContext,
        values: &[f32],
        spec: &TailSpec,
    ) -> Result<Tail, GpuError> {
        self.run_on(ctx, &GpuValues::upload(ctx, values), spec)
            .await
    }

    /// One pass over values already on the GPU: a dispatch and a read-back per slice.
    pub async fn run_on(
        &self,
        ctx: &GpuContext,
        values: &GpuValues,
        spec: &TailSpec,
    ) -> Result<Tail, GpuError> {
        spec.check()?;
        let mut tail = Tail::empty(spec);
        for (buffer, len) in values.slices() {
            let groups = groups_for(len);
            let params = uniform(ctx, "tail.params", &spec.params(len));
            let out_bytes = groups as u64 * PARTIAL_BYTES;
            let partials = output(ctx, "tail.partials", out_bytes);
            self.pipeline
                .dispatch(ctx, &[buffer, &params, &partials], groups);
            let bytes = ctx.read_back(&partials, out_bytes).await?;
            for partial in bytes.chunks_exact(PARTIAL_BYTES as usize) {
                for (j, count) in tail.beyond.iter_mut().enumerate() {
                    *count += word(partial, j) as u64;
                }
                tail.finite += word(partial, 8) as u64;
                tail.power_sum += f32::from_bits(word(partial, 9)) as f64;
            }
        }
        Ok(tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twin_counts_strictly_beyond_each_threshold() {
        let spec = TailSpec::beyond_k(0.0, 1.0, &[1.0, 2.0], 1.0).unwrap();
        let tail = tail_cpu(&[-3.0, -1.0, 0.5, 1.5, 2.0, f32::NAN, f32::INFINITY], &spec).unwrap();
        assert_eq!(tail.finite, 5);
        assert_eq!(tail.beyond, vec![3, 1]);
        assert_eq!(tail.power_sum, 8.0);
    }

    #[test]
    fn too_many_thresholds_or_a_bad_power_are_refused() {
        assert!(TailSpec::beyond_k(0.0, 1.0, &[1.0; 9], 1.0).is_err());
        assert!(TailSpec::beyond_k(0.0, 1.0, &[1.0], 0.0).is_err());
        assert!(TailSpec::beyond_k(f32::NAN, 1.0, &[1.0], 1.0).is_err());
    }
}
