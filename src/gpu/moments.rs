//! Min, max, mean, variance, skewness and excess kurtosis of a float array on the GPU
//! (`shaders/moments.wgsl`), and [`moments_cpu`], its plain-Rust twin.
//!
//! The kernel returns one summary (count, mean and the central sums M2, M3, M4) per workgroup;
//! [`Moments::merge`] combines them in f64 with the pairwise formulas of Chan et al. (M2) and
//! Pébay (M3, M4). NaN and infinities are counted apart and left out of the moments.
//! Inputs larger than one storage binding are processed in slices of at most
//! [`GpuContext::max_f32_per_binding`] values.
//!
//! Accuracy: each thread's Welford pass runs in f32, so the mean carries a relative error of a few
//! f32 ulps times log2 of the per-thread count, and the variance a relative error of the same
//! order when the data are not dominated by their mean (tested at 1e-5 and 1e-4, see the tests).
//! M3 and M4 accumulate f32 rounding the same way; the skewness is checked against the twin to
//! [`SKEWNESS_TOL`] in absolute terms and the kurtosis to [`KURTOSIS_TOL`] relative to the
//! (non-excess) kurtosis, on inputs whose deviations are not dominated by the mean (measured on
//! lavapipe: both below 1e-7 for 1e3 to 5e5 values, also with an offset of 100 std). M4 is held in
//! f32 per workgroup, so deviations from the mean must stay below about 7e7 (see the shader).

use super::launch::{Pipeline, groups_for, output, uniform, word};
use super::{GpuContext, GpuError, GpuValues};
/// Bytes of one `Partial` in the shader (four u32 and six f32).
const PARTIAL_BYTES: u64 = 40;
/// Largest absolute difference of the GPU skewness from the twin's that the tests accept.
pub const SKEWNESS_TOL: f64 = 1e-5;
/// Largest difference of the GPU excess kurtosis from the twin's, relative to the kurtosis
/// (excess + 3), that the tests accept.
pub const KURTOSIS_TOL: f64 = 1e-5;

/// Summary statistics of a float array: the moments cover finite values only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    /// Number of finite values.
    pub count: u64,
    pub nan: u64,
    /// Number of +inf and -inf values.
    pub inf: u64,
    /// Smallest and largest finite value (0 when `count` is 0).
    pub min: f32,
    pub max: f32,
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Sum of cubed deviations from the mean.
    pub m3: f64,
    /// Sum of fourth powers of the deviations from the mean.
    pub m4: f64,
}

impl Moments {
    pub const EMPTY: Moments = Moments {
        count: 0,
        nan: 0,
        inf: 0,
        min: 0.0,
        max: 0.0,
        mean: 0.0,
        m2: 0.0,
        m3: 0.0,
        m4: 0.0,
    };

    /// Population variance of the finite values (0 when there are none).
    pub fn variance(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.m2 / self.count as f64
        }
    }

    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }

    /// Skewness `sqrt(n) M3 / M2^1.5` (population, no bias correction); NaN when the variance
    /// is 0, where it is undefined.
    pub fn skewness(&self) -> f64 {
        if self.m2 > 0.0 {
            (self.count as f64).sqrt() * self.m3 / self.m2.powf(1.5)
        } else {
            f64::NAN
        }
    }

    /// Excess kurtosis `n M4 / M2^2 - 3` (population, no bias correction): 0 for a Gaussian,
    /// 3 for a Laplace distribution. NaN when the variance is 0, where it is undefined.
    pub fn excess_kurtosis(&self) -> f64 {
        if self.m2 > 0.0 {
            self.count as f64 * self.m4 / (self.m2 * self.m2) - 3.0
        } else {
            f64::NAN
        }
    }

    /// Summary of the union of two disjoint sets (Chan, Golub and LeVeque 1979 for M2, Pébay
    /// 2008 for M3 and M4).
    pub fn merge(self, other: Moments) -> Moments {
        let (nan, inf) = (self.nan + other.nan, self.inf + other.inf);
        if other.count == 0 {
            return Moments { nan, inf, ..self };
        }
        if self.count == 0 {
            return Moments { nan, inf, ..other };
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let (fa, fb) = (na / n, nb / n);
        let delta = other.mean - self.mean;
        let d2 = delta * delta;
        Moments {
            count: self.count + other.count,
            nan,
            inf,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            mean: self.mean + delta * fb,
            m2: self.m2 + other.m2 + d2 * na * fb,
            m3: self.m3
                + other.m3
                + d2 * delta * na * fb * (fa - fb)
                + 3.0 * delta * (fa * other.m2 - fb * self.m2),
            m4: self.m4
                + other.m4
                + d2 * d2 * na * fb * (fa * fa - fa * fb + fb * fb)
                + 6.0 * d2 * (fa * fa * other.m2 + fb * fb * self.m2)
                + 4.0 * delta * (fa * other.m3 - fb * self.m3),
        }
    }
}

/// The plain-Rust twin: two passes in f64 over the finite values.
pub fn moments_cpu(values: &[f32]) -> Moments {
    let mut m = Moments::EMPTY;
    let mut sum = 0.0f64;
    for &x in values {
        if x.is_nan() {
            m.nan += 1;
        } else if x.is_infinite() {
            m.inf += 1;
        } else {
            if m.count == 0 {
                (m.min, m.max) = (x, x);
            }
            m.count += 1;
            m.min = m.min.min(x);
            m.max = m.max.max(x);
            sum += x as f64;
        }
    }
    if m.count > 0 {
        m.mean = sum / m.count as f64;
        for x in values.iter().filter(|x| x.is_finite()) {
            let d = *x as f64 - m.mean;
            let d2 = d * d;
            m.m2 += d2;
            m.m3 += d2 * d;
            m.m4 += d2 * d2;
        }
    }
    m
}

/// The `moments` kernel, compiled once per [`GpuContext`].
pub struct MomentsKernel {
    pipeline: Pipeline,
}

impl MomentsKernel {
    pub fn new(ctx: &GpuContext) -> Self {
        let source = include_str!("../../shaders/moments.wgsl");
        Self {
            pipeline: Pipeline::new(ctx, "moments", source),
        }
    }

    /// Moments of `values`, computed on the GPU.
    pub async fn run(&self, ctx: &GpuContext, values: &[f32]) -> Result<Moments, GpuError> {
        self.run_in_slices(ctx, values, ctx.max_f32_per_binding())
            .await
    }

    /// Like [`Self::run`], uploading at most `slice_len` values per dispatch.
    pub async fn run_in_slices(
        &self,
        ctx: &GpuContext,
        values: &[f32],
        slice_len: usize,
    ) -> Result<Moments, GpuError> {
        let values = GpuValues::upload_in_slices(ctx, values, slice_len);
        self.run_on(ctx, &values).await
    }

    /// Moments of values already on the GPU: one dispatch and one read-back per slice.
    pub async fn run_on(&self, ctx: &GpuContext, values: &GpuValues) -> Result<Moments, GpuError> {
        let mut total = Moments::EMPTY;
        for (buffer, len) in values.slices() {
            let groups = groups_for(len);
            let params = uniform(ctx, "moments.params", &[len, 0, 0, 0]);
            let out_bytes = groups as u64 * PARTIAL_BYTES;
            let partials = output(ctx, "moments.partials", out_bytes);
            self.pipeline
                .dispatch(ctx, &[buffer, &params, &partials], groups);
            let bytes = ctx.read_back(&partials, out_bytes).await?;
            total = bytes
                .chunks_exact(PARTIAL_BYTES as usize)
                .map(decode_partial)
                .fold(total, Moments::merge);
        }
        Ok(total)
    }
}

fn decode_partial(bytes: &[u8]) -> Moments {
    let float = |i: usize| f32::from_bits(word(bytes, i));
    Moments {
        count: word(bytes, 0) as u64,
        nan: word(bytes, 1) as u64,
        inf: word(bytes, 2) as u64,
        min: float(4),
        max: float(5),
        mean: float(6) as f64,
        m2: float(7) as f64,
        m3: float(8) as f64,
        m4: float(9) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twin_counts_nan_and_infinities_apart() {
        let m = moments_cpu(&[1.0, f32::NAN, 3.0, f32::INFINITY, f32::NEG_INFINITY]);
        assert_eq!((m.count, m.nan, m.inf), (2, 1, 2));
        assert_eq!((m.min, m.max), (1.0, 3.0));
        assert_eq!(m.mean, 2.0);
        assert_eq!(m.variance(), 1.0);
    }

    #[test]
    fn merging_halves_equals_the_whole() {
        let values: Vec<f32> = (0..1001)
            .map(|i| ((i * 37) % 101) as f32 * 0.25 - 7.0)
            .collect();
        let whole = moments_cpu(&values);
        let merged = moments_cpu(&values[..400]).merge(moments_cpu(&values[400..]));
        assert_eq!(merged.count, whole.count);
        assert!((merged.mean - whole.mean).abs() < 1e-12);
        assert!((merged.m2 - whole.m2).abs() < 1e-9 * whole.m2);
    }

    #[test]
    fn merging_halves_keeps_the_third_and_fourth_moments() {
        // Skewed values, so M3 is far from 0.
        let values: Vec<f32> = (0..2001)
            .map(|i| ((i * 53) % 97) as f32)
            .map(|u| u * u / 50.0)
            .collect();
        let whole = moments_cpu(&values);
        let merged = moments_cpu(&values[..700]).merge(moments_cpu(&values[700..]));
        assert!((merged.m3 - whole.m3).abs() < 1e-9 * whole.m3.abs());
        assert!((merged.m4 - whole.m4).abs() < 1e-9 * whole.m4);
        assert!(whole.skewness() > 0.5, "{whole:?}");
    }

    #[test]
    fn two_point_distribution_has_known_skewness_and_kurtosis() {
        // Bernoulli(1/4) on {0, 1}: skewness (1 - 2p)/sqrt(p q), excess kurtosis (1 - 6pq)/(pq).
        let m = moments_cpu(&[0.0, 0.0, 0.0, 1.0]);
        let (p, q) = (0.25f64, 0.75f64);
        assert!((m.skewness() - (1.0 - 2.0 * p) / (p * q).sqrt()).abs() < 1e-12);
        assert!((m.excess_kurtosis() - (1.0 - 6.0 * p * q) / (p * q)).abs() < 1e-12);
    }

    #[test]
    fn constant_values_have_undefined_shape() {
        let m = moments_cpu(&[2.0; 10]);
        assert!(m.skewness().is_nan() && m.excess_kurtosis().is_nan());
    }

    #[test]
    fn empty_input_has_empty_moments() {
        assert_eq!(moments_cpu(&[]), Moments::EMPTY);
        assert_eq!(Moments::EMPTY.variance(), 0.0);
    }
}
