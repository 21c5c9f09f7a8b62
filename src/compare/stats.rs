//! Means with 95% confidence intervals over seeds, and paired differences.
//!
//! The interval is Student's t: mean +- t(0.975, n - 1) s / sqrt(n), with s the sample
//! standard deviation. With one seed there is no interval (`half_width` is None).

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
        let m = self.mean * scale;
        let mean = if signed {
            format!("{m:+.1}")
        } else {
            format!("{m:.1}")
        };
        match self.half_width {
            Some(h) => format!("{mean} ± {:.1}", h * scale),
            None => mean,
        }
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (df >= 1).
pub fn t975(df: usize) -> f64 {
    // Tabulated to three decimals for df 1..30 (any statistics table); the normal quantile
    // beyond, which is within 0.04 of the true value from df 31 on.
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => 1.960,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_of_three_values_uses_t_with_two_degrees_of_freedom() {
        let e = Estimate::of(&[0.5, 0.6, 0.7]).unwrap();
        assert!((e.mean - 0.6).abs() < 1e-12);
        // s = 0.1, so the half width is 4.303 * 0.1 / sqrt(3).
        assert!((e.half_width.unwrap() - 4.303 * 0.1 / 3f64.sqrt()).abs() < 1e-12);
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
}
