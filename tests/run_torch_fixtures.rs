//! Run files exported by our engine, read back by PyTorch (scripts/torch/bpt_lab_torch.py on
//! timm's and transformers' own models; fixtures made by scripts/torch/make_run_fixtures.py):
//! our logits for the same run and inputs match PyTorch's within 1e-4, for every method, shallow
//! and deep, on class-token and mean pooling, and on models with registers or a distillation
//! token (head-only, VPT and BPT-bilinear), on the CPU backend and on wgpu. Each prompted run
//! must also move the logits by more than 100 times the tolerance against the same head without
//! its prompts, or the comparison could not see a prompt put in the wrong place.

use bpt_lab::gpu::GpuContext;
use bpt_lab::model::checkpoint::{Checkpoint, HostTensor};
use bpt_lab::model::{Backbone, VitConfig};
use bpt_lab::prompt::PromptParams;
use bpt_lab::train::classifier::logits;
use bpt_lab::train::export;
use burn::tensor::{Device, Tensor, TensorData};

const TOLERANCE: f32 = 1e-4;
const MODELS: [(&str, &str); 7] = [
    ("timm", "timm_vit_ls"),
    ("timm_avg", "timm_vit_avg"),
    ("dinov2", "hf_dinov2"),
    // Other prefix tokens than one class token: prompts after all of them, distilled pooling,
    // and the mean of the final-norm tokens without a class token.
    ("reg4", "timm_hub_reg4"),
    ("distilled", "timm_hub_distilled"),
    ("hfreg", "hf_dinov2_registers"),
    ("gap", "timm_hub_gap"),
];

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn host(t: Tensor<2>) -> HostTensor {
    pollster::block_on(HostTensor::read(t)).unwrap()
}

fn check(device: &Device) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch");
    let mut checked = 0;
    for (short, case) in MODELS {
        let config = VitConfig::from_json(
            &String::from_utf8(fixture(&format!("{case}.config.json"))).unwrap(),
        )
        .unwrap();
        let backbone = Backbone::from_safetensors(
            &fixture(&format!("{case}.model.safetensors")),
            config,
            device,
        )
        .unwrap();
        let mut runs: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| {
                n.starts_with(&format!("run_{short}_")) && n.ends_with(".logits.safetensors")
            })
            .collect();
        runs.sort();
        for name in runs {
            let stem = name.trim_end_matches(".logits.safetensors");
            // run_timm_avg_* also starts with run_timm_: keep each to its model.
            if short == "timm" && stem.starts_with("run_timm_avg_") {
                continue;
            }
            let run = export::from_safetensors(
                &fixture(&format!("{stem}.safetensors")),
                backbone.config.embed_dim,
                device,
            )
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
            run.check_fits(&backbone)
                .unwrap_or_else(|e| panic!("{stem}: {e}"));
            let io = Checkpoint::from_safetensors(&fixture(&name)).unwrap();
            let pixels = io.get("pixel_values").unwrap();
            let [b, c, h, w]: [usize; 4] = pixels.shape.clone().try_into().unwrap();
            let images =
                Tensor::<4>::from_data(TensorData::new(pixels.data.clone(), [b, c, h, w]), device);
            let pos = backbone.pos_embed(h, w, device).unwrap();
            let ours = host(logits(
                &backbone,
                pos.clone(),
                run.pool,
                images.clone(),
                &run.prompts,
                &run.head,
                None,
            ));
            let want = io.get("logits").unwrap();
            let err = ours.max_abs_diff(want);
            assert!(err <= TOLERANCE, "{stem}: logits max abs error {err}");
            if !run.prompts.sets.is_empty() {
                let bare = PromptParams {
                    sets: Vec::new(),
                    ..run.prompts.clone()
                };
                let without = host(logits(
                    &backbone, pos, run.pool, images, &bare, &run.head, None,
                ));
                let moved = without.max_abs_diff(want);
                assert!(
                    moved > 100.0 * TOLERANCE,
                    "{stem}: prompts move the logits by {moved} only"
                );
            }
            checked += 1;
        }
    }
    // 9 runs on each class-token model, 3 on the mean-pooled one and on each with more prefix
    // tokens.
    assert_eq!(checked, 33, "fixtures found");
}

#[test]
fn pytorch_reads_our_run_files_as_we_do_on_the_cpu_backend() {
    check(&Device::flex());
}

#[test]
fn pytorch_reads_our_run_files_as_we_do_on_wgpu() {
    let ctx = pollster::block_on(GpuContext::new())
        .unwrap_or_else(|e| panic!("needs a wgpu adapter (lavapipe in CI): {e}"));
    check(ctx.burn_device());
}
