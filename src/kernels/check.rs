//! Compiling every kernel variant when a device is set up, inside error scopes.
//!
//! cubecl compiles a kernel when it is first launched, and on wasm it cannot wait for the
//! browser's verdict: a shader the browser's compiler rejects (Chromium's is stricter than naga)
//! surfaces later as an uncaptured error that takes the device with it. So every variant is
//! compiled here first, with the compiler's message kept; any failure turns our kernels off
//! for this device ([`super::set_enabled`]) and the model runs on burn's own ops.

use serde::{Deserialize, Serialize};

use super::attention::ProductVariant;
use super::linear::Variant;
use super::rows::RowVariant;
use super::tune::MatmulChoice;

/// What compiling the kernels on one device gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KernelCheck {
    /// Variants compiled.
    pub compiled: usize,
    /// Each rejected variant with the compiler's message.
    pub failures: Vec<String>,
    /// The measured choice between the tiled and the direct linear kernel, or why there is none.
    pub matmul: Result<MatmulChoice, String>,
}

impl Default for KernelCheck {
    fn default() -> Self {
        Self {
            compiled: 0,
            failures: Vec::new(),
            matmul: Err("not measured".into()),
        }
    }
}

impl KernelCheck {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// One line for the self-check panel and the command line.
    pub fn summary(&self) -> String {
        match self.failures.first() {
            None => match &self.matmul {
                Ok(choice) => format!(
                    "our WGSL kernels: {} variants compiled; {}",
                    self.compiled,
                    choice.summary()
                ),
                Err(why) => format!(
                    "our WGSL kernels: {} variants compiled; linear layers tiled ({why})",
                    self.compiled
                ),
            },
            Some(first) => format!(
                "our WGSL kernels are off ({} of {} variants rejected; burn's ops run instead): {first}",
                self.failures.len(),
                self.compiled + self.failures.len()
            ),
        }
    }
}

/// Compiles every variant as a compute pipeline on `device` and reports the rejected ones.
pub async fn compile_all(device: &wgpu::Device) -> KernelCheck {
    let mut check = KernelCheck::default();
    let linear = Variant::all()
        .into_iter()
        .map(|v| (format!("{v:?}"), v.wgsl()));
    let rows = RowVariant::ALL
        .into_iter()
        .map(|v| (format!("{v:?}"), v.wgsl()));
    let products = ProductVariant::ALL
        .into_iter()
        .map(|v| (format!("{v:?}"), v.wgsl()));
    for (name, source) in linear.chain(rows).chain(products) {
        match compile(device, source).await {
            None => check.compiled += 1,
            Some(message) => check.failures.push(format!("{name}: {message}")),
        }
    }
    check
}

/// The number of variants [`compile_all`] compiles.
pub fn variants() -> usize {
    Variant::all().len() + RowVariant::ALL.len() + ProductVariant::ALL.len()
}

/// Compiles `source` (entry point `main`) as a compute pipeline; the compiler's message if it
/// is rejected.
pub async fn compile(device: &wgpu::Device, source: String) -> Option<String> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("bpt-lab kernel"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let _pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("bpt-lab kernel"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    scope.pop().await.map(|e| e.to_string())
}
