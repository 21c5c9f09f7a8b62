//! What every kernel launcher shares: the workgroup geometry, pipeline creation (with the
//! shared WGSL, `shaders/common.wgsl`, put before each kernel) and one dispatch over a list of
//! storage buffers.
//!
//! All our reduction kernels use 256 threads per workgroup and at most 1024 workgroups per
//! dispatch; each thread walks a grid-strided share of its slice, so one dispatch covers any
//! slice length that fits a binding.

use wgpu::util::DeviceExt;

use super::GpuContext;

/// Threads per workgroup; the kernels' `WG` is defined from it (see [`Pipeline::new`]).
pub(crate) const WORKGROUP: u32 = 256;
/// At most this many workgroups per dispatch.
pub(crate) const MAX_WORKGROUPS: u32 = 1024;

/// Workgroups to dispatch for `len` values (at least one).
pub(crate) fn groups_for(len: u32) -> u32 {
    len.div_ceil(WORKGROUP).clamp(1, MAX_WORKGROUPS)
}

/// A compute pipeline and its bind group layout, built once from a WGSL source.
pub(crate) struct Pipeline {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl Pipeline {
    /// Compiles `source` after `const WG` and `shaders/common.wgsl` (WGSL has no includes).
    pub(crate) fn new(ctx: &GpuContext, label: &'static str, source: &str) -> Self {
        let device = ctx.device();
        let common = include_str!("../../shaders/common.wgsl");
        let source = format!("const WG: u32 = {WORKGROUP}u;\n{common}\n{source}");
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        Self { pipeline, layout }
    }

    /// Binds `buffers` to bindings 0, 1, ... of group 0 and dispatches `groups` workgroups.
    pub(crate) fn dispatch(&self, ctx: &GpuContext, buffers: &[&wgpu::Buffer], groups: u32) {
        let device = ctx.device();
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, buffer)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.layout,
            entries: &entries,
        });
        let mut encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(groups, 1, 1);
        }
        ctx.queue().submit([encoder.finish()]);
    }
}

/// A uniform buffer holding `words` (u32 or f32 bit patterns).
pub(crate) fn uniform(ctx: &GpuContext, label: &'static str, words: &[u32]) -> wgpu::Buffer {
    ctx.device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(words),
            usage: wgpu::BufferUsages::UNIFORM,
        })
}

/// A zeroed storage buffer of `bytes` bytes that can be read back.
pub(crate) fn output(ctx: &GpuContext, label: &'static str, bytes: u64) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

/// Little-endian u32 word `i` of `bytes`.
pub(crate) fn word(bytes: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap())
}
