//! The plain-Rust twin of the linear kernels: the same functions as [`super::VitOps`] and
//! [`super::VitKernels`], in f64 loops over row-major slices, with libm's erf (the kernel uses
//! a 1.5e-7 approximation). x is [m, k], w [k, n] (burn's `Linear` layout), b and gamma [n].

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
