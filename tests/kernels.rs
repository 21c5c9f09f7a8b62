//! Our linear kernels (src/kernels, shaders/linear.wgsl) on a real wgpu device (lavapipe in CI)
//! against their plain-Rust twin: every variant compiles, and the forward values and the input
//! gradients match for shapes that are and are not multiples of the 32 x 32 tile and of 4 (the
//! vec4 variants), batch 1 included. A trainable weight takes burn's own ops, and its gradient
//! still comes out. With the weights stored in f16 (`kernels::half`), the same cases against
//! the twin on the same f16-rounded weights.
//!
//! The cases are `kernels::selftest`'s, which the page's start-up self-check also runs in the
//! browser. Tolerance: `selftest::TOL` absolute plus relative to the twin's value, per element.

use std::sync::{Mutex, MutexGuard, OnceLock};

use bpt_lab::gpu::GpuContext;
use bpt_lab::kernels::linear_layer;
use bpt_lab::kernels::selftest::{
    self, ATTENTION, CASES_PER_SHAPE, CaseResult, HALF_CASES_PER_SHAPE, SHAPES, TOL, worst_error,
};
use bpt_lab::kernels::twin::{self, Layer};
use bpt_lab::rng::Rng;
use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};

fn gpu() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| {
        pollster::block_on(GpuContext::new())
            .unwrap_or_else(|e| panic!("these tests need a wgpu adapter (lavapipe in CI): {e}"))
    })
}

/// Held by every test that turns our kernels off or depends on their being on: the switch is
/// process-wide and the tests run in parallel threads.
fn kernels_switch() -> MutexGuard<'static, ()> {
    static SWITCH: Mutex<()> = Mutex::new(());
    SWITCH.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a device whose compiler rejected a kernel runs: `cases` with our kernels off (burn's
/// ops), each within the tolerance all the same.
fn assert_burns_ops_pass(
    cases: impl FnOnce() -> Result<Vec<CaseResult>, bpt_lab::model::ModelError>,
) {
    bpt_lab::kernels::set_enabled(false);
    let fallback = cases();
    bpt_lab::kernels::set_enabled(true);
    for r in &fallback.unwrap() {
        assert!(r.ok(), "burn's ops, {}: worst error {}", r.name, r.worst);
    }
}

fn tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    let worst = worst_error(got, want);
    assert!(
        worst <= TOL,
        "{what}: worst error {worst} over the tolerance {TOL}"
    );
}

fn random(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.normal() as f32).collect()
}

#[test]
fn every_variant_compiles_on_this_device() {
    let check = gpu().kernel_check();
    assert!(check.ok(), "{}", check.summary());
    assert_eq!(check.compiled, bpt_lab::kernels::check::variants());
    let choice = check
        .matmul
        .as_ref()
        .expect("both forms of the linear kernel were timed");
    assert!(
        choice.tiled_ms > 0.0 && choice.direct_ms > 0.0,
        "{choice:?}"
    );
}

#[test]
fn a_rejected_shader_is_reported_with_the_compilers_message() {
    // A local that shadows a storage binding, then indexed: the mistake the compile check
    // caught in our attention kernel while it was written.
    let source = "@group(0) @binding(0) var<storage, read_write> b: array<f32>;
        @compute @workgroup_size(1) fn main() { let b = 1u; b[0] = 2.0; }";
    let message = pollster::block_on(bpt_lab::kernels::check::compile(
        gpu().device(),
        source.into(),
    ));
    let message = message.expect("the shader is rejected");
    assert!(message.contains("b"), "{message}");
    assert!(
        pollster::block_on(bpt_lab::kernels::check::compile(
            gpu().device(),
            "@compute @workgroup_size(1) fn main() {}".into()
        ))
        .is_none()
    );
}

#[test]
fn forward_and_input_gradients_match_the_twin() {
    // The page's self-check shapes, and a ViT-S sized layer (65 tokens, 384 -> 1536).
    let _switch = kernels_switch();
    let shapes: Vec<_> = SHAPES.iter().copied().chain([(65, 384, 1536)]).collect();
    let device = gpu().burn_device();
    assert!(
        bpt_lab::kernels::enabled(),
        "{}",
        gpu().kernel_check().summary()
    );
    let results = pollster::block_on(selftest::run(device, &shapes)).unwrap();
    assert_eq!(
        results.len(),
        CASES_PER_SHAPE * shapes.len() + 2 * ATTENTION.len()
    );
    for r in &results {
        assert!(
            r.ok(),
            "{}: worst error {} over the tolerance {TOL}",
            r.name,
            r.worst
        );
    }
    assert_burns_ops_pass(|| pollster::block_on(selftest::run(device, &SHAPES[..2])));
}

#[test]
fn f16_weights_match_the_twin_on_the_same_rounded_weights() {
    let _switch = kernels_switch();
    pollster::block_on(gpu().prepare_f16()).expect("lavapipe has shader-f16");
    assert!(bpt_lab::kernels::half::ready());
    // An f16 weight takes our kernels, not burn's ops (which would match the twin as well).
    let device = gpu().burn_device();
    let weight = Tensor::<2>::from_data(
        TensorData::new(vec![0.5f32; 8 * 4], [8, 4]),
        (device, burn::tensor::DType::F16),
    );
    let layer = Linear {
        weight: Param::from_tensor(weight),
        bias: None,
    };
    assert!(bpt_lab::kernels::uses_our_kernels(
        &tensor(&[1.0; 8], [1, 1, 8], device),
        &layer
    ));
    let shapes: Vec<_> = SHAPES.iter().copied().chain([(65, 384, 1536)]).collect();
    let results = pollster::block_on(selftest::run_half(device, &shapes)).unwrap();
    assert_eq!(results.len(), HALF_CASES_PER_SHAPE * shapes.len());
    for r in &results {
        assert!(r.name.contains("f16 weights"), "{}", r.name);
        assert!(r.ok(), "{}: worst error {} over {TOL}", r.name, r.worst);
    }
    // burn's ops widen an f16 weight to f32: the same function.
    assert_burns_ops_pass(|| pollster::block_on(selftest::run_half(device, &SHAPES[..2])));
}

#[test]
fn a_batch_of_several_images_is_one_matrix() {
    let _switch = kernels_switch();
    let device = gpu().burn_device();
    let mut rng = Rng::new(7);
    let (k, n) = (40, 24);
    let (x, w, b) = (
        random(&mut rng, 3 * 17 * k),
        random(&mut rng, k * n),
        random(&mut rng, n),
    );
    let layer = Linear {
        weight: Param::from_tensor(tensor(&w, [k, n], device)),
        bias: Some(Param::from_tensor(tensor(&b, [n], device))),
    };
    let y = linear_layer(tensor(&x, [3, 17, k], device), &layer, true);
    assert_eq!(y.dims(), [3, 17, n]);
    let want = twin::linear_gelu(&x, Layer { w: &w, b: &b, k, n });
    assert_close("batch 3", &host(y), &want);
}

#[test]
fn a_trainable_weight_takes_burns_ops_and_gets_its_gradient() {
    let device = gpu().burn_device();
    let mut rng = Rng::new(42);
    let (m, k, n) = (9, 6, 5);
    let (x, w, b, r) = (
        random(&mut rng, m * k),
        random(&mut rng, k * n),
        random(&mut rng, n),
        random(&mut rng, m * n),
    );
    let weight = tensor(&w, [k, n], device).autodiff().require_grad();
    let layer = Linear {
        weight: Param::from_tensor(weight.clone()),
        bias: Some(Param::from_tensor(tensor(&b, [n], device).autodiff())),
    };
    let xt = tensor(&x, [1, m, k], device).autodiff();
    let rt = tensor(&r, [1, m, n], device).autodiff();
    let loss = (linear_layer(xt, &layer, false) * rt).sum();
    let dw = host(
        weight
            .grad(&loss.backward())
            .expect("the weight has a gradient"),
    );
    // dW = x^T r.
    let mut want = vec![0.0f32; k * n];
    for row in 0..m {
        for i in 0..k {
            for j in 0..n {
                want[i * n + j] += x[row * k + i] * r[row * n + j];
            }
        }
    }
    assert_close("dW", &dw, &want);
}
