//! The whitening's own diagnostics: Sigma's eigenvalue spectrum, and where a prompt's energy
//! lies in it.
//!
//! Why: whitening amplifies most the directions in which X~ hardly varies (Sigma's near-null
//! eigen-directions, about half of them on DINOv2-S), and a prompt along those directions moves
//! the attention logits least, since its logit against a token is `p . x~`. The block's norm1
//! then rescales the prompt before it meets W_q W_k^T, which the identity P~ X~ = P (W X~)
//! leaves out. So the figure that says whether a whitened prompt can act is the share of its
//! energy, after norm1, that lies where X~ varies: Sigma's top-k eigen-directions, k the fewest
//! that cover [`TRACE_SHARE`] of the trace. An isotropic prompt in d dimensions has about k / d
//! of its energy there.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::Spectrum;
use crate::model::Backbone;
use crate::model::checkpoint::HostTensor;

/// The share of Sigma's trace the top directions cover.
pub const TRACE_SHARE: f64 = 0.9;

/// The fewest top eigenvalues (of `values`, largest first) whose sum reaches `share` of their
/// total; negative eigenvalues (rounding) count as zero. 0 for an empty or all-zero spectrum.
pub fn k_covering(values: &[f64], share: f64) -> usize {
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
    if total <= 0.0 {
        return 0;
    }
    let mut sum = 0.0;
    for (i, v) in values.iter().enumerate() {
        sum += v.max(0.0);
        if sum >= share * total {
            return i + 1;
        }
    }
    values.len()
}

/// The share of the energy (sum of squares) of the rows of `tokens` ([m, d], row-major) that
/// lies in the span of the spectrum's top `k` eigenvectors; NaN for tokens with no energy.
pub fn energy_share(tokens: &[f32], spectrum: &Spectrum, k: usize) -> f64 {
    let d = spectrum.d;
    assert_eq!(tokens.len() % d.max(1), 0, "tokens of width {d}");
    let (mut inside, mut total) = (0.0, 0.0);
    for row in tokens.chunks(d) {
        total += row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
        for i in 0..k.min(d) {
            let proj: f64 = spectrum
                .vector(i)
                .iter()
                .zip(row)
                .map(|(u, &v)| u * v as f64)
                .sum();
            inside += proj * proj;
        }
    }
    if total > 0.0 {
        inside / total
    } else {
        f64::NAN
    }
}

/// Prompt tokens [m, d] as block `block`'s attention sees them: through its norm1.
pub async fn after_norm1(
    backbone: &Backbone,
    block: usize,
    tokens: Tensor<2>,
) -> Result<HostTensor, crate::model::ModelError> {
    let normed = backbone.vit.blocks[block].norm1.forward(tokens);
    HostTensor::read(normed).await
}

/// (direction, log10 eigenvalue) for a plot of `eigenvalues` (largest first), directions
/// numbered from 1; eigenvalues at or below zero (rounding) are drawn at 1e-12 of the largest.
pub fn log_spectrum(eigenvalues: &[f64]) -> Vec<(f64, f64)> {
    let floor = eigenvalues.first().map_or(1.0, |top| top.abs() * 1e-12);
    eigenvalues
        .iter()
        .enumerate()
        .map(|(i, &s)| ((i + 1) as f64, s.max(floor).max(f64::MIN_POSITIVE).log10()))
        .collect()
}

/// One whitened run's diagnostics (block 0's whitening, the first prompt set).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Sigma's eigenvalues, largest first (before the floor and epsilon).
    pub eigenvalues: Vec<f64>,
    /// The top eigen-directions that cover [`TRACE_SHARE`] of the trace.
    pub k: usize,
    /// The share of the prompt's energy after norm1 in those directions, at initialisation.
    pub share_init: f64,
    /// The same at the end of training (None until it has ended).
    pub share_end: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagonal(values: &[f64]) -> Spectrum {
        let d = values.len();
        let mut sigma = vec![0.0; d * d];
        for (i, v) in values.iter().enumerate() {
            sigma[i * d + i] = *v;
        }
        Spectrum::of(&sigma, d)
    }

    #[test]
    fn k_is_the_fewest_directions_that_cover_the_share_of_the_trace() {
        // Trace 111.1: 100 alone is 90.0%, so one direction covers 90%; 95% needs two.
        let values = [100.0, 10.0, 1.0, 0.1];
        assert_eq!(k_covering(&values, 0.9), 1);
        assert_eq!(k_covering(&values, 0.95), 2);
        assert_eq!(k_covering(&values, 1.0), 4);
        assert_eq!(k_covering(&[1.0, 1.0, 1.0, 1.0], 0.9), 4);
        assert_eq!(k_covering(&[0.0, -1e-12], 0.9), 0);
    }

    #[test]
    fn the_log_spectrum_floors_zero_and_negative_eigenvalues() {
        let p = log_spectrum(&[100.0, 1.0, 0.0, -1e-9]);
        assert_eq!(p[0], (1.0, 2.0));
        assert_eq!(p[1], (2.0, 0.0));
        assert!((p[2].1 + 10.0).abs() < 1e-12 && (p[3].1 + 10.0).abs() < 1e-12);
    }

    #[test]
    fn the_share_is_the_energy_in_the_top_directions() {
        // Sigma = diag(0.1, 100, 1, 10): its top direction is e2, its top two e2 and e4.
        let s = diagonal(&[0.1, 100.0, 1.0, 10.0]);
        // One token (3, 4, 0, 0): 16 of its 25 in e2.
        let token = [3.0, 4.0, 0.0, 0.0];
        assert!((energy_share(&token, &s, 1) - 16.0 / 25.0).abs() < 1e-12);
        // Two tokens: (0, 0, 1, 0) has nothing in e2 or e4, (0, 0, 0, 2) all of its 4 in e4.
        let tokens = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0];
        assert!(energy_share(&tokens, &s, 1).abs() < 1e-12);
        assert!((energy_share(&tokens, &s, 2) - 4.0 / 5.0).abs() < 1e-12);
        assert!((energy_share(&tokens, &s, 4) - 1.0).abs() < 1e-12);
        assert!(energy_share(&[0.0; 4], &s, 2).is_nan());
    }

    #[test]
    fn whitening_moves_an_isotropic_prompt_out_of_the_top_directions() {
        // The mechanism the diagnostic is for: P W with W = Sigma^(-1/2) puts the prompt's
        // energy where Sigma is small. Sigma = diag(100, 1e-4): W = diag(0.1, 100), so the
        // prompt (1, 1) becomes (0.1, 100), whose share in the top direction is 1e-2 / 1e4.
        let s = diagonal(&[100.0, 1e-4]);
        let w = s.inverse_sqrt(0.0, 0.0);
        let p = [1.0f32, 1.0];
        let pw: Vec<f32> = (0..2)
            .map(|j| (0..2).map(|i| p[i] as f64 * w[i * 2 + j]).sum::<f64>() as f32)
            .collect();
        assert!((energy_share(&p, &s, 1) - 0.5).abs() < 1e-12);
        let share = energy_share(&pw, &s, 1);
        assert!((share - 1e-2 / (1e-2 + 1e4)).abs() < 1e-9, "{share}");
        // Epsilon (absolute, on the eigenvalues) gives some of it back.
        let w_eps = s.inverse_sqrt(0.0, 1.0);
        let pw_eps: Vec<f32> = (0..2)
            .map(|j| (0..2).map(|i| p[i] as f64 * w_eps[i * 2 + j]).sum::<f64>() as f32)
            .collect();
        assert!(energy_share(&pw_eps, &s, 1) > 100.0 * share);
    }
}
