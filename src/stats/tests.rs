//! The CPU summary on seeded synthetic samples: the fits must name the distribution that drew
//! them, and the figures must land near their known values.

use super::sample::samples;
use super::{Summary, SummaryOptions, summarize_cpu};
use crate::rng::Rng;

const N: usize = 100_000;

fn summary(values: &[f32]) -> Summary {
    summarize_cpu(values, &SummaryOptions::default()).unwrap()
}

#[test]
fn laplace_samples_fit_a_laplace_shape() {
    let s = summary(&samples(N, 1, |r| 1.5 + r.laplace(2.0)));
    let gg = s.fits.gen_gaussian.unwrap();
    assert!((gg.beta - 1.0).abs() < 0.1, "beta {}", gg.beta);
    assert!((gg.beta_from_kurtosis - 1.0).abs() < 0.2, "{gg:?}");
    let l = s.fits.laplace.unwrap();
    assert!(
        (l.median - 1.5).abs() < 0.05 && (l.b - 2.0).abs() < 0.05,
        "{l:?}"
    );
    assert!((s.moments.excess_kurtosis() - 3.0).abs() < 0.5);
    assert_eq!(s.fits.better_of_gaussian_and_laplace(), Some("laplace"));
    // Laplace tail beyond k std: exp(-k sqrt 2); 5.9% beyond 2 std.
    let beyond_2 = s.tails[1].fraction;
    assert!(
        (beyond_2 - (-2.0 * 2f64.sqrt()).exp()).abs() < 0.003,
        "{beyond_2}"
    );
}

#[test]
fn gaussian_samples_fit_a_gaussian_shape() {
    let s = summary(&samples(N, 2, |r| -3.0 + 0.5 * r.normal()));
    let gg = s.fits.gen_gaussian.unwrap();
    assert!((gg.beta - 2.0).abs() < 0.1, "beta {}", gg.beta);
    let g = s.fits.gaussian.unwrap();
    assert!(
        (g.mean + 3.0).abs() < 0.01 && (g.std - 0.5).abs() < 0.01,
        "{g:?}"
    );
    assert_eq!(s.fits.better_of_gaussian_and_laplace(), Some("gaussian"));
    assert!(s.moments.skewness().abs() < 0.05 && s.moments.excess_kurtosis().abs() < 0.1);
    // 4.55% of a Gaussian lies beyond 2 std, 0.27% beyond 3.
    assert!((s.tails[1].fraction - 0.0455).abs() < 0.003);
    assert!((s.tails[2].fraction - 0.0027).abs() < 0.001);
    // The generalised Gaussian nests both, so it fits at least about as well.
    assert!(gg.avg_log_likelihood > g.avg_log_likelihood - 1e-3);
}

#[test]
fn hyper_laplacian_samples_fit_a_shape_below_one() {
    // beta = 1/2: |x|^(1/2) is Gamma(2, 1).
    let s = summary(&samples(N, 3, |r| r.gen_gaussian_inverse_shape(1.0, 2)));
    let gg = s.fits.gen_gaussian.unwrap();
    assert!((gg.beta - 0.5).abs() < 0.1, "beta {}", gg.beta);
    assert!(gg.avg_log_likelihood > s.fits.laplace.unwrap().avg_log_likelihood);
}

#[test]
fn the_median_lies_within_one_fine_bin_of_the_sorted_one() {
    let mut rng = Rng::new(4);
    let values: Vec<f32> = (0..N + 1).map(|_| rng.laplace(1.0) as f32).collect();
    let s = summary(&values);
    let mut sorted = values.clone();
    sorted.sort_by(f32::total_cmp);
    let exact = sorted[N / 2] as f64;
    let fine_bin = (s.moments.max - s.moments.min) as f64 / 4096f64.powi(2);
    let err = (s.median.unwrap() - exact).abs();
    assert!(
        err <= fine_bin,
        "median {} vs {exact}: {err:e}",
        s.median.unwrap()
    );
}

#[test]
fn empty_and_constant_inputs_give_no_fits() {
    let empty = summary(&[]);
    assert_eq!((empty.len, empty.moments.count, empty.median), (0, 0, None));
    assert!(empty.fits.gaussian.is_none() && empty.fits.gen_gaussian.is_none());
    assert!(
        empty
            .tails
            .iter()
            .all(|t| t.count == 0 && t.fraction.is_nan())
    );

    let constant = summary(&[0.0; 1000]);
    assert_eq!(constant.median, Some(0.0));
    assert_eq!(constant.histogram.finite(), 1000);
    assert!(constant.fits.laplace.is_none() && constant.fits.gaussian.is_none());
}

#[test]
fn json_holds_every_figure_and_nulls_for_undefined_ones() {
    let mut values = samples(1000, 5, |r| r.laplace(1.0));
    values[3] = f32::NAN;
    let json = summary(&values).to_json();
    assert_eq!(json["len"], 1000);
    assert_eq!(json["nan"], 1);
    assert_eq!(json["histogram"]["counts"].as_array().unwrap().len(), 256);
    assert_eq!(json["histogram"]["edges"].as_array().unwrap().len(), 257);
    assert_eq!(json["tails"].as_array().unwrap().len(), 6);
    assert!(json["fits"]["generalized_gaussian"]["beta"].is_f64());
    let constant = summary(&[2.0; 4]).to_json();
    assert!(constant["skewness"].is_null() && constant["fits"]["gaussian"].is_null());
}

#[test]
fn bad_options_are_refused() {
    let too_many = SummaryOptions {
        ks: vec![1.0; 9],
        ..SummaryOptions::default()
    };
    assert!(summarize_cpu(&[1.0], &too_many).is_err());
    let no_bins = SummaryOptions {
        bins: 0,
        ..SummaryOptions::default()
    };
    assert!(summarize_cpu(&[1.0], &no_bins).is_err());
}
