//! Benchmark arithmetic shared by the native `bpt-lab bench` and the page's benchmark mode
//! (`index.html?bench`): the summary of per-iteration times, and the page's settings, read from
//! its query string so a script can drive it.

/// Median, minimum and maximum of per-iteration times, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// None for an empty sample. The median of an even count is the mean of the middle two.
    pub fn of(times: &[f64]) -> Option<Self> {
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]),
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }
}

/// What the page's benchmark mode runs.
#[derive(Clone, Debug, PartialEq)]
pub struct PagePlan {
    /// Side of the square images in pixels (a multiple of the patch).
    pub size: usize,
    /// Forward-pass batch sizes.
    pub batches: Vec<usize>,
    /// Batch of the training step; 0 skips it.
    pub train_batch: usize,
    /// Untimed iterations per case (shader compilation, allocation).
    pub warmup: usize,
    /// Timed iterations per case.
    pub iters: usize,
    /// Time the forward pass's stages (`model::profile`) instead of whole passes.
    pub profile: bool,
    /// Run the model on burn's own ops rather than our kernels (`crate::kernels`), to compare.
    pub burn_ops: bool,
}

impl Default for PagePlan {
    fn default() -> Self {
        Self {
            size: 224,
            batches: vec![1, 8],
            train_batch: 8,
            warmup: 1,
            iters: 3,
            profile: false,
            burn_ops: false,
        }
    }
}

impl PagePlan {
    /// Reads `size`, `batches` (comma-separated; empty for none), `train` (the training batch),
    /// `warmup`, `iters`, `profile` (a flag) and `ops=burn` (burn's ops instead of our kernels)
    /// from a query string such as `?bench&size=112&batches=1,8&iters=2`; missing keys keep
    /// their defaults, malformed or zero values are errors that name the key.
    pub fn from_query(query: &str) -> Result<Self, String> {
        let mut plan = Self::default();
        let number = |key: &str, v: &str| -> Result<usize, String> {
            v.parse::<usize>()
                .map_err(|_| format!("{key}={v} is not a whole number"))
        };
        for pair in query.trim_start_matches('?').split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "size" => plan.size = number(key, value)?,
                "batches" => {
                    plan.batches = value
                        .split(',')
                        .filter(|v| !v.is_empty())
                        .map(|v| number(key, v))
                        .collect::<Result<_, _>>()?
                }
                "train" => plan.train_batch = number(key, value)?,
                "warmup" => plan.warmup = number(key, value)?,
                "iters" => plan.iters = number(key, value)?,
                "profile" => plan.profile = true,
                "ops" if value == "burn" => plan.burn_ops = true,
                "ops" => return Err(format!("ops={value}: only ops=burn is known")),
                _ => {}
            }
        }
        if plan.size == 0 || plan.iters == 0 || plan.batches.contains(&0) {
            return Err("size, iters and every batch must be at least 1".into());
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_takes_the_middle_value_or_the_mean_of_the_middle_two() {
        let odd = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        let even = Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn the_page_plan_reads_the_query_and_keeps_defaults_for_missing_keys() {
        let plan = PagePlan::from_query("?bench&size=112&batches=1,8&train=4&iters=2").unwrap();
        assert_eq!(
            plan,
            PagePlan {
                size: 112,
                batches: vec![1, 8],
                train_batch: 4,
                warmup: 1,
                iters: 2,
                profile: false,
                burn_ops: false,
            }
        );
        let plan = PagePlan::from_query("?bench&batches=&train=1&ops=burn").unwrap();
        assert!(plan.batches.is_empty() && plan.burn_ops);
        assert!(PagePlan::from_query("?bench&profile").unwrap().profile);
        assert_eq!(PagePlan::from_query("?bench").unwrap(), PagePlan::default());
        assert_eq!(PagePlan::from_query("").unwrap(), PagePlan::default());
    }

    #[test]
    fn the_page_plan_rejects_malformed_and_zero_values() {
        assert!(
            PagePlan::from_query("?size=abc")
                .unwrap_err()
                .contains("size=abc")
        );
        assert!(PagePlan::from_query("?batches=1,0").is_err());
        assert!(PagePlan::from_query("?iters=0").is_err());
        assert!(PagePlan::from_query("?train=0").is_ok());
        assert!(
            PagePlan::from_query("?ops=fast")
                .unwrap_err()
                .contains("ops=fast")
        );
    }
}
