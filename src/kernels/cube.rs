//! Launching the linear kernel on burn's own wgpu buffers, in burn's command stream: the inputs
//! are cubecl tensors, the outputs are allocated from the same client, and nothing is copied
//! unless an input is a strided view (then `into_contiguous` makes it dense first).

use burn::backend::wgpu::{
    CubeBackend, CubeTensor, KernelSource, SourceKernel, SourceTemplate, into_contiguous,
};
use burn::tensor::{DType, Shape};
use cubecl::prelude::KernelId;
use cubecl::server::KernelArguments;
use cubecl::{CubeCount, CubeDim};

use super::linear::{Epilogue, Prologue, TILE, Variant};
use super::{VitKernels, VitOps};

struct LinearSource(Variant);

impl KernelSource for LinearSource {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(self.0.wgsl())
    }

    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info(self.0)
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// Runs `variant` over `inputs` (in [`Variant::inputs`] order; A is [M, K], B is [K, N] or,
/// transposed, [N, K]) and returns its outputs, each [M, N].
fn launch(variant: Variant, inputs: Vec<CubeTensor>, n: usize) -> Vec<CubeTensor> {
    let inputs: Vec<CubeTensor> = inputs.into_iter().map(into_contiguous).collect();
    let a = &inputs[0];
    let [m, k] = a.meta.shape().dims::<2>();
    debug_assert_eq!(a.dtype, DType::F32);
    let client = a.client.clone();
    let shape = Shape::new([m, n]);
    let outputs: Vec<CubeTensor> = variant
        .outputs()
        .iter()
        .map(|_| {
            let handle = client.empty(m * n * size_of::<f32>());
            CubeTensor::new_contiguous(
                client.clone(),
                a.device.clone(),
                shape.clone(),
                handle,
                DType::F32,
            )
        })
        .collect();
    let dims = [m as u32, k as u32, n as u32, 0];
    let dims = client.create_from_slice(bytemuck::cast_slice(&dims));

    let buffers = inputs
        .iter()
        .chain(&outputs)
        .map(|t| t.handle.clone().binding())
        .chain([dims.binding()])
        .collect();
    let kernel = SourceKernel::new(LinearSource(variant), CubeDim::new_2d(8, 8));
    client.launch(
        Box::new(kernel),
        CubeCount::Static(n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32, 1),
        KernelArguments::new().with_buffers(buffers),
    );
    outputs
}

fn rows(t: &CubeTensor) -> [usize; 2] {
    t.meta.shape().dims::<2>()
}

/// Both K and N multiples of 4: the vec4 variant.
fn vec4(k: usize, n: usize) -> bool {
    k.is_multiple_of(4) && n.is_multiple_of(4)
}

fn forward(epilogue: Epilogue, inputs: Vec<CubeTensor>) -> Vec<CubeTensor> {
    let [k, n] = rows(&inputs[1]);
    launch(Variant::forward(epilogue, vec4(k, n)), inputs, n)
}

fn input_grad(prologue: Prologue, inputs: Vec<CubeTensor>) -> CubeTensor {
    let [n, k] = rows(&inputs[1]);
    launch(Variant::input_grad(prologue, vec4(k, n)), inputs, n).remove(0)
}

impl VitOps for CubeBackend {
    fn fused_linear(x: CubeTensor, w: CubeTensor, b: CubeTensor) -> CubeTensor {
        forward(Epilogue::Bias, vec![x, w, b]).remove(0)
    }

    fn fused_linear_gelu(x: CubeTensor, w: CubeTensor, b: CubeTensor) -> CubeTensor {
        forward(Epilogue::BiasGelu, vec![x, w, b]).remove(0)
    }

    fn fused_linear_residual(
        x: CubeTensor,
        w: CubeTensor,
        b: CubeTensor,
        gamma: CubeTensor,
        res: CubeTensor,
    ) -> CubeTensor {
        forward(Epilogue::Residual, vec![x, w, b, gamma, res]).remove(0)
    }
}

impl VitKernels for CubeBackend {
    fn linear_gelu_saved(x: CubeTensor, w: CubeTensor, b: CubeTensor) -> (CubeTensor, CubeTensor) {
        let mut out = forward(Epilogue::BiasGeluSaved, vec![x, w, b]);
        let z = out.remove(1);
        (out.remove(0), z)
    }

    fn linear_input_grad(dy: CubeTensor, w: CubeTensor) -> CubeTensor {
        input_grad(Prologue::None, vec![dy, w])
    }

    fn linear_gelu_input_grad(dy: CubeTensor, z: CubeTensor, w: CubeTensor) -> CubeTensor {
        input_grad(Prologue::GeluGrad, vec![dy, w, z])
    }

    fn linear_scaled_input_grad(dy: CubeTensor, gamma: CubeTensor, w: CubeTensor) -> CubeTensor {
        input_grad(Prologue::Scale, vec![dy, w, gamma])
    }
}
