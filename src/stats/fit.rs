//! Maximum-likelihood fits of a Gaussian, a Laplace and a generalised Gaussian distribution,
//! from the sums the GPU passes produce, with the average log-likelihood per value of each so a
//! plot can say which describes the data better.
//!
//! - Gaussian: the MLE is the mean and the population standard deviation; the average
//!   log-likelihood is then `-ln(σ sqrt(2π)) - 1/2`.
//! - Laplace: the MLE of the location is the median, of the scale `b` the mean absolute deviation
//!   from the median; the average log-likelihood is `-ln(2b) - 1`.
//! - Generalised Gaussian (shape β, scale α, location μ = the mean): β by moment matching on
//!   `E|x - μ| / σ` (see [`super::special`]); the kurtosis would also do, but its sampling error
//!   grows with the 8th moment, which bursty data make huge, while this ratio needs only the 2nd.
//!   β from the kurtosis is reported beside it. Given β, the MLE of the scale is
//!   `α = (β/n Σ|x - μ|^β)^(1/β)`, and the average log-likelihood is
//!   `ln(β / (2 α Γ(1/β))) - 1/β`.
//!
//! All three are computed over the finite values; a fit is `None` when it is undefined (no
//! finite value, or a zero scale).

use super::special::{gg_beta_from_abs_ratio, gg_beta_from_kurtosis, ln_gamma};
use crate::gpu::moments::Moments;

/// Normal distribution N(mean, std²).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianFit {
    pub mean: f64,
    pub std: f64,
    pub avg_log_likelihood: f64,
}

impl GaussianFit {
    pub fn from_moments(m: &Moments) -> Option<Self> {
        let std = m.std();
        (m.count > 0 && std > 0.0).then(|| Self {
            mean: m.mean,
            std,
            avg_log_likelihood: -(std * std::f64::consts::TAU.sqrt()).ln() - 0.5,
        })
    }

    pub fn log_density(&self, x: f64) -> f64 {
        let z = (x - self.mean) / self.std;
        -(self.std * std::f64::consts::TAU.sqrt()).ln() - 0.5 * z * z
    }
}

/// Laplace distribution with location `median` and scale `b`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaplaceFit {
    pub median: f64,
    /// Mean absolute deviation from the median.
    pub b: f64,
    pub avg_log_likelihood: f64,
}

impl LaplaceFit {
    /// From the median and `Σ|x - median|` over `count` finite values.
    pub fn new(median: f64, abs_dev_sum: f64, count: u64) -> Option<Self> {
        let b = abs_dev_sum / count as f64;
        (count > 0 && b > 0.0 && b.is_finite()).then(|| Self {
            median,
            b,
            avg_log_likelihood: -(2.0 * b).ln() - 1.0,
        })
    }

    pub fn log_density(&self, x: f64) -> f64 {
        -(2.0 * self.b).ln() - (x - self.median).abs() / self.b
    }
}

/// Generalised Gaussian with location `mean`, scale `alpha` and shape `beta`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GenGaussianFit {
    pub mean: f64,
    pub alpha: f64,
    /// Shape from `E|x - mean| / std`: 2 Gaussian, 1 Laplace, below 1 hyper-Laplacian.
    pub beta: f64,
    /// Shape from the kurtosis, for comparison.
    pub beta_from_kurtosis: f64,
    pub avg_log_likelihood: f64,
}

impl GenGaussianFit {
    /// The shape to fit from the moments and `Σ|x - mean|` (NaN when undefined).
    pub fn shape(m: &Moments, abs_dev_mean_sum: f64) -> f64 {
        let std = m.std();
        if m.count == 0 || std <= 0.0 {
            return f64::NAN;
        }
        gg_beta_from_abs_ratio(abs_dev_mean_sum / m.count as f64 / std)
    }

    /// From the moments, the shape `beta` (see [`Self::shape`]) and `Σ|x - mean|^beta`.
    pub fn new(m: &Moments, beta: f64, power_sum: f64) -> Option<Self> {
        let n = m.count as f64;
        let alpha = (beta * power_sum / n).powf(1.0 / beta);
        (m.count > 0 && beta.is_finite() && alpha > 0.0 && alpha.is_finite()).then(|| Self {
            mean: m.mean,
            alpha,
            beta,
            beta_from_kurtosis: gg_beta_from_kurtosis(m.excess_kurtosis() + 3.0),
            avg_log_likelihood: (beta / (2.0 * alpha)).ln() - ln_gamma(1.0 / beta) - 1.0 / beta,
        })
    }

    pub fn log_density(&self, x: f64) -> f64 {
        (self.beta / (2.0 * self.alpha)).ln()
            - ln_gamma(1.0 / self.beta)
            - ((x - self.mean).abs() / self.alpha).powf(self.beta)
    }
}

/// The three fits of one set of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fits {
    pub gaussian: Option<GaussianFit>,
    pub laplace: Option<LaplaceFit>,
    pub gen_gaussian: Option<GenGaussianFit>,
}

impl Fits {
    /// "gaussian" or "laplace", whichever two-parameter fit has the higher average
    /// log-likelihood; `None` when either is missing.
    pub fn better_of_gaussian_and_laplace(&self) -> Option<&'static str> {
        let (g, l) = (self.gaussian?, self.laplace?);
        Some(if l.avg_log_likelihood > g.avg_log_likelihood {
            "laplace"
        } else {
            "gaussian"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Average of a log-density over values, to check the closed forms against.
    fn average(values: &[f64], log_density: impl Fn(f64) -> f64) -> f64 {
        values.iter().map(|&x| log_density(x)).sum::<f64>() / values.len() as f64
    }

    fn moments_of(values: &[f64]) -> Moments {
        let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
        crate::gpu::moments::moments_cpu(&v)
    }

    // Values exact in f32, so the f32 moments and the f64 sums below agree.
    const VALUES: [f64; 7] = [-2.0, -0.5, 0.0, 0.25, 1.0, 1.5, 4.0];

    #[test]
    fn closed_form_log_likelihoods_equal_the_averaged_densities() {
        let m = moments_of(&VALUES);
        let g = GaussianFit::from_moments(&m).unwrap();
        assert!((g.avg_log_likelihood - average(&VALUES, |x| g.log_density(x))).abs() < 1e-12);

        let median = 0.25;
        let abs_dev: f64 = VALUES.iter().map(|x| (x - median).abs()).sum();
        let l = LaplaceFit::new(median, abs_dev, 7).unwrap();
        assert!((l.avg_log_likelihood - average(&VALUES, |x| l.log_density(x))).abs() < 1e-12);

        let beta = 1.3;
        let power_sum: f64 = VALUES.iter().map(|x| (x - m.mean).abs().powf(beta)).sum();
        let gg = GenGaussianFit::new(&m, beta, power_sum).unwrap();
        let avg = average(&VALUES, |x| gg.log_density(x));
        assert!((gg.avg_log_likelihood - avg).abs() < 1e-12);
    }

    #[test]
    fn the_scale_mle_of_the_generalised_gaussian_beats_nearby_scales() {
        let m = moments_of(&VALUES);
        let beta = 1.3;
        let power_sum: f64 = VALUES.iter().map(|x| (x - m.mean).abs().powf(beta)).sum();
        let best = GenGaussianFit::new(&m, beta, power_sum).unwrap();
        for factor in [0.9, 1.1] {
            let other = GenGaussianFit {
                alpha: best.alpha * factor,
                ..best
            };
            assert!(average(&VALUES, |x| other.log_density(x)) < best.avg_log_likelihood);
        }
    }

    #[test]
    fn undefined_fits_are_none() {
        let constant = moments_of(&[1.0, 1.0]);
        assert!(GaussianFit::from_moments(&constant).is_none());
        assert!(LaplaceFit::new(1.0, 0.0, 2).is_none());
        assert!(GenGaussianFit::new(&Moments::EMPTY, 1.0, 0.0).is_none());
        assert!(GenGaussianFit::shape(&constant, 0.0).is_nan());
    }
}
