//! The moments kernel on a real wgpu device (lavapipe in CI) against its plain-Rust twin.

use std::sync::OnceLock;

use bpt_lab::gpu::GpuContext;
use bpt_lab::gpu::moments::{Moments, MomentsKernel, moments_cpu};
use bpt_lab::gpu::selfcheck::{self, moments_agree, selfcheck_values};

fn ctx() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| {
        pollster::block_on(GpuContext::new()).unwrap_or_else(|e| {
            panic!(
                "these tests need a wgpu adapter (CI uses lavapipe from mesa-vulkan-drivers): {e}"
            )
        })
    })
}

fn gpu_moments(values: &[f32]) -> Moments {
    let ctx = ctx();
    pollster::block_on(MomentsKernel::new(ctx).run(ctx, values)).unwrap()
}

fn assert_agrees(values: &[f32]) {
    let (gpu, cpu) = (gpu_moments(values), moments_cpu(values));
    assert!(moments_agree(&gpu, &cpu), "gpu {gpu:?}\ncpu {cpu:?}");
}

#[test]
fn empty_input_gives_empty_moments() {
    assert_eq!(gpu_moments(&[]), Moments::EMPTY);
}

#[test]
fn a_single_value_has_zero_variance() {
    let m = gpu_moments(&[3.5]);
    assert_eq!(
        (m.count, m.min, m.max, m.mean, m.m2),
        (1, 3.5, 3.5, 3.5, 0.0)
    );
}

#[test]
fn all_equal_values_have_zero_variance() {
    let m = gpu_moments(&vec![-1.25f32; 70_001]);
    assert_eq!(
        (m.count, m.min, m.max, m.mean),
        (70_001, -1.25, -1.25, -1.25)
    );
    assert_eq!(m.m2, 0.0);
}

#[test]
fn nan_and_infinities_are_counted_apart() {
    let mut values = selfcheck_values(1000, 5);
    values[0] = f32::NAN;
    values[999] = f32::INFINITY;
    values[500] = f32::NEG_INFINITY;
    values[501] = -f32::NAN;
    let m = gpu_moments(&values);
    assert_eq!((m.count, m.nan, m.inf), (996, 2, 2));
    assert_agrees(&values);
}

#[test]
fn only_non_finite_values_leave_the_moments_empty() {
    let m = gpu_moments(&[f32::NAN, f32::INFINITY, f32::NAN]);
    assert_eq!(
        m,
        Moments {
            nan: 2,
            inf: 1,
            ..Moments::EMPTY
        }
    );
}

#[test]
fn lengths_off_the_workgroup_size_agree_with_the_twin() {
    for len in [1, 2, 255, 256, 257, 1023, 65_537, 262_145, 300_001] {
        assert_agrees(&selfcheck_values(len, len as u32 + 1));
    }
}

#[test]
fn a_large_offset_keeps_the_variance_accurate() {
    // A plain sum of squares in f32 would lose the variance entirely at this offset.
    let values: Vec<f32> = selfcheck_values(200_000, 9)
        .iter()
        .map(|x| x + 1000.0)
        .collect();
    assert_agrees(&values);
}

#[test]
fn ten_million_values_agree_with_the_twin() {
    assert_agrees(&selfcheck_values(10_000_000, 77));
}

#[test]
fn uploading_in_slices_gives_the_same_result() {
    let ctx = ctx();
    let values = selfcheck_values(100_003, 3);
    let kernel = MomentsKernel::new(ctx);
    let sliced = pollster::block_on(kernel.run_in_slices(ctx, &values, 4_099)).unwrap();
    assert!(moments_agree(&sliced, &moments_cpu(&values)));
}

#[test]
fn the_page_self_check_passes_on_this_device() {
    let report = pollster::block_on(selfcheck::run(ctx())).unwrap();
    assert!(report.moments_ok(), "{report:?}");
    assert!(report.histogram_ok(), "{report:?}");
    assert!(report.tail_ok(), "{report:?}");
    assert!(report.matmul_ok(), "{report:?}");
    assert!(report.kernels_ok(), "{:?}", report.kernels);
    // lavapipe has shader-f16, so the f16-weight cases run too.
    let half = report
        .kernels
        .iter()
        .filter(|c| c.name.contains("f16 weights"))
        .count();
    let expected = if ctx().adapter().shader_f16 {
        bpt_lab::kernels::selftest::HALF_CASES_PER_SHAPE * selfcheck::HALF_SHAPES
    } else {
        0
    };
    assert_eq!(half, expected);
}
