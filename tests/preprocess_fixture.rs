//! The evaluation view of one picture against timm's and transformers' own preprocessing
//! (tests/fixtures/torch/preprocess.{png,safetensors}, made by
//! scripts/model/make_preprocess_fixture.py):
//! mean, std, crop share and filter come from the model's config, not from ImageNet's constants.
//!
//! Tolerance: one 8-bit grey level after normalisation (1 / 255 / std): PIL's fixed-point
//! resampler and ours may round a value either way (measured: exactly one level at most, 0.0078
//! for timm's std 0.5 and 0.0174 for ImageNet's 0.225). ImageNet's constants on a mean-0.5 model
//! are off by more than 0.3.

use bpt_lab::cli::images::decode;
use bpt_lab::model::checkpoint::{Checkpoint, read_metadata};
use bpt_lab::model::{Interpolation, Preprocess, VitConfig};
use bpt_lab::train::Transform;

/// One grey level for the smallest std, with 1% for float noise.
fn tolerance(p: &Preprocess) -> f32 {
    1.01 / 255.0 / p.std.iter().fold(f32::INFINITY, |m, &s| m.min(s))
}

fn fixture() -> (Checkpoint, std::collections::BTreeMap<String, String>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch/preprocess.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    (
        Checkpoint::from_safetensors(&bytes).unwrap(),
        read_metadata(&bytes).unwrap(),
    )
}

fn max_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn the_evaluation_view_follows_the_model_s_preprocessing_config() {
    let (io, meta) = fixture();
    let png = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch/preprocess.png");
    let image = decode(&std::fs::read(png).unwrap()).unwrap();

    let timm = VitConfig::from_json(&meta["timm_config"]).unwrap();
    assert_eq!(timm.preprocess.mean, [0.5; 3]);
    assert_eq!(timm.preprocess.crop_pct, 0.9);
    let ours = Transform::new(32, &timm.preprocess).eval(&image);
    let want = &io.get("timm_pixel_values").unwrap().data;
    let err = max_err(&ours, want);
    assert!(
        err <= tolerance(&timm.preprocess),
        "timm: max abs error {err}"
    );
    let imagenet = Transform::imagenet(32).eval(&image);
    assert!(
        max_err(&imagenet, want) > 0.3,
        "the constants would not pass"
    );

    let hf = Preprocess::from_hf(&meta["hf_preprocessor"]).unwrap();
    assert_eq!(
        (hf.crop_pct, hf.interpolation),
        (32.0 / 36.0, Interpolation::Bicubic)
    );
    let ours = Transform::new(32, &hf).eval(&image);
    let err = max_err(&ours, &io.get("hf_pixel_values").unwrap().data);
    assert!(err <= tolerance(&hf), "transformers: max abs error {err}");
}
