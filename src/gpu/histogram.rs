//! Fixed-range histogram of a float array on the GPU (`shaders/histogram.wgsl`), and
//! [`histogram_cpu`], its plain-Rust twin.
//!
//! Bin rule, shared by both through [`HistogramSpec::bin_of`]: NaN, -inf and +inf are counted
//! apart; finite `x < lo` underflows; finite `x >= hi` overflows (a value exactly at `hi`
//! overflows); any other
//! `x` goes to bin `min(floor((x - lo) * scale), N - 1)`, computed in f32, where
//! `scale = N / (hi - lo)` is rounded to f32 once. Both steps are single correctly rounded f32
//! operations on the GPU and on the CPU, so the counts match exactly. Because of that rounding the
//! true boundary between two bins can differ from the nominal edge `lo + i (hi - lo) / N` (see
//! [`Histogram::edges`]) by about one f32 ulp of the edge; values that close to an edge may land in
//! either neighbour, the same one on both sides.
//!
//! One caveat: a GPU may flush subnormal floats to zero, so a subnormal `x` next to `lo = 0` can
//! be counted in bin 0 on the GPU and as underflow on the CPU. The tests use normal floats.

use super::launch::{Pipeline, groups_for, output, uniform, word};
use super::{GpuContext, GpuError, GpuValues};

/// Most bins one histogram may have: the workgroup-local counts fill the 16 KiB of workgroup
/// storage that WebGPU guarantees. Must equal `MAX_BINS` in the shader.
pub const MAX_BINS: u32 = 4096;

/// N equal bins over `[lo, hi)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramSpec {
    lo: f32,
    hi: f32,
    bins: u32,
    scale: f32,
}

/// Where [`HistogramSpec::bin_of`] puts one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    In(u32),
    Underflow,
    Overflow,
    Nan,
    NegInf,
    PosInf,
}

impl HistogramSpec {
    /// Checks that `lo < hi` are finite, that `1 <= bins <= MAX_BINS`, and that `bins / (hi - lo)`
    /// is a finite f32.
    pub fn new(lo: f32, hi: f32, bins: u32) -> Result<Self, GpuError> {
        let scale = bins as f32 / (hi - lo);
        if !(lo.is_finite() && hi.is_finite() && lo < hi && (hi - lo).is_finite()) {
            return Err(GpuError::InvalidArgument(format!(
                "a histogram needs finite lo < hi with a finite width, got [{lo}, {hi})"
            )));
        }
        if !(1..=MAX_BINS).contains(&bins) || !scale.is_finite() {
            return Err(GpuError::InvalidArgument(format!(
                "a histogram over [{lo}, {hi}) takes 1 to {MAX_BINS} bins with a finite bins/width, got {bins}"
            )));
        }
        Ok(Self {
            lo,
            hi,
            bins,
            scale,
        })
    }

    pub fn lo(&self) -> f32 {
        self.lo
    }

    pub fn hi(&self) -> f32 {
        self.hi
    }

    pub fn bins(&self) -> u32 {
        self.bins
    }

    /// The f32 factor `bins / (hi - lo)` of the bin rule.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// The bin rule of the module documentation, in f32 exactly as the shader applies it.
    pub fn bin_of(&self, x: f32) -> Bin {
        if x.is_nan() {
            Bin::Nan
        } else if x == f32::NEG_INFINITY {
            Bin::NegInf
        } else if x == f32::INFINITY {
            Bin::PosInf
        } else if x < self.lo {
            Bin::Underflow
        } else if x >= self.hi {
            Bin::Overflow
        } else {
            let t = ((x - self.lo) * self.scale).floor();
            Bin::In(t.min((self.bins - 1) as f32) as u32)
        }
    }
}

/// Counts per bin, plus the finite values outside `[lo, hi)`, the NaN and the infinities.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub spec: HistogramSpec,
    pub counts: Vec<u64>,
    pub underflow: u64,
    pub overflow: u64,
    pub nan: u64,
    pub neg_inf: u64,
    pub pos_inf: u64,
}

impl Histogram {
    pub fn empty(spec: HistogramSpec) -> Self {
        Self {
            spec,
            counts: vec![0; spec.bins as usize],
            underflow: 0,
            overflow: 0,
            nan: 0,
            neg_inf: 0,
            pos_inf: 0,
        }
    }

    /// The N + 1 nominal bin edges `lo + i (hi - lo) / N`, in f64.
    /// Every field as JSON (the page's self-check and `Summary::to_json` both show it).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "lo": self.spec.lo(),
            "hi": self.spec.hi(),
            "bins": self.spec.bins(),
            "scale": self.spec.scale(),
            "edges": self.edges(),
            "counts": self.counts,
            "underflow": self.underflow,
            "overflow": self.overflow,
            "nan": self.nan,
            "neg_inf": self.neg_inf,
            "pos_inf": self.pos_inf,
        })
    }

    pub fn edges(&self) -> Vec<f64> {
        let (lo, hi, n) = (self.spec.lo as f64, self.spec.hi as f64, self.spec.bins);
        (0..=n)
            .map(|i| lo + (hi - lo) * i as f64 / n as f64)
            .collect()
    }

    /// Number of finite values counted (in the bins, below or above the range).
    pub fn finite(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.underflow + self.overflow
    }

    /// Number of values counted, NaN and infinities included.
    pub fn total(&self) -> u64 {
        self.finite() + self.nan + self.neg_inf + self.pos_inf
    }

    fn add(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.underflow += other.underflow;
        self.overflow += other.overflow;
        self.nan += other.nan;
        self.neg_inf += other.neg_inf;
        self.pos_inf += other.pos_inf;
    }
}

/// The plain-Rust twin.
pub fn histogram_cpu(values: &[f32], spec: HistogramSpec) -> Histogram {
    let mut h = Histogram::empty(spec);
    for &x in values {
        match spec.bin_of(x) {
            Bin::In(b) => h.counts[b as usize] += 1,
            Bin::Underflow => h.underflow += 1,
            Bin::Overflow => h.overflow += 1,
            Bin::Nan => h.nan += 1,
            Bin::NegInf => h.neg_inf += 1,
            Bin::PosInf => h.pos_inf += 1,
        }
    }
    h
}

/// The `histogram` kernel, compiled once per [`GpuContext`].
pub struct HistogramKernel {
    pipeline: Pipeline,
}

impl HistogramKernel {
    pub fn new(ctx: &GpuContext) -> Self {
        let source = include_str!("../../shaders/histogram.wgsl");
        Self {
            pipeline: Pipeline::new(ctx, "histogram", source),
        }
    }

    /// Uploads `values` and counts them on the GPU.
    pub async fn run(
        &self,
        ctx: &GpuContext,
        values: &[f32],
        spec: HistogramSpec,
    ) -> Result<Histogram, GpuError> {
        self.run_on(ctx, &GpuValues::upload(ctx, values), spec)
            .await
    }

    /// Counts values already on the GPU: one dispatch and one read-back per slice (a slice holds
    /// fewer than 2^32 values, so its u32 counts cannot wrap; the host adds them in u64).
    pub async fn run_on(
        &self,
        ctx: &GpuContext,
        values: &GpuValues,
        spec: HistogramSpec,
    ) -> Result<Histogram, GpuError> {
        let mut total = Histogram::empty(spec);
        let n = spec.bins as usize;
        for (buffer, len) in values.slices() {
            let params = uniform(
                ctx,
                "histogram.params",
                &[
                    len,
                    spec.bins,
                    spec.lo.to_bits(),
                    spec.hi.to_bits(),
                    spec.scale.to_bits(),
                    0,
                    0,
                    0,
                ],
            );
            let out_bytes = 4 * (n as u64 + 5);
            let counts = output(ctx, "histogram.counts", out_bytes);
            self.pipeline
                .dispatch(ctx, &[buffer, &params, &counts], groups_for(len));
            let bytes = ctx.read_back(&counts, out_bytes).await?;
            let slice = Histogram {
                spec,
                counts: (0..n).map(|i| word(&bytes, i) as u64).collect(),
                underflow: word(&bytes, n) as u64,
                overflow: word(&bytes, n + 1) as u64,
                nan: word(&bytes, n + 2) as u64,
                neg_inf: word(&bytes, n + 3) as u64,
                pos_inf: word(&bytes, n + 4) as u64,
            };
            total.add(&slice);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_exactly_at_hi_overflows_and_one_just_below_lands_in_the_last_bin() {
        let spec = HistogramSpec::new(-1.0, 1.0, 10).unwrap();
        assert_eq!(spec.bin_of(1.0), Bin::Overflow);
        assert_eq!(spec.bin_of(1.0f32.next_down()), Bin::In(9));
        assert_eq!(spec.bin_of(-1.0), Bin::In(0));
        assert_eq!(spec.bin_of((-1.0f32).next_down()), Bin::Underflow);
    }

    #[test]
    fn infinities_and_nan_are_counted_apart() {
        let spec = HistogramSpec::new(0.0, 4.0, 4).unwrap();
        let values = [f32::NEG_INFINITY, f32::INFINITY, f32::NAN, 0.5, 3.5, -1.0];
        let h = histogram_cpu(&values, spec);
        assert_eq!((h.underflow, h.overflow, h.nan), (1, 0, 1));
        assert_eq!((h.neg_inf, h.pos_inf, h.finite(), h.total()), (1, 1, 3, 6));
        assert_eq!(h.counts, vec![1, 0, 0, 1]);
    }

    #[test]
    fn invalid_ranges_and_bin_counts_are_refused() {
        assert!(HistogramSpec::new(1.0, 1.0, 4).is_err());
        assert!(HistogramSpec::new(0.0, f32::INFINITY, 4).is_err());
        assert!(HistogramSpec::new(-f32::MAX, f32::MAX, 4).is_err());
        assert!(HistogramSpec::new(0.0, 1.0, 0).is_err());
        assert!(HistogramSpec::new(0.0, 1.0, MAX_BINS + 1).is_err());
        assert!(HistogramSpec::new(0.0, 1e-44, 4096).is_err());
    }

    #[test]
    fn edges_span_the_range() {
        let h = Histogram::empty(HistogramSpec::new(-2.0, 2.0, 8).unwrap());
        let edges = h.edges();
        assert_eq!(edges.len(), 9);
        assert_eq!((edges[0], edges[4], edges[8]), (-2.0, 0.0, 2.0));
    }
}
