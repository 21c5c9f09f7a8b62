//! The eigendecomposition of a covariance (nalgebra's `SymmetricEigen`, in f64) and its inverse
//! square root: the whitening matrix, and the spectrum the whitening's diagnostics read.

use nalgebra::{DMatrix, SymmetricEigen};

/// The eigenvalues of a symmetric d x d matrix, largest first, with their unit eigenvectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrum {
    pub d: usize,
    /// Eigenvalues in decreasing order.
    pub values: Vec<f64>,
    /// Row i (of d) is the eigenvector of `values[i]`: [d, d] row-major.
    pub vectors: Vec<f64>,
}

impl Spectrum {
    /// The spectrum of the symmetric d x d matrix `sigma` (row-major).
    pub fn of(sigma: &[f64], d: usize) -> Self {
        assert_eq!(sigma.len(), d * d, "the spectrum of a non-square matrix");
        let m = DMatrix::from_row_slice(d, d, sigma);
        // Symmetrise: accumulated sums of outer products differ from their transpose by rounding.
        let m = (&m + m.transpose()) * 0.5;
        let eig = SymmetricEigen::new(m);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let values = order.iter().map(|&k| eig.eigenvalues[k]).collect();
        let vectors = order
            .iter()
            .flat_map(|&k| {
                eig.eigenvectors
                    .column(k)
                    .iter()
                    .copied()
                    .collect::<Vec<_>>()
            })
            .collect();
        Self { d, values, vectors }
    }

    /// Eigenvector `i` (of the i-th largest eigenvalue).
    pub fn vector(&self, i: usize) -> &[f64] {
        &self.vectors[i * self.d..(i + 1) * self.d]
    }

    /// Mean eigenvalue (the trace over d).
    pub fn mean(&self) -> f64 {
        self.values.iter().sum::<f64>() / self.d.max(1) as f64
    }

    /// W = U diag(1 / sqrt(max(s, floor) + eps)) U^T, row-major.
    ///
    /// `floor = floor_rel * max(s)` guards eigenvalues that are zero up to rounding; `eps`
    /// (absolute) is the regulariser of the standard estimator.
    pub fn inverse_sqrt(&self, floor_rel: f64, eps: f64) -> Vec<f64> {
        let d = self.d;
        let floor = floor_rel * self.values.iter().copied().fold(0.0, f64::max);
        let scale: Vec<f64> = self
            .values
            .iter()
            .map(|&s| 1.0 / (s.max(floor) + eps).sqrt())
            .collect();
        let mut w = vec![0.0; d * d];
        for i in 0..d {
            for j in i..d {
                let v: f64 = (0..d)
                    .map(|k| self.vectors[k * d + i] * scale[k] * self.vectors[k * d + j])
                    .sum();
                w[i * d + j] = v;
                w[j * d + i] = v;
            }
        }
        w
    }
}

/// W of the symmetric d x d matrix `sigma` (see [`Spectrum::inverse_sqrt`]) and its eigenvalues
/// in decreasing order.
pub fn inverse_sqrt(sigma: &[f64], d: usize, floor_rel: f64, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let spectrum = Spectrum::of(sigma, d);
    (spectrum.inverse_sqrt(floor_rel, eps), spectrum.values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
        let mut out = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                out[i * d + j] = (0..d).map(|k| a[i * d + k] * b[k * d + j]).sum();
            }
        }
        out
    }

    #[test]
    fn w_sigma_w_is_the_identity_for_a_well_conditioned_sigma() {
        // sigma = M M^T + I for a fixed M: symmetric positive definite.
        let d = 5;
        let m: Vec<f64> = (0..d * d)
            .map(|k| ((k * 7 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let mut sigma = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                sigma[i * d + j] = (0..d).map(|k| m[i * d + k] * m[j * d + k]).sum::<f64>()
                    + if i == j { 1.0 } else { 0.0 };
            }
        }
        let (w, s) = inverse_sqrt(&sigma, d, 0.0, 0.0);
        let wsw = matmul(&matmul(&w, &sigma, d), &w, d);
        for i in 0..d {
            for j in 0..d {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (wsw[i * d + j] - want).abs() < 1e-9,
                    "W S W [{i},{j}] = {}",
                    wsw[i * d + j]
                );
            }
        }
        assert!(s.windows(2).all(|p| p[0] >= p[1]));
        assert!(s[d - 1] >= 1.0 - 1e-9);
    }

    #[test]
    fn the_floor_keeps_a_singular_sigma_finite() {
        // Rank one: [[1, 1], [1, 1]] has eigenvalues 2 and 0.
        let (w, s) = inverse_sqrt(&[1.0, 1.0, 1.0, 1.0], 2, 5e-7, 0.0);
        assert!(w.iter().all(|v| v.is_finite()));
        assert!((s[0] - 2.0).abs() < 1e-12 && s[1].abs() < 1e-12);
        // W = u1 u1^T / sqrt(2) + 1000 u2 u2^T with u2 = (1, -1) / sqrt(2): the null direction
        // is scaled by 1 / sqrt(5e-7 * 2) = 1000, so W[0][0] - W[0][1] = 1000.
        let null = w[0] - w[1];
        assert!((null - 1000.0).abs() < 1e-6, "{null}");
    }

    #[test]
    fn eigenvectors_come_sorted_with_their_eigenvalues() {
        // diag(1, 9, 4): the largest eigenvalue's vector is e2, then e3, then e1.
        let sigma = [1.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 4.0];
        let s = Spectrum::of(&sigma, 3);
        assert_eq!(s.values, [9.0, 4.0, 1.0]);
        for (i, axis) in [1, 2, 0].into_iter().enumerate() {
            assert!(
                (s.vector(i)[axis].abs() - 1.0).abs() < 1e-12,
                "{:?}",
                s.vector(i)
            );
        }
        assert!((s.mean() - 14.0 / 3.0).abs() < 1e-12);
    }
}
