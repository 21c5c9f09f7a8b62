// Kernels over the rows of a matrix, one workgroup of 128 invocations per row: LayerNorm and the
// attention's scaled softmax, forward and input gradient (frozen gamma and beta: no parameter
// gradients).
//
// LayerNorm forward:  y = (x - mean) * rstd * gamma + beta,  rstd = 1 / sqrt(var + eps) (biased
//                     variance, two passes over the row for accuracy); optionally (mean, rstd).
// LayerNorm backward: with g = dy * gamma and xhat = (x - mean) * rstd,
//                     dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
// Softmax forward:    y = exp(c (x - max x)) / sum exp(c (x - max x)), c the scale.
// Softmax backward:   dx = c y (dy - sum(dy y)).
//
// src/kernels/rows.rs writes the bindings and the body of one variant. The row comes from the workgroup id (MAX_X workgroups per
// grid row), the row count and length through `workgroupUniformLoad`, so every loop bound and
// every barrier is uniform, as Chromium requires.

{{bindings}}

const WG: u32 = 128u;
const MAX_X: u32 = 32768u;

var<workgroup> part_a: array<f32, 128>;
var<workgroup> part_b: array<f32, 128>;
var<workgroup> shape_wg: vec2<u32>;

// The largest of part_a over the workgroup, for every invocation.
fn reduce_max(lid: u32) -> f32 {
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        workgroupBarrier();
        if (lid < s) {
            part_a[lid] = max(part_a[lid], part_a[lid + s]);
        }
    }
    workgroupBarrier();
    let total = part_a[0];
    workgroupBarrier();
    return total;
}

// Sums part_a and part_b over the workgroup; every invocation gets both totals.
fn reduce2(lid: u32) -> vec2<f32> {
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        workgroupBarrier();
        if (lid < s) {
            part_a[lid] += part_a[lid + s];
            part_b[lid] += part_b[lid + s];
        }
    }
    workgroupBarrier();
    let total = vec2<f32>(part_a[0], part_b[0]);
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    if (lid == 0u) {
        shape_wg = vec2<u32>(params.rows, params.d);
    }
    let shape = workgroupUniformLoad(&shape_wg);
    let row = wid.y * MAX_X + wid.x;
    if (row >= shape.x) {
        return;
    }
    let d = shape.y;
    let base = row * d;
    {{body}}
}
