//! Launching our kernels on burn's own wgpu buffers, in burn's command stream: the inputs
//! are cubecl tensors, the outputs are allocated from the same client, and nothing is copied
//! unless an input is a strided view (then `into_contiguous` makes it dense first).

use burn::backend::wgpu::{
    CubeBackend, CubeTensor, KernelSource, SourceKernel, SourceTemplate, into_contiguous,
};
use burn::tensor::{DType, Shape};
use cubecl::prelude::KernelId;
use cubecl::server::KernelArguments;
use cubecl::{CubeCount, CubeDim};

use super::attention::{Heads, Product, ProductVariant};
use super::linear::{Epilogue, Prologue, TILE, Variant};
use super::rows::{MAX_X, ROWS_PER_GROUP, RowVariant};
use super::tune::tiled;
use super::{VitKernels, VitOps};

/// Every kernel of ours, keyed by variant: the id keys cubecl's pipeline cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kernel {
    Linear(Variant),
    Rows(RowVariant),
    Product(ProductVariant),
}

impl KernelSource for Kernel {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(match self {
            Kernel::Linear(v) => v.wgsl(),
            Kernel::Rows(v) => v.wgsl(),
            Kernel::Product(v) => v.wgsl(),
        })
    }

    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info(*self)
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// Launches `kernel` over `inputs` (made dense first; f32, or an f16 weight where the variant
/// says so) with one f32 output per entry of
/// `outputs` (its shape) and the four-word parameter block bound last.
fn launch(
    kernel: Kernel,
    inputs: Vec<CubeTensor>,
    outputs: &[Shape],
    params: [u32; 4],
    count: CubeCount,
    dim: CubeDim,
) -> Vec<CubeTensor> {
    let inputs: Vec<CubeTensor> = inputs.into_iter().map(into_contiguous).collect();
    let first = &inputs[0];
    debug_assert!(
        inputs
            .iter()
            .all(|t| matches!(t.dtype, DType::F32 | DType::F16))
    );
    let outputs: Vec<CubeTensor> = outputs.iter().map(|s| empty(first, s.clone())).collect();
    let buffers: Vec<&CubeTensor> = inputs.iter().chain(&outputs).collect();
    dispatch(kernel, &buffers, &params, count, dim);
    outputs
}

/// Binds `buffers` in order, then `params` as the last binding, and queues `kernel`.
fn dispatch(
    kernel: Kernel,
    buffers: &[&CubeTensor],
    params: &[u32],
    count: CubeCount,
    dim: CubeDim,
) {
    let client = &buffers[0].client;
    let params = client.create_from_slice(bytemuck::cast_slice(params));
    let bindings = buffers
        .iter()
        .map(|t| t.handle.clone().binding())
        .chain([params.binding()])
        .collect();
    client.launch(
        Box::new(SourceKernel::new(kernel, dim)),
        count,
        KernelArguments::new().with_buffers(bindings),
    );
}

/// Runs linear `variant` over `inputs` (in [`Variant::inputs`] order; A is [M, K], B is [K, N]
/// or, transposed, [N, K]) and returns its outputs, each [M, N].
fn linear(variant: Variant, inputs: Vec<CubeTensor>, n: usize) -> Vec<CubeTensor> {
    let [m, k] = dims2(&inputs[0]);
    let shapes = vec![Shape::new([m, n]); variant.outputs().len()];
    let count = CubeCount::Static(n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32, 1);
    let params = [m as u32, k as u32, n as u32, 0];
    launch(
        Kernel::Linear(variant),
        inputs,
        &shapes,
        params,
        count,
        CubeDim::new_2d(8, 8),
    )
}

/// Runs row kernel `variant` with one invocation per row of `inputs[0]` ([rows, d]); `c` is
/// LayerNorm's epsilon or the softmax's scale.
fn row_kernel(variant: RowVariant, inputs: Vec<CubeTensor>, c: f64) -> Vec<CubeTensor> {
    let [r, d] = dims2(&inputs[0]);
    let shapes: Vec<Shape> = variant
        .outputs()
        .iter()
        .map(|&name| {
            if name == "stats" {
                Shape::new([r, 2])
            } else {
                Shape::new([r, d])
            }
        })
        .collect();
    let groups = r.div_ceil(ROWS_PER_GROUP);
    let count = CubeCount::Static(groups.min(MAX_X) as u32, groups.div_ceil(MAX_X) as u32, 1);
    let params = [r as u32, d as u32, (c as f32).to_bits(), 0];
    let dim = CubeDim::new_1d(ROWS_PER_GROUP as u32);
    launch(Kernel::Rows(variant), inputs, &shapes, params, count, dim)
}

fn empty(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let handle = like.client.empty(shape.num_elements() * size_of::<f32>());
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        shape,
        handle,
        DType::F32,
    )
}

/// Runs one strided product of attention into `out` (see `attention.rs`); with `b` None, B is
/// read from `a`.
fn product(s: &Heads, p: &Product, a: &CubeTensor, b: Option<&CubeTensor>, out: &CubeTensor) {
    let buffers: Vec<&CubeTensor> = [Some(a), b, Some(out)].into_iter().flatten().collect();
    let variant = ProductVariant {
        shared: b.is_none(),
    };
    let count = CubeCount::Static(
        p.n.div_ceil(TILE) as u32,
        p.m.div_ceil(TILE) as u32,
        (s.batch * s.heads) as u32,
    );
    dispatch(
        Kernel::Product(variant),
        &buffers,
        &s.params(p),
        count,
        CubeDim::new_2d(8, 8),
    );
}

fn heads_of(qkv: &CubeTensor, heads: usize) -> Heads {
    let [batch, tokens, d3] = qkv.meta.shape().dims::<3>();
    Heads {
        batch,
        tokens,
        heads,
        head_dim: d3 / 3 / heads,
    }
}

/// (O, P): the heads' output [B, T, D] and the probabilities [B H T, T].
fn attention_forward(qkv: CubeTensor, heads: usize, scale: f64) -> (CubeTensor, CubeTensor) {
    let qkv = into_contiguous(qkv);
    let s = heads_of(&qkv, heads);
    let (bht, t) = (s.batch * s.heads * s.tokens, s.tokens);
    let scores = empty(&qkv, Shape::new([bht, t]));
    product(&s, &s.scores_product(), &qkv, None, &scores);
    let p = row_kernel(RowVariant::Softmax, vec![scores], scale).remove(0);
    let out = empty(&qkv, Shape::new([s.batch, t, s.heads * s.head_dim]));
    product(&s, &s.output_product(), &p, Some(&qkv), &out);
    (out, p)
}

fn dims2(t: &CubeTensor) -> [usize; 2] {
    t.meta.shape().dims::<2>()
}

/// Both K and N multiples of 4: the vec4 variant.
fn vec4(k: usize, n: usize) -> bool {
    k.is_multiple_of(4) && n.is_multiple_of(4)
}

/// The weight (always the second input) is stored in f16.
fn half_weight(inputs: &[CubeTensor]) -> bool {
    inputs[1].dtype == DType::F16
}

fn forward(epilogue: Epilogue, inputs: Vec<CubeTensor>) -> Vec<CubeTensor> {
    let [k, n] = dims2(&inputs[1]);
    let variant = Variant::forward(epilogue, vec4(k, n), tiled()).with_half_b(half_weight(&inputs));
    linear(variant, inputs, n)
}

fn input_grad(prologue: Prologue, inputs: Vec<CubeTensor>) -> CubeTensor {
    let [n, k] = dims2(&inputs[1]);
    let variant =
        Variant::input_grad(prologue, vec4(k, n), tiled()).with_half_b(half_weight(&inputs));
    linear(variant, inputs, n).remove(0)
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

    fn fused_layer_norm(
        x: CubeTensor,
        gamma: CubeTensor,
        beta: CubeTensor,
        eps: f64,
    ) -> CubeTensor {
        row_kernel(RowVariant::NormForward, vec![x, gamma, beta], eps).remove(0)
    }

    fn fused_attention(qkv: CubeTensor, heads: usize, scale: f64) -> CubeTensor {
        attention_forward(qkv, heads, scale).0
    }

    fn fused_softmax(x: CubeTensor, scale: f64) -> CubeTensor {
        row_kernel(RowVariant::Softmax, vec![x], scale).remove(0)
    }
}

impl VitKernels for CubeBackend {
    fn linear_gelu_saved(x: CubeTensor, w: CubeTensor, b: CubeTensor) -> (CubeTensor, CubeTensor) {
        let mut out = forward(Epilogue::BiasGeluSaved, vec![x, w, b]);
        let z = out.remove(1);
        (out.remove(0), z)
    }

    fn layer_norm_saved(
        x: CubeTensor,
        gamma: CubeTensor,
        beta: CubeTensor,
        eps: f64,
    ) -> (CubeTensor, CubeTensor) {
        let mut out = row_kernel(RowVariant::NormForwardSaved, vec![x, gamma, beta], eps);
        let stats = out.remove(1);
        (out.remove(0), stats)
    }

    fn layer_norm_input_grad(
        x: CubeTensor,
        gamma: CubeTensor,
        stats: CubeTensor,
        dy: CubeTensor,
    ) -> CubeTensor {
        row_kernel(RowVariant::NormBackward, vec![x, gamma, stats, dy], 0.0).remove(0)
    }

    fn attention_saved(qkv: CubeTensor, heads: usize, scale: f64) -> (CubeTensor, CubeTensor) {
        attention_forward(qkv, heads, scale)
    }

    fn attention_input_grad(
        qkv: CubeTensor,
        p: CubeTensor,
        dout: CubeTensor,
        heads: usize,
        scale: f64,
    ) -> CubeTensor {
        let (qkv, dout) = (into_contiguous(qkv), into_contiguous(dout));
        let s = heads_of(&qkv, heads);
        let dp = empty(&qkv, p.meta.shape().clone());
        product(&s, &s.probs_grad_product(), &dout, Some(&qkv), &dp);
        let ds = row_kernel(RowVariant::SoftmaxBackward, vec![p.clone(), dp], scale).remove(0);
        let dqkv = empty(&qkv, qkv.meta.shape().clone());
        let [dq, dk, dv] = s.qkv_grad_products();
        product(&s, &dq, &ds, Some(&qkv), &dqkv);
        product(&s, &dk, &ds, Some(&qkv), &dqkv);
        product(&s, &dv, &p, Some(&dout), &dqkv);
        dqkv
    }

    fn softmax_input_grad(y: CubeTensor, dy: CubeTensor, scale: f64) -> CubeTensor {
        row_kernel(RowVariant::SoftmaxBackward, vec![y, dy], scale).remove(0)
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
