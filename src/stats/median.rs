//! The median of the finite values from two histogram passes, on the GPU or with the twins.
//!
//! Why from histograms and not from a sort of the host data: the values may live on the GPU (a
//! tensor) or be too many to copy and sort cheaply in a browser tab, and two counting passes
//! need neither a read-back of the data nor extra memory. The first pass counts the finite
//! values in [`MEDIAN_BINS`] bins over `[min, max]` and finds the bin holding the lower median
//! (rank `(n - 1) / 2`, 0-based, among the finite values); the second counts all values again
//! in [`MEDIAN_BINS`] bins over that bin (widened by a few ulps, so rounding in the bin rule
//! cannot leave the median outside), and its underflow count keeps the ranks exact. The estimate
//! interpolates linearly inside the final bin, so it is off by less than one final bin width,
//! `(max - min) / 4096^2` (plus a few f32 ulps of the range), clamped to `[min, max]`.
//!
//! What that error costs the Laplace fit: `Σ|x - m|` is 1-Lipschitz in `m` per value and flat at
//! the median, so the scale `b` moves by less than the median error, and in practice by its
//! square times the density.
//!
//! The CPU path runs the same steps on the twin histograms, so both paths give the same median.

use super::StatsError;
use super::passes::Passes;
use crate::gpu::histogram::{Histogram, HistogramSpec};
use crate::gpu::moments::Moments;

/// Bins of each of the two passes.
pub const MEDIAN_BINS: u32 = 4096;

/// Where a rank among the finite values falls in a histogram.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Located {
    Below,
    In { bin: u32, offset: u64, count: u64 },
    Above,
}

fn locate(h: &Histogram, rank: u64) -> Located {
    if rank < h.underflow {
        return Located::Below;
    }
    let mut before = h.underflow;
    for (bin, &count) in h.counts.iter().enumerate() {
        if rank < before + count {
            return Located::In {
                bin: bin as u32,
                offset: rank - before,
                count,
            };
        }
        before += count;
    }
    Located::Above
}

/// Linear interpolation of the value at `rank` inside the bin that holds it.
fn estimate(h: &Histogram, rank: u64) -> f64 {
    let (lo, hi) = (h.spec.lo() as f64, h.spec.hi() as f64);
    match locate(h, rank) {
        Located::Below => lo,
        Located::Above => hi,
        Located::In { bin, offset, count } => {
            let width = (hi - lo) / h.spec.bins() as f64;
            lo + width * (bin as f64 + (offset as f64 + 0.5) / count as f64)
        }
    }
}

/// The range of `bin`, widened by 8 f32 ulps of the range's ends.
fn zoom(h: &Histogram, bin: u32) -> Option<HistogramSpec> {
    let (lo, hi) = (h.spec.lo() as f64, h.spec.hi() as f64);
    let width = (hi - lo) / h.spec.bins() as f64;
    let margin = 8.0 * f32::EPSILON as f64 * lo.abs().max(hi.abs());
    let zoom_lo = ((lo + width * bin as f64 - margin) as f32).next_down();
    let zoom_hi = ((lo + width * (bin + 1) as f64 + margin) as f32).next_up();
    HistogramSpec::new(zoom_lo, zoom_hi, MEDIAN_BINS).ok()
}

/// The lower median of the finite values, or `None` when there is none.
pub(crate) async fn median<P: Passes>(passes: &P, m: &Moments) -> Result<Option<f64>, StatsError> {
    if m.count == 0 {
        return Ok(None);
    }
    let (min, max) = (m.min as f64, m.max as f64);
    if m.min == m.max {
        return Ok(Some(min));
    }
    let rank = (m.count - 1) / 2;
    let Ok(first) = HistogramSpec::new(m.min, m.max.next_up(), MEDIAN_BINS) else {
        // A range of a few subnormal ulps: the midpoint is within it.
        return Ok(Some(0.5 * (min + max)));
    };
    let coarse = passes.histogram(first).await?;
    let Located::In { bin, .. } = locate(&coarse, rank) else {
        unreachable!("every finite value lies in [min, max]");
    };
    let fine = match zoom(&coarse, bin) {
        Some(spec) => passes.histogram(spec).await?,
        None => coarse,
    };
    Ok(Some(estimate(&fine, rank).clamp(min, max)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::histogram::histogram_cpu;

    #[test]
    fn locate_counts_the_underflow_first() {
        let spec = HistogramSpec::new(0.0, 4.0, 4).unwrap();
        let h = histogram_cpu(&[-1.0, 0.5, 0.6, 2.5, 9.0], spec);
        assert_eq!(locate(&h, 0), Located::Below);
        let second = Located::In {
            bin: 0,
            offset: 1,
            count: 2,
        };
        assert_eq!(locate(&h, 2), second);
        assert_eq!(locate(&h, 4), Located::Above);
    }

    #[test]
    fn the_zoomed_range_covers_the_whole_bin() {
        let spec = HistogramSpec::new(-3.1, 2.9, 13).unwrap();
        let h = Histogram::empty(spec);
        for bin in 0..13 {
            let z = zoom(&h, bin).unwrap();
            let edges = h.edges();
            assert!((z.lo() as f64) < edges[bin as usize]);
            assert!((z.hi() as f64) > edges[bin as usize + 1]);
        }
    }
}
