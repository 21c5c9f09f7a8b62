//! The statistics kernels (moments up to the fourth, histogram, tail) on a real wgpu device
//! (lavapipe in CI) against their plain-Rust twins, and the GPU summary against the CPU one.
//!
//! Tolerances: histogram and tail counts must match exactly (both sides apply the same f32
//! rules); means and variances as in `gpu_moments.rs` (1e-5 of the std, 1e-4 relative);
//! skewness within `SKEWNESS_TOL` absolute and kurtosis within `KURTOSIS_TOL` relative to the
//! kurtosis; power sums within `POWER_SUM_TOL` relative.

use std::sync::OnceLock;

use bpt_lab::gpu::histogram::{Histogram, HistogramKernel, HistogramSpec, histogram_cpu};
use bpt_lab::gpu::moments::{KURTOSIS_TOL, Moments, MomentsKernel, SKEWNESS_TOL, moments_cpu};
use bpt_lab::gpu::selfcheck::{moments_agree, selfcheck_values};
use bpt_lab::gpu::tail::{POWER_SUM_TOL, Tail, TailKernel, TailSpec, tail_cpu};
use bpt_lab::gpu::{GpuContext, GpuValues};
use bpt_lab::stats::sample::samples;
use bpt_lab::stats::{StatsKernels, Summary, SummaryOptions, summarize_cpu};

struct Kernels {
    ctx: GpuContext,
    moments: MomentsKernel,
    histogram: HistogramKernel,
    tail: TailKernel,
    stats: StatsKernels,
}

fn gpu() -> &'static Kernels {
    static KERNELS: OnceLock<Kernels> = OnceLock::new();
    KERNELS.get_or_init(|| {
        let ctx = pollster::block_on(GpuContext::new()).unwrap_or_else(|e| {
            panic!(
                "these tests need a wgpu adapter (CI uses lavapipe from mesa-vulkan-drivers): {e}"
            )
        });
        Kernels {
            moments: MomentsKernel::new(&ctx),
            histogram: HistogramKernel::new(&ctx),
            tail: TailKernel::new(&ctx),
            stats: StatsKernels::new(&ctx),
            ctx,
        }
    })
}

fn gpu_moments(values: &[f32]) -> Moments {
    let g = gpu();
    pollster::block_on(g.moments.run(&g.ctx, values)).unwrap()
}

fn gpu_histogram(values: &[f32], spec: HistogramSpec) -> Histogram {
    let g = gpu();
    pollster::block_on(g.histogram.run(&g.ctx, values, spec)).unwrap()
}

fn gpu_tail(values: &[f32], spec: &TailSpec) -> Tail {
    let g = gpu();
    pollster::block_on(g.tail.run(&g.ctx, values, spec)).unwrap()
}

fn assert_shape_agrees(values: &[f32]) {
    let (gpu, cpu) = (gpu_moments(values), moments_cpu(values));
    assert!(moments_agree(&gpu, &cpu), "gpu {gpu:?}\ncpu {cpu:?}");
    let skew_err = (gpu.skewness() - cpu.skewness()).abs();
    let kurt_err = (gpu.excess_kurtosis() - cpu.excess_kurtosis()).abs();
    let kurt_scale = cpu.excess_kurtosis() + 3.0;
    assert!(
        skew_err <= SKEWNESS_TOL && kurt_err <= KURTOSIS_TOL * kurt_scale,
        "skewness {} vs {} ({skew_err:.2e}), excess kurtosis {} vs {} ({kurt_err:.2e}), n {}",
        gpu.skewness(),
        cpu.skewness(),
        gpu.excess_kurtosis(),
        cpu.excess_kurtosis(),
        values.len()
    );
}

fn assert_histogram_agrees(values: &[f32], spec: HistogramSpec) {
    let (gpu, cpu) = (gpu_histogram(values, spec), histogram_cpu(values, spec));
    assert_eq!(gpu, cpu);
    assert_eq!(gpu.total(), values.len() as u64);
}

fn assert_tail_agrees(values: &[f32], spec: &TailSpec) {
    let (gpu, cpu) = (gpu_tail(values, spec), tail_cpu(values, spec).unwrap());
    assert_eq!((gpu.finite, &gpu.beyond), (cpu.finite, &cpu.beyond));
    let scale = cpu.power_sum.abs().max(f64::MIN_POSITIVE);
    assert!(
        (gpu.power_sum - cpu.power_sum).abs() <= POWER_SUM_TOL * scale,
        "power sum {} vs {}",
        gpu.power_sum,
        cpu.power_sum
    );
}

/// Standard deviations for the tail tests.
const KS: [f32; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];

fn tail_spec_of(values: &[f32], power: f32) -> TailSpec {
    let m = moments_cpu(values);
    TailSpec::beyond_k(m.mean as f32, m.std() as f32, &KS, power).unwrap()
}

/// Heavy-tailed values with a skew: cubes of the self-check numbers, shifted.
fn skewed(len: usize, seed: u32) -> Vec<f32> {
    selfcheck_values(len, seed)
        .iter()
        .map(|x| x * x * x + 0.5 * x.max(0.0) - 0.25)
        .collect()
}

fn spec(lo: f32, hi: f32, bins: u32) -> HistogramSpec {
    HistogramSpec::new(lo, hi, bins).unwrap()
}

#[test]
fn empty_input_gives_empty_results() {
    assert_eq!(gpu_moments(&[]), Moments::EMPTY);
    let h = gpu_histogram(&[], spec(-1.0, 1.0, 16));
    assert_eq!(h, Histogram::empty(spec(-1.0, 1.0, 16)));
    let t = gpu_tail(&[], &TailSpec::beyond_k(0.0, 1.0, &KS, 1.0).unwrap());
    assert_eq!((t.finite, t.beyond, t.power_sum), (0, vec![0; 6], 0.0));
}

#[test]
fn all_equal_values_have_zero_central_moments_and_fill_one_bin() {
    let values = vec![0.75f32; 100_003];
    let m = gpu_moments(&values);
    assert_eq!((m.m2, m.m3, m.m4), (0.0, 0.0, 0.0));
    assert!(m.skewness().is_nan() && m.excess_kurtosis().is_nan());
    let h = gpu_histogram(&values, spec(0.0, 1.0, 8));
    assert_eq!(h.counts[6], 100_003);
    assert_histogram_agrees(&values, spec(0.0, 1.0, 8));
    let t = gpu_tail(&values, &TailSpec::beyond_k(0.75, 0.0, &KS, 1.0).unwrap());
    assert_eq!(
        (t.finite, t.beyond, t.power_sum),
        (100_003, vec![0; 6], 0.0)
    );
}

#[test]
fn nan_and_infinities_are_counted_apart_by_every_kernel() {
    let mut values = skewed(5000, 4);
    values[0] = f32::NAN;
    values[17] = -f32::NAN;
    values[4999] = f32::INFINITY;
    values[2500] = f32::NEG_INFINITY;
    values[2501] = f32::NEG_INFINITY;
    let m = gpu_moments(&values);
    assert_eq!((m.count, m.nan, m.inf), (4995, 2, 3));
    assert_shape_agrees(&values);
    let h = gpu_histogram(&values, spec(-1.0, 1.0, 64));
    assert_eq!((h.nan, h.neg_inf, h.pos_inf), (2, 2, 1));
    assert_histogram_agrees(&values, spec(-1.0, 1.0, 64));
    let t = gpu_tail(&values, &tail_spec_of(&values, 1.0));
    assert_eq!(t.finite, 4995);
    assert_tail_agrees(&values, &tail_spec_of(&values, 1.0));
}

#[test]
fn lengths_off_the_workgroup_size_agree_with_the_twins() {
    for len in [1, 2, 3, 255, 256, 257, 1023, 65_537, 262_145, 300_001] {
        let values = skewed(len, len as u32 + 11);
        if len >= 1023 {
            assert_shape_agrees(&values);
        }
        assert_histogram_agrees(&values, spec(-2.0, 2.0, 100));
        assert_tail_agrees(&values, &tail_spec_of(&values, 1.0));
    }
}

#[test]
fn skewness_and_kurtosis_agree_on_skewed_and_offset_data() {
    assert_shape_agrees(&skewed(500_001, 21));
    let offset: Vec<f32> = skewed(200_000, 22).iter().map(|x| x + 100.0).collect();
    assert_shape_agrees(&offset);
    assert_shape_agrees(&selfcheck_values(300_000, 23));
}

#[test]
fn one_bin_holds_everything_in_range() {
    let values = skewed(10_001, 31);
    let h = gpu_histogram(&values, spec(-0.5, 0.5, 1));
    let inside = values.iter().filter(|x| (-0.5..0.5).contains(*x)).count() as u64;
    assert_eq!(h.counts, vec![inside]);
    assert_histogram_agrees(&values, spec(-0.5, 0.5, 1));
}

#[test]
fn values_at_the_edges_follow_the_bin_rule() {
    // Every value an exact multiple of the bin width, the range ends and their neighbours.
    let mut values: Vec<f32> = (-40..=40).map(|i| i as f32 * 0.05).collect();
    for x in [-1.0f32, 1.0, 0.1, 0.3, 0.7] {
        values.extend([x.next_down(), x, x.next_up()]);
    }
    for bins in [1, 3, 7, 20, 40, 4096] {
        assert_histogram_agrees(&values, spec(-1.0, 1.0, bins));
    }
    let h = gpu_histogram(&[1.0, 1.0f32.next_down(), -1.0], spec(-1.0, 1.0, 20));
    assert_eq!((h.overflow, h.counts[19], h.counts[0]), (1, 1, 1));
}

#[test]
fn many_bins_agree_with_the_twin() {
    let values = skewed(400_000, 41);
    assert_histogram_agrees(&values, spec(-1.5, 2.5, 4096));
    assert_histogram_agrees(&values, spec(-0.01, 0.01, 4095));
}

#[test]
fn tail_power_sums_agree_for_several_powers() {
    let values = skewed(300_001, 51);
    for power in [0.5, 1.0, 1.3, 2.0, 3.0] {
        assert_tail_agrees(&values, &tail_spec_of(&values, power));
    }
}

#[test]
fn ten_million_values_agree_with_the_twins() {
    // The one test where each thread runs about 38 one-pass updates (1024 workgroups of 256
    // threads), so a wrong M3 or M4 update in the shader's thread loop fails here.
    let values = skewed(10_000_000, 61);
    let g = gpu();
    let on_gpu = GpuValues::upload(&g.ctx, &values);
    let (m, c) = (
        pollster::block_on(g.moments.run_on(&g.ctx, &on_gpu)).unwrap(),
        moments_cpu(&values),
    );
    assert!(moments_agree(&m, &c), "gpu {m:?}\ncpu {c:?}");
    assert!((m.skewness() - c.skewness()).abs() <= SKEWNESS_TOL);
    let kurt = c.excess_kurtosis() + 3.0;
    assert!((m.excess_kurtosis() - c.excess_kurtosis()).abs() <= KURTOSIS_TOL * kurt);
    let hspec = spec(-2.0, 2.0, 1000);
    let h = pollster::block_on(g.histogram.run_on(&g.ctx, &on_gpu, hspec)).unwrap();
    assert_eq!(h, histogram_cpu(&values, hspec));
    let tspec = tail_spec_of(&values, 1.0);
    let t = pollster::block_on(g.tail.run_on(&g.ctx, &on_gpu, &tspec)).unwrap();
    let tc = tail_cpu(&values, &tspec).unwrap();
    assert_eq!(t.beyond, tc.beyond);
    assert!((t.power_sum - tc.power_sum).abs() <= POWER_SUM_TOL * tc.power_sum);
}

#[test]
fn uploading_in_slices_gives_the_same_results() {
    let values = skewed(100_003, 71);
    let g = gpu();
    let sliced = GpuValues::upload_in_slices(&g.ctx, &values, 4_099);
    let hspec = spec(-1.0, 1.0, 333);
    let h = pollster::block_on(g.histogram.run_on(&g.ctx, &sliced, hspec)).unwrap();
    assert_eq!(h, histogram_cpu(&values, hspec));
    let tspec = tail_spec_of(&values, 2.0);
    let t = pollster::block_on(g.tail.run_on(&g.ctx, &sliced, &tspec)).unwrap();
    assert_eq!(t.beyond, tail_cpu(&values, &tspec).unwrap().beyond);
    let m = pollster::block_on(g.moments.run_on(&g.ctx, &sliced)).unwrap();
    assert!((m.skewness() - moments_cpu(&values).skewness()).abs() <= SKEWNESS_TOL);
}

#[test]
fn values_within_a_few_ulps_of_every_edge_land_in_the_same_bins() {
    // Ranges whose scale is not exact in f32, so the bin index depends on how it is rounded.
    for (lo, hi, bins) in [(-0.3f32, 0.7f32, 7u32), (-3.1, 2.9, 13), (0.1, 1.7, 999)] {
        let width = (hi - lo) / bins as f32;
        let mut values = Vec::new();
        for i in 0..=bins {
            let mut x = lo + i as f32 * width;
            for _ in 0..4 {
                x = x.next_down();
            }
            for _ in 0..9 {
                values.push(x);
                x = x.next_up();
            }
        }
        assert_histogram_agrees(&values, spec(lo, hi, bins));
    }
}

/// Relative tolerance on the fitted parameters and log-likelihoods of the GPU summary: they are
/// smooth functions of sums that agree to about 1e-6 (power sums to `POWER_SUM_TOL`).
const FIT_TOL: f64 = 1e-4;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= FIT_TOL * b.abs().max(1.0)
}

fn assert_summaries_agree(gpu: &Summary, cpu: &Summary) {
    assert_eq!(gpu.len, cpu.len);
    assert!(
        moments_agree(&gpu.moments, &cpu.moments),
        "{:?}\n{:?}",
        gpu.moments,
        cpu.moments
    );
    assert_eq!(gpu.histogram, cpu.histogram);
    // The thresholds k * std are rounded to f32 from slightly different stds, so they may differ
    // by an ulp; the counts must then agree exactly when the thresholds do, and within the few
    // values that can sit in a one-ulp gap when they do not.
    assert_eq!(gpu.tails.len(), cpu.tails.len());
    for (g, c) in gpu.tails.iter().zip(&cpu.tails) {
        let gap = (g.threshold - c.threshold).abs();
        assert!(gap <= 1e-6 * c.threshold, "thresholds {g:?} vs {c:?}");
        if gap == 0.0 {
            assert_eq!(g.count, c.count, "{g:?} vs {c:?}");
        } else {
            assert!(g.count.abs_diff(c.count) <= 2, "{g:?} vs {c:?}");
        }
    }
    assert_eq!(gpu.median, cpu.median);
    let (g, c) = (&gpu.fits, &cpu.fits);
    assert_eq!(g.gaussian.is_some(), c.gaussian.is_some());
    if let (Some(g), Some(c)) = (g.laplace, c.laplace) {
        assert_eq!(g.median, c.median);
        assert!(close(g.b, c.b) && close(g.avg_log_likelihood, c.avg_log_likelihood));
    } else {
        assert_eq!(g.laplace, c.laplace);
    }
    if let (Some(g), Some(c)) = (g.gen_gaussian, c.gen_gaussian) {
        assert!(close(g.beta, c.beta), "beta {} vs {}", g.beta, c.beta);
        assert!(close(g.alpha, c.alpha), "alpha {} vs {}", g.alpha, c.alpha);
        assert!(close(g.avg_log_likelihood, c.avg_log_likelihood));
    } else {
        assert_eq!(g.gen_gaussian, c.gen_gaussian);
    }
}

fn gpu_summary(values: &[f32], options: &SummaryOptions) -> Summary {
    let g = gpu();
    pollster::block_on(g.stats.summarize(&g.ctx, values, options)).unwrap()
}

#[test]
fn gpu_summaries_agree_with_the_cpu_ones() {
    let options = SummaryOptions::default();
    let mut laplace = samples(300_001, 81, |r| 0.5 + r.laplace(3.0));
    laplace[10] = f32::NAN;
    laplace[20] = f32::INFINITY;
    let inputs = [
        laplace,
        samples(100_000, 82, |r| r.normal()),
        samples(65_537, 83, |r| r.gen_gaussian_inverse_shape(0.1, 3)),
        vec![],
        vec![f32::NAN; 3],
        vec![4.0; 1000],
        vec![-1.0, 2.0],
    ];
    for values in &inputs {
        let (gpu, cpu) = (
            gpu_summary(values, &options),
            summarize_cpu(values, &options).unwrap(),
        );
        assert_summaries_agree(&gpu, &cpu);
    }
    let fixed_range = SummaryOptions {
        bins: 1,
        range: Some((-1.0, 1.0)),
        ks: vec![0.5, 2.5],
    };
    let values = &inputs[0];
    let gpu = gpu_summary(values, &fixed_range);
    assert_summaries_agree(&gpu, &summarize_cpu(values, &fixed_range).unwrap());
    assert_eq!(gpu.histogram.counts.len(), 1);
}

#[test]
fn a_burn_tensor_summarises_like_its_values() {
    let g = gpu();
    let values = samples(3 * 64 * 97, 91, |r| r.laplace(1.0));
    let tensor = burn::tensor::Tensor::<3>::from_data(
        burn::tensor::TensorData::new(values.clone(), [3, 64, 97]),
        g.ctx.burn_device(),
    );
    let options = SummaryOptions::default();
    let from_tensor =
        pollster::block_on(g.stats.summarize_tensor(&g.ctx, tensor, &options)).unwrap();
    assert_eq!(from_tensor, gpu_summary(&values, &options));
}

#[test]
fn ten_million_values_summarise_like_the_twins() {
    let values = samples(10_000_000, 92, |r| r.laplace(1.0));
    let options = SummaryOptions::default();
    let start = std::time::Instant::now();
    let gpu = gpu_summary(&values, &options);
    let gpu_time = start.elapsed();
    let start = std::time::Instant::now();
    let cpu = summarize_cpu(&values, &options).unwrap();
    let cpu_time = start.elapsed();
    eprintln!(
        "summary of 1e7 values: GPU {:.2} s ({:.1} M values/s), CPU twins {:.2} s",
        gpu_time.as_secs_f64(),
        1e-6 * values.len() as f64 / gpu_time.as_secs_f64(),
        cpu_time.as_secs_f64()
    );
    assert_summaries_agree(&gpu, &cpu);
    let beta = gpu.fits.gen_gaussian.unwrap().beta;
    assert!((beta - 1.0).abs() < 0.01, "beta {beta}");
}
