// The ViT's linear layers as one tiled, register-blocked matmul with fused prologues and
// epilogues: out[M, N] = epilogue(prologue(A)[M, K] · B[K, N]).
//
// src/kernels/linear.rs fills the markers in double braces for one variant: the storage bindings (only
// those the variant uses: auto layout drops unused ones), how a vec4 of A or B is read (one vec4
// load where the row length is a multiple of 4, else four bounds-checked scalars), how the B tile
// is laid out (B as stored, or B transposed for dX = dY W^T), and the write-out (bias, GELU,
// LayerScale plus the residual add).
//
// A workgroup of 8 x 8 invocations computes a 32 x 32 tile of `out`, each invocation a 4 x 4
// block of it (four rows, four adjacent columns), stepping through K 32 at a time with both
// operand tiles in workgroup memory (8.3 KiB). The number of K steps is read once through
// `workgroupUniformLoad`, so the barriers sit in uniform control flow, as Chromium requires.

{{bindings}}

const BM: u32 = 32u;
const BN: u32 = 32u;
const BK: u32 = 32u;

// A tile [BM][BK], one padding column against bank conflicts; B tile [BK][BN].
var<workgroup> a_tile: array<array<f32, 33>, 32>;
var<workgroup> b_tile: array<array<f32, 32>, 32>;
var<workgroup> k_steps: u32;

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

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    if (li == 0u) {
        k_steps = (dims.k + BK - 1u) / BK;
    }
    let steps = workgroupUniformLoad(&k_steps);
    let row0 = wid.y * BM;
    let col0 = wid.x * BN;
    var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));

    for (var s = 0u; s < steps; s++) {
        let k0 = s * BK;
        // Each invocation loads four vec4 of each tile: half a row of 32.
        let half = (li % 2u) * 16u;
        for (var j = 0u; j < 4u; j++) {
            let r = li / 2u;
            let kk = half + j * 4u;
            let v = load_a4(row0 + r, k0 + kk);
            a_tile[r][kk] = v.x;
            a_tile[r][kk + 1u] = v.y;
            a_tile[r][kk + 2u] = v.z;
            a_tile[r][kk + 3u] = v.w;
        }
        for (var j = 0u; j < 4u; j++) {
            {{load_b_tile}}
        }
        workgroupBarrier();
        let c = lid.x * 4u;
        for (var k = 0u; k < BK; k++) {
            let b = vec4<f32>(b_tile[k][c], b_tile[k][c + 1u], b_tile[k][c + 2u], b_tile[k][c + 3u]);
            for (var i = 0u; i < 4u; i++) {
                acc[i] = fma(vec4<f32>(a_tile[lid.y * 4u + i][k]), b, acc[i]);
            }
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < 4u; i++) {
        store4(row0 + lid.y * 4u + i, col0 + lid.x * 4u, acc[i]);
    }
}
