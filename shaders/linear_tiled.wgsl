// The tiled entry point of `linear.wgsl`: both operand tiles in workgroup memory (8.3 KiB),
// stepping through K 32 at a time. The number of K steps is read once through
// `workgroupUniformLoad`, so the barriers sit in uniform control flow, as Chromium requires.

const BK: u32 = 32u;

// A tile [BM][BK], one padding column against bank conflicts; B tile [BK][BN].
var<workgroup> a_tile: array<array<f32, 33>, 32>;
var<workgroup> b_tile: array<array<f32, 32>, 32>;
var<workgroup> k_steps: u32;

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
