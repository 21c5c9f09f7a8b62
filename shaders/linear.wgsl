// The ViT's linear layers as one tiled, register-blocked matmul with fused prologues and
// epilogues: out[M, N] = epilogue(prologue(A)[M, K] · B[K, N]).
//
// src/kernels/linear.rs fills the markers in double braces for one variant: the storage bindings (only
// those the variant uses: auto layout drops unused ones), how a vec4 of A or B is read (one vec4
// load where the row length is a multiple of 4, else four bounds-checked scalars), the write-out
// (bias, GELU, LayerScale plus the residual add), and the entry point: `linear_tiled.wgsl`
// (operand tiles in workgroup memory, for GPUs) or `linear_direct.wgsl` (straight from storage,
// for adapters that run on the CPU). Which one a device gets is measured when it is set up
// (`src/kernels/tune.rs`).
//
// In both, a workgroup of 8 x 8 invocations computes a 32 x 32 tile of `out`, each invocation a
// 4 x 4 block of it (four rows, four adjacent columns), accumulating in registers.

{{bindings}}

const BM: u32 = 32u;
const BN: u32 = 32u;

// erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7); WGSL has no erf.
fn erf4(x: vec4<f32>) -> vec4<f32> {
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
        + 0.254829592) * t;
    return sign(x) * (1.0 - poly * exp(-a * a));
}

// The exact GELU, x Φ(x).
fn gelu4(x: vec4<f32>) -> vec4<f32> {
    return 0.5 * x * (1.0 + erf4(x * 0.7071067811865476));
}

// d GELU / dz = Φ(z) + z φ(z).
fn gelu_grad4(z: vec4<f32>) -> vec4<f32> {
    return 0.5 * (1.0 + erf4(z * 0.7071067811865476))
        + z * exp(-0.5 * z * z) * 0.3989422804014327;
}

{{helpers}}

{{main}}
