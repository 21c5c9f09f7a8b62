//! What a run's learned prompts look like: the tokens `P~` of one prompt set read back from the
//! device, with the correlation between tokens (`crate::stats::correlation`), for the page's
//! heatmaps and correlation maps and the command line's analysis.

use super::PromptSet;
use crate::model::ModelError;
use crate::model::checkpoint::HostTensor;
use crate::stats::correlation::row_correlation;

/// One prompt set's tokens and their correlation map, on the host.
#[derive(Clone, Debug)]
pub struct PromptPicture {
    /// m, the number of tokens.
    pub tokens: usize,
    /// D, the width of each token.
    pub width: usize,
    /// P~, row-major [m, D].
    pub values: Vec<f32>,
    /// The token-by-token correlation, row-major [m, m].
    pub correlation: Vec<f32>,
}

impl PromptPicture {
    /// Reads the tokens of `set` and computes their correlation on the set's device.
    pub async fn of(set: &PromptSet) -> Result<Self, ModelError> {
        let tokens = set.tokens();
        let [m, d] = tokens.dims();
        let correlation = HostTensor::read(row_correlation(tokens.clone())).await?;
        let values = HostTensor::read(tokens).await?;
        Ok(Self {
            tokens: m,
            width: d,
            values: values.data,
            correlation: correlation.data,
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::prompt::Factor;
    use crate::rng::Rng;
    use crate::stats::correlation::row_correlation_cpu;

    #[test]
    fn bilinear_tokens_and_their_correlation() {
        let (m, d, p) = (5, 12, 3);
        let mut rng = Rng::new(9);
        let a = rng.normal_vec(m * p, 1.0);
        let b = rng.normal_vec(d * p, 1.0);
        let device = Device::flex();
        let set = PromptSet {
            left: Factor::new("a", a.clone(), [m, p], true, &device),
            right: Some(Factor::new("b", b.clone(), [d, p], true, &device)),
        };
        let picture = pollster::block_on(PromptPicture::of(&set)).unwrap();
        assert_eq!((picture.tokens, picture.width), (m, d));
        // tokens = A B^T, by hand.
        for i in 0..m {
            for j in 0..d {
                let want: f32 = (0..p).map(|k| a[i * p + k] * b[j * p + k]).sum();
                let got = picture.values[i * d + j];
                assert!((got - want).abs() < 1e-5, "({i}, {j}): {got} vs {want}");
            }
        }
        let twin = row_correlation_cpu(&picture.values, m, d);
        for (got, want) in picture.correlation.iter().zip(&twin) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
        // Rank-3 tokens: five of them cannot all be uncorrelated.
        let off = crate::stats::correlation::mean_abs_off_diagonal(&twin, m).unwrap();
        assert!(off > 0.1, "mean |correlation| {off}");
    }
}
