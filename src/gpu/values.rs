//! A float array uploaded once to the GPU, in slices that each fit one storage binding, so
//! several kernels can read it without uploading it again.

use wgpu::util::DeviceExt;

use super::GpuContext;

/// Values on the GPU: consecutive slices of at most [`GpuContext::max_f32_per_binding`] values.
pub struct GpuValues {
    slices: Vec<(wgpu::Buffer, u32)>,
    len: usize,
}

impl GpuValues {
    /// Uploads `values` in slices as large as one binding allows.
    pub fn upload(ctx: &GpuContext, values: &[f32]) -> Self {
        Self::upload_in_slices(ctx, values, ctx.max_f32_per_binding())
    }

    /// Uploads `values` in slices of at most `slice_len` values (clamped to one binding).
    pub fn upload_in_slices(ctx: &GpuContext, values: &[f32], slice_len: usize) -> Self {
        let slice_len = slice_len
            .clamp(1, ctx.max_f32_per_binding())
            .min(u32::MAX as usize);
        let slices = values
            .chunks(slice_len)
            .map(|chunk| {
                let buffer = ctx
                    .device()
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("values"),
                        contents: bytemuck::cast_slice(chunk),
                        usage: wgpu::BufferUsages::STORAGE,
                    });
                (buffer, chunk.len() as u32)
            })
            .collect();
        Self {
            slices,
            len: values.len(),
        }
    }

    /// Total number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The non-empty slices with their lengths, in order.
    pub(crate) fn slices(&self) -> impl Iterator<Item = (&wgpu::Buffer, u32)> {
        self.slices.iter().map(|(buffer, len)| (buffer, *len))
    }
}
