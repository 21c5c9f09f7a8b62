//! Means with 95% confidence intervals over repeated runs (a comparison's draws x seeds), and
//! paired differences.
//!
//! The interval is Student's t: mean +- t(0.975, n - 1) s / sqrt(n), with s the sample
//! standard deviation. With one run there is no interval (`half_width` is None).

/// A mean over seeds with its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub mean: f64,
    /// Half the width of the 95% interval; None for a single value.
    pub half_width: Option<f64>,
    pub n: usize,
}

impl Estimate {
    /// Mean and interval of `values` (at least one).
    pub fn of(values: &[f64]) -> Option<Self> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let half_width = (n > 1).then(|| {
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            t975(n - 1) * (var / n as f64).sqrt()
        });
        Some(Self {
            mean,
            half_width,
            n,
        })
    }

    /// The estimate of the paired differences `a[i] - b[i]` (seed by seed).
    pub fn paired(a: &[f64], b: &[f64]) -> Option<Self> {
        if a.len() != b.len() {
            return None;
        }
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        Self::of(&d)
    }

    pub fn low(&self) -> f64 {
        self.mean - self.half_width.unwrap_or(0.0)
    }

    pub fn high(&self) -> f64 {
        self.mean + self.half_width.unwrap_or(0.0)
    }

    /// "62.4 ± 3.1" with values scaled by `scale` (100 for percentages).
    pub fn show(&self, scale: f64, signed: bool) -> String {
        self.show_with(scale, signed, 1)
    }

    /// [`Estimate::show`] with `decimals` digits after the point ("0.693 ± 0.012" for a loss).
    pub fn show_with(&self, scale: f64, signed: bool, decimals: usize) -> String {
        let m = self.mean * scale;
        let mean = if signed {
            format!("{m:+.decimals$}")
        } else {
            format!("{m:.decimals$}")
        };
        match self.half_width {
            Some(h) => format!("{mean} ± {:.decimals$}", h * scale),
            None => mean,
        }
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (df >= 1; NaN for 0): statrs
/// inverts the regularised incomplete beta function, within 1e-6 of R's `qt` up to 10,000
/// degrees of freedom (the test checks tables from 1 to 10,000).
pub fn t975(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    if df == 0 {
        return f64::NAN;
    }
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_of_three_values_uses_t_with_two_degrees_of_freedom() {
        let e = Estimate::of(&[0.5, 0.6, 0.7]).unwrap();
        assert!((e.mean - 0.6).abs() < 1e-12);
        // s = 0.1, so the half width is t(0.975, 2) * 0.1 / sqrt(3), t(0.975, 2) = 4.3026527.
        assert!((e.half_width.unwrap() - 4.302_652_7 * 0.1 / 3f64.sqrt()).abs() < 1e-8);
        assert_eq!(e.show(100.0, false), "60.0 ± 24.8");
    }

    #[test]
    fn one_value_has_no_interval_and_none_has_no_estimate() {
        let e = Estimate::of(&[0.25]).unwrap();
        assert_eq!((e.mean, e.half_width, e.n), (0.25, None, 1));
        assert_eq!(e.show(100.0, true), "+25.0");
        assert!(Estimate::of(&[]).is_none());
    }

    #[test]
    fn paired_differences_remove_what_the_seeds_share() {
        // Seeds move both methods together; the paired difference is exactly 0.1.
        let a = [0.3, 0.6, 0.9];
        let b = [0.2, 0.5, 0.8];
        let d = Estimate::paired(&a, &b).unwrap();
        assert!((d.mean - 0.1).abs() < 1e-12);
        assert!(d.half_width.unwrap() < 1e-12);
        // Unpaired, the seeds' spread would swamp it.
        assert!(Estimate::of(&a).unwrap().half_width.unwrap() > 0.5);
        assert!(Estimate::paired(&a, &b[..2]).is_none());
    }

    #[test]
    fn t_quantiles_match_published_tables_for_every_df() {
        // Tables to three decimals (df 1-30 in any statistics text; 31, 40, 60, 120 from R's
        // qt(0.975, df)), and the normal quantile in the limit.
        for (df, want) in [
            (1, 12.706),
            (2, 4.303),
            (9, 2.262),
            (30, 2.042),
            (31, 2.040),
            (40, 2.021),
            (60, 2.000),
            (120, 1.980),
        ] {
            assert!((t975(df) - want).abs() < 5e-4, "df {df}: {}", t975(df));
        }
        // R's qt(0.975, 1000) and qt(0.975, 10000), to 1e-6; at a million degrees of freedom
        // statrs' inversion is 1.2e-4 below the normal quantile, far past any grid's size.
        assert!((t975(1000) - 1.962_339).abs() < 1e-6, "{}", t975(1000));
        assert!((t975(10_000) - 1.960_201).abs() < 1e-6, "{}", t975(10_000));
        assert!(
            (t975(1_000_000) - 1.959_964).abs() < 5e-4,
            "{}",
            t975(1_000_000)
        );
        assert!(t975(0).is_nan());
        // Decreasing in df, as a quantile of a distribution that narrows towards the normal.
        assert!((1..200).all(|d| t975(d) > t975(d + 1)));
    }
}
