//! [`Summary`]: every statistic of one set of values, from the GPU kernels
//! ([`StatsKernels::summarize`]) or from their plain-Rust twins ([`summarize_cpu`]).
//!
//! Both paths run the same steps over a [`Passes`] implementation, so they differ only by the
//! kernels' rounding: counts (histogram, tails, NaN/inf) are equal; the median is equal when the
//! two histograms are (they are, bit for bit, since min and max are exact); moments, fits and
//! sums agree within the tolerances stated in `crate::gpu`.
//!
//! Passes over the data: moments, the display histogram, tails beyond k std with `Σ|x - mean|`
//! (which fixes the generalised Gaussian shape), two median histograms, `Σ|x - median|` (Laplace
//! scale) and `Σ|x - mean|^β` (generalised Gaussian scale): seven, over values uploaded once.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use burn::tensor::Tensor;
use serde_json::{Value, json};

use super::StatsError;
use super::fit::{Fits, GaussianFit, GenGaussianFit, LaplaceFit};
use super::median::median;
pub use super::passes::StatsKernels;
use super::passes::{Cpu, Gpu, Passes};
use crate::gpu::histogram::{Histogram, HistogramSpec, MAX_BINS};
use crate::gpu::moments::Moments;
use crate::gpu::tail::{MAX_THRESHOLDS, TailSpec};
use crate::gpu::{GpuContext, GpuValues};

/// What to compute besides the fixed statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryOptions {
    /// Bins of the display histogram, 1 to 4096. Default 256.
    pub bins: u32,
    /// Range `[lo, hi)` of the display histogram. Default `None`: `[min, max]` of the finite
    /// values (`hi` is the f32 just above the max, so the max lands in the last bin); `[-1, 1)`
    /// when there is no finite value, and a range widened by 2^-8 of the magnitude (at least
    /// 2^-8) when all finite values are equal.
    pub range: Option<(f32, f32)>,
    /// Multiples k of the standard deviation for the tail masses, at most 8. Default 1 to 6.
    pub ks: Vec<f32>,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        Self {
            bins: 256,
            range: None,
            ks: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    }
}

/// The finite values farther than `k` standard deviations from the mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TailMass {
    pub k: f32,
    /// `k * std` rounded to f32: the tail is `|x - mean| > threshold`.
    pub threshold: f32,
    pub count: u64,
    /// `count` over the number of finite values (NaN when there is none).
    pub fraction: f64,
}

/// Statistics of one set of values.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Number of values, NaN and infinities included.
    pub len: u64,
    pub moments: Moments,
    pub histogram: Histogram,
    pub tails: Vec<TailMass>,
    /// Lower median of the finite values, from histograms (see `median.rs` for the error bound).
    pub median: Option<f64>,
    pub fits: Fits,
}

impl StatsKernels {
    /// Uploads `values` once and summarises them on the GPU.
    pub async fn summarize(
        &self,
        ctx: &GpuContext,
        values: &[f32],
        options: &SummaryOptions,
    ) -> Result<Summary, StatsError> {
        check(options)?;
        let values = GpuValues::upload(ctx, values);
        self.summarize_on(ctx, &values, options).await
    }

    /// Summarises values already on the GPU.
    pub async fn summarize_on(
        &self,
        ctx: &GpuContext,
        values: &GpuValues,
        options: &SummaryOptions,
    ) -> Result<Summary, StatsError> {
        let passes = Gpu {
            ctx,
            kernels: self,
            values,
        };
        summarize_with(&passes, values.len() as u64, options).await
    }

    /// Summarises a float tensor of any shape (f16 and bf16 are widened to f32).
    ///
    /// What is copied: the tensor is read back to host memory (`into_data_async`, one copy of
    /// its values, in f32) and uploaded again to buffers of our own (a second copy, on the GPU);
    /// both live until the summary is done. Binding burn's own buffer would avoid the copies but
    /// needs burn's low-level resource API (see WEB-STACK.md, section 3).
    pub async fn summarize_tensor<const D: usize>(
        &self,
        ctx: &GpuContext,
        tensor: Tensor<D>,
        options: &SummaryOptions,
    ) -> Result<Summary, StatsError> {
        let values = tensor
            .into_data_async()
            .await
            .map_err(|e| StatsError::Tensor(format!("{e:?}")))?
            .try_into_vec_as::<f32>()
            .map_err(|e| StatsError::Tensor(format!("{e:?}")))?;
        self.summarize(ctx, &values, options).await
    }
}

/// Summarises `values` on the GPU, compiling the kernels for this call only; to summarise many
/// arrays build [`StatsKernels`] once and call [`StatsKernels::summarize`].
pub async fn summarize(
    ctx: &GpuContext,
    values: &[f32],
    options: &SummaryOptions,
) -> Result<Summary, StatsError> {
    StatsKernels::new(ctx).summarize(ctx, values, options).await
}

/// The same summary from the plain-Rust twins of the kernels.
pub fn summarize_cpu(values: &[f32], options: &SummaryOptions) -> Result<Summary, StatsError> {
    check(options)?;
    ready(summarize_with(&Cpu(values), values.len() as u64, options))
}

/// Polls a future that never waits (the CPU passes) to its end without an executor.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the CPU passes complete without waiting"),
    }
}

fn check(options: &SummaryOptions) -> Result<(), StatsError> {
    if !(1..=MAX_BINS).contains(&options.bins) {
        return Err(StatsError::Options(format!(
            "bins must be 1 to {MAX_BINS}, got {}",
            options.bins
        )));
    }
    if options.ks.len() > MAX_THRESHOLDS || options.ks.iter().any(|k| !(k.is_finite() && *k >= 0.0))
    {
        return Err(StatsError::Options(format!(
            "at most {MAX_THRESHOLDS} finite k >= 0 for the tails, got {:?}",
            options.ks
        )));
    }
    Ok(())
}

/// The display histogram's range (see [`SummaryOptions::range`]).
fn display_spec(m: &Moments, options: &SummaryOptions) -> Result<HistogramSpec, StatsError> {
    if let Some((lo, hi)) = options.range {
        return Ok(HistogramSpec::new(lo, hi, options.bins)?);
    }
    if m.count == 0 {
        return Ok(HistogramSpec::new(-1.0, 1.0, options.bins)?);
    }
    HistogramSpec::new(m.min, m.max.next_up(), options.bins).or_else(|_| {
        let pad = m.min.abs().max(m.max.abs()).max(1.0) / 256.0;
        Ok(HistogramSpec::new(m.min - pad, m.max + pad, options.bins)?)
    })
}

async fn summarize_with<P: Passes>(
    passes: &P,
    len: u64,
    options: &SummaryOptions,
) -> Result<Summary, StatsError> {
    let moments = passes.moments().await?;
    let histogram = passes.histogram(display_spec(&moments, options)?).await?;
    let (mean, std) = (moments.mean as f32, moments.std() as f32);
    let tail_spec = TailSpec::beyond_k(mean, std, &options.ks, 1.0)?;
    let tail = passes.tail(&tail_spec).await?;
    let tails = options
        .ks
        .iter()
        .zip(&tail_spec.thresholds)
        .zip(&tail.beyond)
        .map(|((&k, &threshold), &count)| TailMass {
            k,
            threshold,
            count,
            fraction: count as f64 / moments.count as f64,
        })
        .collect();

    let median = median(passes, &moments).await?;
    let laplace = match median {
        Some(m) => {
            let spec = TailSpec::beyond_k(m as f32, 0.0, &[], 1.0)?;
            let sum = passes.tail(&spec).await?.power_sum;
            LaplaceFit::new(m as f32 as f64, sum, moments.count)
        }
        None => None,
    };
    let beta = GenGaussianFit::shape(&moments, tail.power_sum) as f32;
    let gen_gaussian = if beta.is_finite() {
        let spec = TailSpec::beyond_k(mean, 0.0, &[], beta)?;
        let sum = passes.tail(&spec).await?.power_sum;
        GenGaussianFit::new(&moments, beta as f64, sum)
    } else {
        None
    };
    Ok(Summary {
        len,
        moments,
        histogram,
        tails,
        median,
        fits: Fits {
            gaussian: GaussianFit::from_moments(&moments),
            laplace,
            gen_gaussian,
        },
    })
}

impl Summary {
    /// Everything as JSON for the page and the command line; undefined figures (NaN) are null.
    pub fn to_json(&self) -> Value {
        let m = &self.moments;
        let h = &self.histogram;
        let f = &self.fits;
        json!({
            "len": self.len,
            "count": m.count,
            "nan": m.nan,
            "inf": m.inf,
            "min": m.min,
            "max": m.max,
            "mean": m.mean,
            "variance": m.variance(),
            "std": m.std(),
            "skewness": m.skewness(),
            "excess_kurtosis": m.excess_kurtosis(),
            "median": self.median,
            "histogram": h.to_json(),
            "tails": self.tails.iter().map(|t| json!({
                "k": t.k,
                "threshold": t.threshold,
                "count": t.count,
                "fraction": t.fraction,
            })).collect::<Vec<_>>(),
            "fits": {
                "gaussian": f.gaussian.map(|g| json!({
                    "mean": g.mean,
                    "std": g.std,
                    "avg_log_likelihood": g.avg_log_likelihood,
                })),
                "laplace": f.laplace.map(|l| json!({
                    "median": l.median,
                    "b": l.b,
                    "avg_log_likelihood": l.avg_log_likelihood,
                })),
                "generalized_gaussian": f.gen_gaussian.map(|g| json!({
                    "mean": g.mean,
                    "alpha": g.alpha,
                    "beta": g.beta,
                    "beta_from_kurtosis": g.beta_from_kurtosis,
                    "avg_log_likelihood": g.avg_log_likelihood,
                })),
                "better_of_gaussian_and_laplace": f.better_of_gaussian_and_laplace(),
            },
        })
    }
}
