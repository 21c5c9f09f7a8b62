//! Tiny random-weight ViTs made by timm and transformers (scripts/model/make_torch_fixtures.py):
//! our loaders and forward pass against the libraries' own outputs, on the CPU backend and on
//! wgpu. Covers timm naming with LayerScale, a head and antialiased position resampling
//! (24x40 px on a 32x32 model), HF Dinov2Model naming with plain bicubic resampling, and HF
//! ViTForImageClassification (prefix `vit.`, LayerNorm eps 1e-12, `classifier` head), and timm's
//! mean pooling (`global_pool='avg'`: no final norm, `fc_norm` after averaging the non-class
//! tokens), checked on the logits and on the pooled features a prompt-tuning head sees; and
//! checkpoints as they are published on the Hub: timm's `save_for_hf` configs (the architecture
//! by name: DINOv2, patch 32, MAE, DeiT, DINOv2 with registers, distilled DeiT), HF ViTModel
//! with its pooler, HF Dinov2WithRegistersModel and HF ViTMAEForPreTraining (its decoder
//! skipped). Also the Fashion-MNIST ViTs served with the page, against the features their
//! pretraining script recorded.

use bpt_lab::gpu::GpuContext;
use bpt_lab::model::checkpoint::{Checkpoint, HostTensor};
use bpt_lab::model::vit::Prompts;
use bpt_lab::model::{Backbone, VitConfig};
use burn::tensor::{Device, Tensor, TensorData};

/// float32 sums over at most a few hundred products of order-one values.
const TOLERANCE: f32 = 1e-4;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn to_host<const D: usize>(t: Tensor<D>) -> HostTensor {
    pollster::block_on(HostTensor::read(t)).unwrap()
}

fn check(case: &str, sizes: &[&str], device: &Device) {
    let config =
        VitConfig::from_json(&String::from_utf8(fixture(&format!("{case}.config.json"))).unwrap())
            .unwrap();
    let backbone = Backbone::from_safetensors(
        &fixture(&format!("{case}.model.safetensors")),
        config,
        device,
    )
    .unwrap_or_else(|e| panic!("{case}: {e}"));
    let io = Checkpoint::from_safetensors(&fixture(&format!("{case}.io.safetensors"))).unwrap();
    for size in sizes {
        let pixels = io.get(&format!("pixel_values_{size}")).unwrap();
        let [b, c, h, w]: [usize; 4] = pixels.shape.clone().try_into().unwrap();
        let images =
            Tensor::<4>::from_data(TensorData::new(pixels.data.clone(), [b, c, h, w]), device);
        let tokens = backbone
            .forward(images.clone(), &Prompts::None, None)
            .unwrap();
        let err = to_host(tokens.clone()).max_abs_diff(io.get(&format!("tokens_{size}")).unwrap());
        assert!(
            err <= TOLERANCE,
            "{case} {size}: tokens max abs error {err}"
        );
        // The features a prompt-tuning head sees, from the blocks' output as training pools
        // them: timm's `forward_head(pre_logits=True)`.
        if let Some(expected) = io.get(&format!("pre_logits_{size}")) {
            let pos = backbone.pos_embed(h, w, device).unwrap();
            let blocks = backbone.vit.forward_blocks(
                backbone.vit.embed(images.clone(), pos),
                &Prompts::None,
                None,
            );
            let pooled = backbone.vit.pooled(blocks, backbone.config.global_pool);
            let err = to_host(pooled).max_abs_diff(expected);
            assert!(
                err <= TOLERANCE,
                "{case} {size}: pooled features max abs error {err}"
            );
        }
        if let Some(expected) = io.get(&format!("logits_{size}")) {
            let logits = backbone
                .vit
                .logits(tokens, backbone.config.global_pool)
                .expect("a head");
            let err = to_host(logits).max_abs_diff(expected);
            assert!(
                err <= TOLERANCE,
                "{case} {size}: logits max abs error {err}"
            );
        }
    }
}

const CASES: [(&str, &[&str]); 14] = [
    ("timm_vit_ls", &["32x32", "24x40"]),
    ("timm_vit_avg", &["32x32"]),
    ("hf_dinov2", &["32x32", "24x40"]),
    ("hf_vit_classifier", &["32x32"]),
    // As timm's save_for_hf writes them for the Hub: the architecture's name, model_args and
    // pretrained_cfg (the dimensions shrunk through model_args to keep the files small).
    ("timm_hub_dinov2", &["56x56", "42x42"]),
    ("timm_hub_patch32", &["64x64", "32x64"]),
    ("timm_hub_mae", &["48x48"]),
    ("timm_hub_deit", &["48x48", "32x48"]),
    // Prefix tokens: timm's DINOv2 with registers (no position rows for them), distilled DeiT
    // (logits the mean of its two heads), HF Dinov2WithRegisters (the class token's row only).
    ("timm_hub_reg4", &["56x56", "42x56"]),
    ("timm_hub_distilled", &["48x48", "32x48"]),
    // No class token (timm's gap models): the mean of the final-norm patch tokens.
    ("timm_hub_gap", &["64x64", "48x64"]),
    ("hf_dinov2_registers", &["32x32", "24x40"]),
    // HF ViTModel with its pooler, which the loader skips and lists.
    ("hf_vit_pooler", &["32x32"]),
    // HF ViTMAEForPreTraining: the encoder under `vit.`, its decoder skipped.
    ("hf_vit_mae", &["32x32"]),
];

/// What the loader skipped and listed when reading fixture `case` on the CPU backend.
fn skipped(case: &str) -> Vec<String> {
    let config =
        VitConfig::from_json(&String::from_utf8(fixture(&format!("{case}.config.json"))).unwrap())
            .unwrap();
    Backbone::from_safetensors(
        &fixture(&format!("{case}.model.safetensors")),
        config,
        &Device::flex(),
    )
    .unwrap()
    .skipped
}

#[test]
fn the_pooler_hf_saves_with_vit_model_is_skipped_and_listed() {
    assert_eq!(
        skipped("hf_vit_pooler"),
        ["pooler.dense.weight", "pooler.dense.bias"]
    );
}

#[test]
fn the_decoder_hf_saves_with_vit_mae_is_skipped_as_one_entry() {
    assert_eq!(skipped("hf_vit_mae"), ["decoder.* (24 tensors)"]);
}

#[test]
fn hub_names_give_the_architecture_the_weights_have() {
    // The dimensions the timm names stand for, and what model_args shrank them to.
    let config =
        VitConfig::from_json(&String::from_utf8(fixture("timm_hub_dinov2.config.json")).unwrap())
            .unwrap();
    assert_eq!(
        (
            config.patch_size,
            config.img_size,
            config.embed_dim,
            config.num_heads
        ),
        (14, 56, 48, 3)
    );
    assert!(config.layer_scale);
    let patch32 =
        VitConfig::from_json(&String::from_utf8(fixture("timm_hub_patch32.config.json")).unwrap())
            .unwrap();
    assert_eq!((patch32.patch_size, patch32.num_classes), (32, 1000));
}

/// The Fashion-MNIST ViTs served with the page (scripts/pretrain/fashion_mnist_vit.py, committed
/// under static/models/): the pooled features timm gave for a fixed input when the script saved
/// them (`features.json` beside the weights).
const SHIPPED: [&str; 2] = ["fmnist-vit-mae", "fmnist-vit-sup"];

fn check_shipped(name: &str, device: &Device) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("static/models")
        .join(name);
    let read =
        |file: &str| std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{name}/{file}: {e}"));
    let config = VitConfig::from_json(&String::from_utf8(read("config.json")).unwrap()).unwrap();
    let backbone = Backbone::from_safetensors(&read("model.safetensors"), config, device)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let recorded: serde_json::Value = serde_json::from_slice(&read("features.json")).unwrap();
    let (input, shape) = nested(&recorded["input"]);
    let (pooled, pooled_shape) = nested(&recorded["pooled"]);
    let [b, c, h, w]: [usize; 4] = shape.try_into().unwrap();
    let images = Tensor::<4>::from_data(TensorData::new(input, [b, c, h, w]), device);
    let pos = backbone.pos_embed(h, w, device).unwrap();
    let blocks = backbone
        .vit
        .forward_blocks(backbone.vit.embed(images, pos), &Prompts::None, None);
    let got = to_host(backbone.vit.pooled(blocks, backbone.config.global_pool));
    assert_eq!(got.shape, pooled_shape, "{name}: pooled shape");
    let err = got.max_abs_diff(&HostTensor {
        data: pooled,
        shape: pooled_shape,
    });
    assert!(
        err <= TOLERANCE,
        "{name}: pooled features max abs error {err}"
    );
}

/// A JSON array of arrays of numbers, flattened, with its shape.
fn nested(v: &serde_json::Value) -> (Vec<f32>, Vec<usize>) {
    match v.as_array() {
        Some(items) => {
            let parts: Vec<_> = items.iter().map(nested).collect();
            let inner = parts.first().map(|p| p.1.clone()).unwrap_or_default();
            assert!(parts.iter().all(|p| p.1 == inner), "a ragged array");
            let shape = [vec![items.len()], inner].concat();
            (parts.into_iter().flat_map(|p| p.0).collect(), shape)
        }
        None => (vec![v.as_f64().expect("a number") as f32], vec![]),
    }
}

#[test]
fn timm_and_transformers_outputs_match_on_the_cpu_backend() {
    for (case, sizes) in CASES {
        check(case, sizes, &Device::flex());
    }
    for name in SHIPPED {
        check_shipped(name, &Device::flex());
    }
}

#[test]
fn timm_and_transformers_outputs_match_on_wgpu() {
    let ctx = pollster::block_on(GpuContext::new())
        .unwrap_or_else(|e| panic!("needs a wgpu adapter (lavapipe in CI): {e}"));
    for (case, sizes) in CASES {
        check(case, sizes, ctx.burn_device());
    }
    for name in SHIPPED {
        check_shipped(name, ctx.burn_device());
    }
}
