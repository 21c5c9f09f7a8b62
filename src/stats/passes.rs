//! The three passes every statistic is built from (moments, a histogram, tail sums), run by the
//! GPU kernels or by their plain-Rust twins: [`crate::stats::summary`] and the median's
//! refinement both run over a [`Passes`], so the two paths differ only by rounding.

use super::StatsError;
use crate::gpu::histogram::{Histogram, HistogramKernel, HistogramSpec, histogram_cpu};
use crate::gpu::moments::{Moments, MomentsKernel, moments_cpu};
use crate::gpu::tail::{Tail, TailKernel, TailSpec, tail_cpu};
use crate::gpu::{GpuContext, GpuValues};

/// The three passes every statistic is built from, run by the kernels or by the twins.
pub(crate) trait Passes {
    async fn moments(&self) -> Result<Moments, StatsError>;
    async fn histogram(&self, spec: HistogramSpec) -> Result<Histogram, StatsError>;
    async fn tail(&self, spec: &TailSpec) -> Result<Tail, StatsError>;
}

pub(super) struct Cpu<'a>(pub &'a [f32]);

impl Passes for Cpu<'_> {
    async fn moments(&self) -> Result<Moments, StatsError> {
        Ok(moments_cpu(self.0))
    }

    async fn histogram(&self, spec: HistogramSpec) -> Result<Histogram, StatsError> {
        Ok(histogram_cpu(self.0, spec))
    }

    async fn tail(&self, spec: &TailSpec) -> Result<Tail, StatsError> {
        Ok(tail_cpu(self.0, spec)?)
    }
}

pub(super) struct Gpu<'a> {
    pub ctx: &'a GpuContext,
    pub kernels: &'a StatsKernels,
    pub values: &'a GpuValues,
}

impl Passes for Gpu<'_> {
    async fn moments(&self) -> Result<Moments, StatsError> {
        Ok(self.kernels.moments.run_on(self.ctx, self.values).await?)
    }

    async fn histogram(&self, spec: HistogramSpec) -> Result<Histogram, StatsError> {
        let h = &self.kernels.histogram;
        Ok(h.run_on(self.ctx, self.values, spec).await?)
    }

    async fn tail(&self, spec: &TailSpec) -> Result<Tail, StatsError> {
        Ok(self
            .kernels
            .tail
            .run_on(self.ctx, self.values, spec)
            .await?)
    }
}

/// The statistics kernels, compiled once per [`GpuContext`].
pub struct StatsKernels {
    pub(super) moments: MomentsKernel,
    pub(super) histogram: HistogramKernel,
    pub(super) tail: TailKernel,
}

impl StatsKernels {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            moments: MomentsKernel::new(ctx),
            histogram: HistogramKernel::new(ctx),
            tail: TailKernel::new(ctx),
        }
    }
}
