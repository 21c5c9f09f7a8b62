//! The few special functions the fits need: ln Γ, and the moment ratios of the generalised
//! Gaussian family with their inverses.
//!
//! A generalised Gaussian with shape β and scale α has density
//! `β / (2 α Γ(1/β)) exp(-(|x - μ| / α)^β)`: β = 2 is a Gaussian, β = 1 a Laplace distribution,
//! β < 1 hyper-Laplacian. Its ratios `E|x - μ| / σ = Γ(2/β) / sqrt(Γ(1/β) Γ(3/β))` and kurtosis
//! `Γ(5/β) Γ(1/β) / Γ(3/β)^2` do not depend on α and are monotone in β, so β follows from either
//! by bisection.

/// Smallest and largest shape the inversions return (targets beyond them are clamped).
pub const BETA_RANGE: (f64, f64) = (0.05, 20.0);

/// ln Γ(x) for x > 0, to about 1e-12 absolute: the recurrence Γ(x) = Γ(x + 1) / x lifts x to at
/// least 10, where Stirling's series with four correction terms is that accurate.
pub fn ln_gamma(x: f64) -> f64 {
    debug_assert!(x > 0.0, "ln_gamma({x})");
    let mut x = x;
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)));
    shift + (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + series
}

/// `E|x - μ| / σ` of a generalised Gaussian with shape `beta` (increasing in beta).
pub fn gg_abs_ratio(beta: f64) -> f64 {
    (ln_gamma(2.0 / beta) - 0.5 * (ln_gamma(1.0 / beta) + ln_gamma(3.0 / beta))).exp()
}

/// Kurtosis (not excess) of a generalised Gaussian with shape `beta` (decreasing in beta).
pub fn gg_kurtosis(beta: f64) -> f64 {
    (ln_gamma(5.0 / beta) + ln_gamma(1.0 / beta) - 2.0 * ln_gamma(3.0 / beta)).exp()
}

/// The shape whose [`gg_abs_ratio`] is `ratio`, clamped to [`BETA_RANGE`]; NaN for a NaN ratio.
pub fn gg_beta_from_abs_ratio(ratio: f64) -> f64 {
    bisect(ratio, gg_abs_ratio, true)
}

/// The shape whose [`gg_kurtosis`] is `kurtosis`, clamped to [`BETA_RANGE`]; NaN for NaN.
pub fn gg_beta_from_kurtosis(kurtosis: f64) -> f64 {
    bisect(kurtosis, gg_kurtosis, false)
}

/// Solves `f(beta) = target` for a monotone `f` by bisection in ln beta.
fn bisect(target: f64, f: fn(f64) -> f64, increasing: bool) -> f64 {
    if target.is_nan() {
        return f64::NAN;
    }
    let (mut lo, mut hi) = (BETA_RANGE.0.ln(), BETA_RANGE.1.ln());
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if (f(mid.exp()) < target) == increasing {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (0.5 * (lo + hi)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_known_values() {
        // Γ(1) = Γ(2) = 1, Γ(1/2) = sqrt(π), Γ(5) = 24, Γ(0.1) = 9.513507698668732.
        assert!(ln_gamma(1.0).abs() < 1e-12);
        assert!(ln_gamma(2.0).abs() < 1e-12);
        assert!((ln_gamma(0.5) - 0.5 * std::f64::consts::PI.ln()).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.1) - 9.513507698668732f64.ln()).abs() < 1e-11);
        assert!((ln_gamma(100.0) - 359.1342053695754).abs() < 1e-9);
    }

    #[test]
    fn gaussian_and_laplace_have_their_textbook_ratios() {
        let sqrt_2_over_pi = (2.0 / std::f64::consts::PI).sqrt();
        assert!((gg_abs_ratio(2.0) - sqrt_2_over_pi).abs() < 1e-12);
        assert!((gg_abs_ratio(1.0) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((gg_kurtosis(2.0) - 3.0).abs() < 1e-10);
        assert!((gg_kurtosis(1.0) - 6.0).abs() < 1e-10);
    }

    #[test]
    fn the_inversions_recover_the_shape() {
        for beta in [0.3, 0.5, 1.0, 1.5, 2.0, 4.0] {
            assert!((gg_beta_from_abs_ratio(gg_abs_ratio(beta)) - beta).abs() < 1e-9);
            assert!((gg_beta_from_kurtosis(gg_kurtosis(beta)) - beta).abs() < 1e-9);
        }
        assert!((gg_beta_from_kurtosis(1e30) - BETA_RANGE.0).abs() < 1e-9);
        assert!(gg_beta_from_abs_ratio(f64::NAN).is_nan());
    }
}
