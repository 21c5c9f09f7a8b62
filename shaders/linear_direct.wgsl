// The direct entry point of `linear.wgsl`: every invocation reads its four rows of A and four
// columns of B straight from storage, 4 values of K at a time, with no workgroup memory and no
// barrier. On adapters that emulate a GPU on the CPU (SwiftShader, llvmpipe) the CPU's caches do
// the tiling and barriers are expensive, so this form is the faster one there.

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row0 = wid.y * BM + lid.y * 4u;
    let col = wid.x * BN + lid.x * 4u;
    // No barrier below, so an invocation whose block lies wholly outside out may leave: at batch
    // 1 (65 rows for 3 row tiles) that is a third of the work.
    if (row0 >= dims.m || col >= dims.n) {
        return;
    }
    var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    for (var k = 0u; k < dims.k; k += 4u) {
        {{direct_step}}
    }
    for (var i = 0u; i < 4u; i++) {
        store4(row0 + i, col, acc[i]);
    }
}
