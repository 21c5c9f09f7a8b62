// Kernels over the rows of a matrix, one invocation per row: LayerNorm and the attention's scaled
// softmax, forward and input gradient (frozen gamma and beta: no parameter gradients).
//
// LayerNorm forward:  y = (x - mean) * rstd * gamma + beta,  rstd = 1 / sqrt(var + eps) (biased
//                     variance, two passes over the row for accuracy); optionally (mean, rstd).
// LayerNorm backward: with g = dy * gamma and xhat = (x - mean) * rstd,
//                     dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
// Softmax forward:    y = exp(c (x - max x)) / sum exp(c (x - max x)), c the scale.
// Softmax backward:   dx = c y (dy - sum(dy y)).
//
// The ViT's rows are short (a token's 384 to 1280 channels, an attention row's up to 1024
// scores) and many, so each invocation walks its own row: no workgroup memory and no barrier,
// which software adapters (SwiftShader, llvmpipe) pay dearly for; an 8-wide workgroup tree
// reduction per row measured 5 to 15 times slower there.
//
// src/kernels/rows.rs writes the bindings, the helpers and the body of one variant.

{{bindings}}

const WG: u32 = 64u;

{{helpers}}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = gid.y * groups.x * WG + gid.x;
    if (row >= params.rows) {
        return;
    }
    let d = params.d;
    let base = row * d;
    {{body}}
}
