//! Acquiring the GPU once and sharing it between burn and our kernels.
//!
//! The device is requested the way burn's own wgpu runtime requests it (every adapter feature
//! except mappable primary buffers, and the adapter's full limits rather than the WebGPU defaults),
//! then registered with burn through `WgpuSetup`, so tensors and our kernels live on one device
//! and one queue. Registering a fresh setup is allowed any number of times, which is what lets the
//! page retry after the device is lost.
//!
//! Device loss is watched by burn's runtime (cubecl installs the device-lost and
//! uncaptured-error callbacks when it takes the device, and wgpu keeps one of each), so this
//! module installs none: a lost device surfaces as an error of the next read-back or burn sync.

use burn::tensor::wgpu::WgpuSetup;

use super::GpuError;
use crate::kernels::check::{KernelCheck, compile_all};
use crate::kernels::half::{self, HalfError};
use crate::model::vit::Vit;

/// What the page and the command line show about the adapter in use.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSummary {
    /// The adapter's own description ("llvmpipe (LLVM 15.0.7, 256 bits)", "NVIDIA GeForce ...").
    pub name: String,
    /// The graphics API behind wgpu: Vulkan, Metal, Dx12 or BrowserWebGpu.
    pub backend: String,
    /// Discrete, integrated, virtual, CPU (software) or other.
    pub device_type: String,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub shader_f16: bool,
    pub subgroups: bool,
    pub timestamp_query: bool,
}

impl AdapterSummary {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        Self {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            timestamp_query: features.contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }
}

/// The one GPU device of the program, shared by burn and the WGSL kernels.
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: AdapterSummary,
    burn: burn::tensor::Device,
    kernels: KernelCheck,
}

impl GpuContext {
    /// Acquires an adapter and a device and registers them with burn.
    ///
    /// Natively the graphics API follows `WGPU_BACKEND` (for example `vulkan`), else wgpu's
    /// default order; in the browser it is WebGPU. Never blocks: on wasm every step is awaited.
    pub async fn new() -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(instance_descriptor());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("bpt-lab"),
                required_features: adapter
                    .features()
                    .difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
                required_limits: adapter.limits(),
                memory_hints: wgpu::MemoryHints::MemoryUsage,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::RequestDevice(e.to_string()))?;

        let summary = AdapterSummary::of(&adapter);
        // Our ViT kernels are compiled before burn sees the device; if this browser's compiler
        // rejects any of them, the model runs on burn's ops instead (see `kernels::check`).
        let mut kernels = compile_all(&device).await;
        crate::kernels::set_enabled(kernels.ok());
        let backend = adapter.get_info().backend;
        let burn = burn::tensor::Device::wgpu_options()
            .setup(WgpuSetup {
                instance,
                adapter,
                device: device.clone(),
                queue: queue.clone(),
                backend,
            })
            .init()
            .map_err(|e| GpuError::Burn(e.to_string()))?;
        if kernels.ok() {
            kernels.matmul = crate::kernels::tune::measure(&burn)
                .await
                .map_err(|e| e.to_string());
        }

        Ok(Self {
            device,
            queue,
            adapter: summary,
            burn,
            kernels,
        })
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// What compiling our ViT kernels on this device gave.
    pub fn kernel_check(&self) -> &KernelCheck {
        &self.kernels
    }

    /// Readies this device for linear weights stored in f16 ([`crate::kernels::half`]): the
    /// adapter must have `shader-f16` and the f16 kernels must compile. Call it before
    /// [`crate::model::vit::Vit::store_linear_weights`] with f16.
    pub async fn prepare_f16(&self) -> Result<(), HalfError> {
        half::prepare(&self.device, self.adapter.shader_f16).await
    }

    /// Stores the blocks' linear weights of `vit` in f16, once [`Self::prepare_f16`] has
    /// succeeded: a refusal leaves the model as it was.
    pub async fn store_f16(&self, vit: &mut Vit) -> Result<(), HalfError> {
        self.prepare_f16().await?;
        vit.store_linear_weights(burn::tensor::FloatDType::F16);
        Ok(())
    }

    /// The burn device backed by this context's wgpu device and queue.
    pub fn burn_device(&self) -> &burn::tensor::Device {
        &self.burn
    }

    /// The largest number of f32 values one storage binding may hold on this device.
    pub fn max_f32_per_binding(&self) -> usize {
        let limits = self.device.limits();
        let bytes = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        usize::try_from(bytes / 4).unwrap_or(usize::MAX)
    }

    /// Copies `size` bytes of `source` into a mappable buffer and reads them back.
    ///
    /// Natively this polls the device until the copy is done; in the browser the map
    /// request resolves from the event loop, so awaiting never blocks the page.
    pub async fn read_back(&self, source: &wgpu::Buffer, size: u64) -> Result<Vec<u8>, GpuError> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.copy_buffer_to_buffer(source, 0, &staging, 0, size);
        self.queue.submit([encoder.finish()]);

        let (sender, receiver) = futures_channel::oneshot::channel();
        staging
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |result| {
                let _ = sender.send(result);
            });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        receiver
            .await
            .map_err(|_| GpuError::Readback("the map request was dropped".into()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let bytes = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| GpuError::Readback(e.to_string()))?
            .to_vec();
        staging.unmap();
        Ok(bytes)
    }
}

fn instance_descriptor() -> wgpu::InstanceDescriptor {
    #[cfg(target_arch = "wasm32")]
    {
        wgpu::InstanceDescriptor {
            backends: wgpu::Backends::BROWSER_WEBGPU,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        wgpu::InstanceDescriptor::new_without_display_handle_from_env()
    }
}
