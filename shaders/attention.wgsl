// The attention's matrix products, read and written through strides so that q, k and v come
// straight out of the qkv projection ([B, T, 3D], heads side by side) and the heads' output goes
// straight into the [B, T, D] layout the output projection reads: no permute, no copy.
//
// For workgroup z (one per batch element and head, b = z / heads, h = z % heads):
//     out(i, j) = sum_k A(i, k) B(k, j)
// with A(i, k) = a[a_off + b a_sb + h a_sh + i a_ri + k a_rk], B likewise with b_rk, b_rj, and
// out(i, j) = out[o_off + b o_sb + h o_sh + i o_ri + j]. Strides express every product of the
// forward and backward passes: S = Q K^T, O = P V, dP = dO V^T, dQ = dS K, dK = dS^T Q and
// dV = P^T dO (see src/kernels/attention.rs).
//
// Each invocation computes 4 x 4 elements of out from storage (no workgroup memory, no barrier:
// head_dim is 64 or so, and these products are a tenth of a ViT's arithmetic). With SHARED, B is
// read from the A binding (S = Q K^T: both from qkv).

{{bindings}}

struct Dims {
    m: u32, k: u32, n: u32, heads: u32,
    a_off: u32, a_sb: u32, a_sh: u32, a_ri: u32, a_rk: u32,
    b_off: u32, b_sb: u32, b_sh: u32, b_rk: u32, b_rj: u32,
    o_off: u32, o_sb: u32, o_sh: u32, o_ri: u32,
    pad0: u32, pad1: u32,
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let image = wid.z / dims.heads;
    let head = wid.z % dims.heads;
    let a0 = dims.a_off + image * dims.a_sb + head * dims.a_sh;
    let b0 = dims.b_off + image * dims.b_sb + head * dims.b_sh;
    let o0 = dims.o_off + image * dims.o_sb + head * dims.o_sh;
    let row0 = wid.y * 32u + lid.y * 4u;
    let col0 = wid.x * 32u + lid.x * 4u;
    if (row0 >= dims.m || col0 >= dims.n) {
        return;
    }
    var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    for (var k = 0u; k < dims.k; k++) {
        var bv = vec4<f32>(0.0);
        for (var c = 0u; c < 4u; c++) {
            if (col0 + c < dims.n) {
                bv[c] = {{b}}[b0 + k * dims.b_rk + (col0 + c) * dims.b_rj];
            }
        }
        for (var i = 0u; i < 4u; i++) {
            if (row0 + i < dims.m) {
                acc[i] = fma(vec4<f32>(a[a0 + (row0 + i) * dims.a_ri + k * dims.a_rk]), bv, acc[i]);
            }
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + i;
        for (var c = 0u; c < 4u; c++) {
            if (row < dims.m && col0 + c < dims.n) {
                out[o0 + row * dims.o_ri + col0 + c] = acc[i][c];
            }
        }
    }
}
