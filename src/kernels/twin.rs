//! The plain-Rust twin of our kernels: the same functions as [`super::VitOps`] and
//! [`super::VitKernels`], in f64 loops over row-major slices, with libm's erf (the kernel uses
//! a 1.5e-7 approximation). For the linear layers x is [m, k], w [k, n] (burn's `Linear`
//! layout), b and gamma [n]; for LayerNorm x is rows of gamma's length.

pub use super::attention::Heads;

/// One layer's shapes and parameters.
#[derive(Clone, Copy)]
pub struct Layer<'a> {
    pub w: &'a [f32],
    pub b: &'a [f32],
    pub k: usize,
    pub n: usize,
}

fn phi(z: f64) -> f64 {
    0.5 * (1.0 + libm::erf(z * std::f64::consts::FRAC_1_SQRT_2))
}

/// The exact GELU.
pub fn gelu(z: f64) -> f64 {
    z * phi(z)
}

/// d GELU / dz = Φ(z) + z φ(z).
pub fn gelu_grad(z: f64) -> f64 {
    phi(z) + z * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// x W + b in f64, [m, n].
fn affine(x: &[f32], l: Layer) -> Vec<f64> {
    let m = x.len() / l.k;
    let mut out = vec![0.0f64; m * l.n];
    for r in 0..m {
        for j in 0..l.n {
            let mut s = f64::from(l.b[j]);
            for i in 0..l.k {
                s += f64::from(x[r * l.k + i]) * f64::from(l.w[i * l.n + j]);
            }
            out[r * l.n + j] = s;
        }
    }
    out
}

fn to_f32(v: impl IntoIterator<Item = f64>) -> Vec<f32> {
    v.into_iter().map(|v| v as f32).collect()
}

pub fn linear(x: &[f32], l: Layer) -> Vec<f32> {
    to_f32(affine(x, l))
}

pub fn linear_gelu(x: &[f32], l: Layer) -> Vec<f32> {
    to_f32(affine(x, l).into_iter().map(gelu))
}

pub fn linear_residual(x: &[f32], l: Layer, gamma: &[f32], res: &[f32]) -> Vec<f32> {
    let z = affine(x, l);
    to_f32(
        z.iter()
            .enumerate()
            .map(|(i, &z)| f64::from(res[i]) + f64::from(gamma[i % l.n]) * z),
    )
}

/// g W^T with g = dy transformed per element by `pre(index, value)`: [m, k].
fn input_grad_with(dy: &[f32], l: Layer, pre: impl Fn(usize, f64) -> f64) -> Vec<f32> {
    let m = dy.len() / l.n;
    let mut out = vec![0.0f32; m * l.k];
    for r in 0..m {
        for i in 0..l.k {
            let mut s = 0.0f64;
            for j in 0..l.n {
                let e = r * l.n + j;
                s += pre(e, f64::from(dy[e])) * f64::from(l.w[i * l.n + j]);
            }
            out[r * l.k + i] = s as f32;
        }
    }
    out
}

/// dY W^T.
pub fn input_grad(dy: &[f32], l: Layer) -> Vec<f32> {
    input_grad_with(dy, l, |_, g| g)
}

/// (dY ⊙ gelu'(z)) W^T, z = x W + b.
pub fn gelu_input_grad(dy: &[f32], z: &[f32], l: Layer) -> Vec<f32> {
    input_grad_with(dy, l, |e, g| g * gelu_grad(f64::from(z[e])))
}

/// (dY ⊙ gamma) W^T.
pub fn scaled_input_grad(dy: &[f32], gamma: &[f32], l: Layer) -> Vec<f32> {
    input_grad_with(dy, l, |e, g| g * f64::from(gamma[e % l.n]))
}

/// Each row's mean and 1 / sqrt(biased variance + eps), in f64.
fn row_stats(row: &[f32], eps: f64) -> (f64, f64) {
    let d = row.len() as f64;
    let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d;
    let var = row
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / d;
    (mean, 1.0 / (var + eps).sqrt())
}

/// LayerNorm of each row of x (row length = gamma's), then gamma and beta.
pub fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f64) -> Vec<f32> {
    let d = gamma.len();
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(d) {
        let (mean, rstd) = row_stats(row, eps);
        out.extend(row.iter().enumerate().map(|(i, &v)| {
            ((f64::from(v) - mean) * rstd * f64::from(gamma[i]) + f64::from(beta[i])) as f32
        }));
    }
    out
}

/// The gradient of LayerNorm's input: rstd (g - mean(g) - xhat mean(g xhat)), g = dy gamma.
pub fn layer_norm_input_grad(x: &[f32], gamma: &[f32], dy: &[f32], eps: f64) -> Vec<f32> {
    let d = gamma.len();
    let mut out = Vec::with_capacity(x.len());
    for (row, dy) in x.chunks(d).zip(dy.chunks(d)) {
        let (mean, rstd) = row_stats(row, eps);
        let g: Vec<f64> = (0..d)
            .map(|i| f64::from(dy[i]) * f64::from(gamma[i]))
            .collect();
        let xhat: Vec<f64> = row.iter().map(|&v| (f64::from(v) - mean) * rstd).collect();
        let mg = g.iter().sum::<f64>() / d as f64;
        let mgx = g.iter().zip(&xhat).map(|(g, x)| g * x).sum::<f64>() / d as f64;
        out.extend((0..d).map(|i| (rstd * (g[i] - mg - xhat[i] * mgx)) as f32));
    }
    out
}

/// softmax(scale x) over each row of length `t`.
pub fn softmax(x: &[f32], t: usize, scale: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(t) {
        let top = row
            .iter()
            .map(|&v| f64::from(v))
            .fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = row
            .iter()
            .map(|&v| (scale * (f64::from(v) - top)).exp())
            .collect();
        let total: f64 = e.iter().sum();
        out.extend(e.iter().map(|v| (v / total) as f32));
    }
    out
}

/// The input gradient of softmax(scale x): scale y (dy - sum(dy y)), per row of length `t`.
pub fn softmax_input_grad(y: &[f32], dy: &[f32], t: usize, scale: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(y.len());
    for (y, dy) in y.chunks(t).zip(dy.chunks(t)) {
        let dot: f64 = y
            .iter()
            .zip(dy)
            .map(|(&y, &g)| f64::from(y) * f64::from(g))
            .sum();
        out.extend(
            y.iter()
                .zip(dy)
                .map(|(&y, &g)| (scale * f64::from(y) * (f64::from(g) - dot)) as f32),
        );
    }
    out
}

/// Multi-head attention on qkv [B, T, 3D] (q, k, v side by side, heads contiguous in each):
/// every head's softmax(q k^T / sqrt(hd)) v into [B, T, D], and d qkv for the upstream
/// gradient `dout` [B, T, D] when one is given.
pub fn attention(qkv: &[f32], s: Heads, dout: Option<&[f32]>) -> (Vec<f32>, Option<Vec<f32>>) {
    let (t, hd, h) = (s.tokens, s.head_dim, s.heads);
    let d = h * hd;
    let scale = (hd as f64).powf(-0.5);
    let mut out = vec![0.0f32; s.batch * t * d];
    let mut dqkv = dout.map(|_| vec![0.0f32; qkv.len()]);
    let at = |b: usize, i: usize, part: usize, head: usize, c: usize| {
        (b * t + i) * 3 * d + part * d + head * hd + c
    };
    for b in 0..s.batch {
        for head in 0..h {
            let get = |part, i, c| f64::from(qkv[at(b, i, part, head, c)]);
            let dot =
                |i: usize, j: usize| (0..hd).map(|c| get(0, i, c) * get(1, j, c)).sum::<f64>();
            let p: Vec<Vec<f64>> = (0..t)
                .map(|i| {
                    let logits: Vec<f64> = (0..t).map(|j| scale * dot(i, j)).collect();
                    let top = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = logits.iter().map(|l| (l - top).exp()).collect();
                    let total: f64 = e.iter().sum();
                    e.iter().map(|v| v / total).collect()
                })
                .collect();
            let o_at = |i: usize, c: usize| (b * t + i) * d + head * hd + c;
            for i in 0..t {
                for c in 0..hd {
                    out[o_at(i, c)] = (0..t).map(|j| p[i][j] * get(2, j, c)).sum::<f64>() as f32;
                }
            }
            let (Some(dout), Some(dqkv)) = (dout, dqkv.as_mut()) else {
                continue;
            };
            let g = |i: usize, c: usize| f64::from(dout[o_at(i, c)]);
            // dS = scale P (dP - rowsum(dP P)), dP = dO V^T.
            let ds: Vec<Vec<f64>> = (0..t)
                .map(|i| {
                    let dp: Vec<f64> = (0..t)
                        .map(|j| (0..hd).map(|c| g(i, c) * get(2, j, c)).sum())
                        .collect();
                    let rowsum: f64 = (0..t).map(|j| dp[j] * p[i][j]).sum();
                    (0..t).map(|j| scale * p[i][j] * (dp[j] - rowsum)).collect()
                })
                .collect();
            for i in 0..t {
                for c in 0..hd {
                    let dq: f64 = (0..t).map(|j| ds[i][j] * get(1, j, c)).sum();
                    let dk: f64 = (0..t).map(|j| ds[j][i] * get(0, j, c)).sum();
                    let dv: f64 = (0..t).map(|j| p[j][i] * g(j, c)).sum();
                    dqkv[at(b, i, 0, head, c)] = dq as f32;
                    dqkv[at(b, i, 1, head, c)] = dk as f32;
                    dqkv[at(b, i, 2, head, c)] = dv as f32;
                }
            }
        }
    }
    (out, dqkv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_grad_is_the_derivative_of_gelu() {
        for z in [-6.0, -2.5, -1.0, -0.1, 0.0, 0.3, 1.0, 2.0, 7.0] {
            let h = 1e-5;
            let numeric = (gelu(z + h) - gelu(z - h)) / (2.0 * h);
            assert!((numeric - gelu_grad(z)).abs() < 1e-8, "z = {z}");
        }
    }

    #[test]
    fn layer_norm_gradient_is_the_derivative() {
        // d/dx_j of sum_i r_i LN(x)_i, by central differences in f64 through the f32 twin.
        let (x, gamma, r) = (
            [0.3f32, -1.2, 2.0, 0.7],
            [1.5f32, 0.5, -1.0, 2.0],
            [1.0f32, -2.0, 0.5, 3.0],
        );
        let beta = [0.0f32; 4];
        let grad = layer_norm_input_grad(&x, &gamma, &r, 1e-6);
        let loss = |x: &[f32]| -> f64 {
            layer_norm(x, &gamma, &beta, 1e-6)
                .iter()
                .zip(&r)
                .map(|(y, r)| f64::from(y * r))
                .sum()
        };
        for j in 0..4 {
            let h = 1e-3f32;
            let (mut up, mut down) = (x, x);
            up[j] += h;
            down[j] -= h;
            let numeric = (loss(&up) - loss(&down)) / (2.0 * f64::from(h));
            assert!(
                (numeric - f64::from(grad[j])).abs() < 2e-3,
                "x_{j}: {numeric} vs {}",
                grad[j]
            );
        }
    }

    #[test]
    fn a_small_layer_by_hand() {
        // x = [1, 2], W = [[1, 0, 2], [0, 1, -1]], b = [0.5, 0, 0]: x W + b = [1.5, 2, 0].
        let l = Layer {
            w: &[1.0, 0.0, 2.0, 0.0, 1.0, -1.0],
            b: &[0.5, 0.0, 0.0],
            k: 2,
            n: 3,
        };
        assert_eq!(linear(&[1.0, 2.0], l), vec![1.5, 2.0, 0.0]);
        let y = linear_residual(&[1.0, 2.0], l, &[2.0, 1.0, 1.0], &[1.0, 1.0, 1.0]);
        assert_eq!(y, vec![4.0, 3.0, 1.0]);
        // dY W^T with dY = [1, 1, 1]: row sums of W.
        assert_eq!(input_grad(&[1.0, 1.0, 1.0], l), vec![3.0, 0.0]);
    }
}
