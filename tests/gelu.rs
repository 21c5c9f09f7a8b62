//! The backbone's GELU (`bpt_lab::model::gelu`) and its gradient against the exact function,
//! on the CPU backend and on wgpu, for inputs up to |x| = 40.
//!
//! On wgpu this fails with burn's own `gelu`, whose backward is the tanh approximation's
//! derivative (off by 3e-4 at x = -3); see the module for the NaN it caused in the browser.

use bpt_lab::gpu::GpuContext;
use bpt_lab::model::gelu::gelu;
use burn::tensor::{Device, Tensor, TensorData};

/// (x, x Φ(x), Φ(x) + x φ(x)) from Python's `math.erf` in f64:
/// `x * 0.5 * (1 + erf(x / sqrt(2)))` and
/// `0.5 * (1 + erf(x / sqrt(2))) + x * exp(-x * x / 2) / sqrt(2 * pi)`.
const REFERENCE: [(f32, f64, f64); 14] = [
    (-40.0, 0.0, 0.0),
    (-17.0, 0.0, -1.190710962834159e-62),
    (-11.0, 0.0, -2.3307011788602893e-26),
    (-9.5, 0.0, -9.574038624585011e-20),
    (-3.0, -0.00404969409489031, -0.01194564720418392),
    (-1.0, -0.15865525393145707, -0.08331547058768629),
    (-0.3, -0.1146265733433142, 0.26767223317289013),
    (0.0, 0.0, 0.5),
    (0.5, 0.34573123063700656, 0.8674951246561629),
    (2.0, 1.9544997361036416, 1.085231801078197),
    (8.0, 7.999999999999995, 1.0000000000000397),
    (11.0, 11.0, 1.0),
    (17.0, 17.0, 1.0),
    (40.0, 40.0, 1.0),
];

fn check(device: &Device) {
    let xs: Vec<f32> = REFERENCE.iter().map(|r| r.0).collect();
    let x = Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), device)
        .autodiff()
        .require_grad();
    let y = gelu(x.clone());
    let grads = y.clone().sum().backward();
    let read = |t: Tensor<1>| t.into_data().try_into_vec::<f32>().unwrap();
    let (values, slopes) = (read(y.inner()), read(x.grad(&grads).unwrap()));
    for (i, &(x, value, slope)) in REFERENCE.iter().enumerate() {
        // f32 arithmetic and a polynomial erf: 1e-5 absolute plus 1e-5 relative.
        let tol = |want: f64| 1e-5 + 1e-5 * want.abs();
        let (v, s) = (f64::from(values[i]), f64::from(slopes[i]));
        assert!(
            (v - value).abs() <= tol(value),
            "gelu({x}) = {v}, want {value}"
        );
        assert!(
            (s - slope).abs() <= tol(slope),
            "gelu'({x}) = {s}, want {slope}"
        );
    }
}

#[test]
fn gelu_and_its_gradient_are_exact_on_the_cpu_backend() {
    check(&Device::flex());
}

#[test]
fn gelu_and_its_gradient_are_exact_on_wgpu() {
    let ctx = pollster::block_on(GpuContext::new())
        .unwrap_or_else(|e| panic!("needs a wgpu adapter (lavapipe in CI): {e}"));
    check(ctx.burn_device());
}
