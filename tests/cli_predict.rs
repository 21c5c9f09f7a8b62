//! `bpt-lab predict` and `bpt-lab evaluate` on a run trained by `bpt-lab train` on the tiny
//! random-weight ViT: probabilities per image, the same predictions counted by `evaluate`, and
//! runs or folders that do not fit refused with the reason.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::Fixture;

fn bpt_lab(args: &[&str], paths: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpt-lab"));
    cmd.args(args);
    for (flag, path) in paths {
        cmd.arg(flag).arg(path);
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JSON documents a successful `predict --json` printed, one per line.
fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    assert!(o.status.success(), "{}", stderr(o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A fixture with a deep VPT run trained on red and blue pictures.
fn trained(name: &str) -> Fixture {
    let f = Fixture::new(name);
    f.images("red", 5, [180, 20, 20]);
    f.images("blue", 5, [20, 20, 180]);
    let o = bpt_lab(
        &[
            "train",
            "--backend",
            "cpu",
            "--epochs",
            "2",
            "--batch",
            "4",
            "--size",
            "32",
        ],
        &[
            ("--prompts", Path::new("3")),
            ("--method", Path::new("vpt")),
            ("--model", &f.dir.join("model.safetensors")),
            ("--config", &f.dir.join("config.json")),
            ("--data", &f.dir.join("data")),
            ("--out", &f.out()),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    f
}

fn model_args(f: &Fixture) -> Vec<(&'static str, std::path::PathBuf)> {
    vec![
        ("--run", f.out().join("run.safetensors")),
        ("--model", f.dir.join("model.safetensors")),
        ("--config", f.dir.join("config.json")),
    ]
}

#[test]
fn predict_gives_probabilities_and_evaluate_counts_the_same_predictions() {
    let f = trained("predict");
    let mut images = Vec::new();
    for class in ["red", "blue"] {
        for i in 0..5 {
            images.push((class, f.dir.join(format!("data/{class}/{i}.png"))));
        }
    }
    let mut args = vec!["predict", "--backend", "cpu", "--json"];
    let image_args: Vec<&str> = images.iter().map(|(_, p)| p.to_str().unwrap()).collect();
    args.extend(&image_args);
    let paths = model_args(&f);
    let refs: Vec<(&str, &Path)> = paths.iter().map(|(k, p)| (*k, p.as_path())).collect();
    let lines = json_lines(&bpt_lab(&args, &refs));
    assert_eq!(lines.len(), 10);
    let mut right = 0;
    for (line, (truth, _)) in lines.iter().zip(&images) {
        let probs = line["probabilities"].as_object().unwrap();
        assert_eq!(probs.len(), 2);
        let sum: f64 = probs.values().map(|p| p.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{line}");
        let class = line["class"].as_str().unwrap();
        let best = probs
            .iter()
            .max_by(|a, b| a.1.as_f64().unwrap().total_cmp(&b.1.as_f64().unwrap()))
            .unwrap();
        assert_eq!(best.0, class);
        right += usize::from(class == *truth);
    }
    // On wgpu with the blocks' weights in f16 (lavapipe has shader-f16): the same
    // probabilities up to the weights' rounding (measured 1.6e-5 here; bound 1e-3).
    let mut args = vec![
        "predict",
        "--backend",
        "wgpu",
        "--weight-dtype",
        "f16",
        "--json",
    ];
    args.extend(&image_args);
    let half = json_lines(&bpt_lab(&args, &refs));
    assert_eq!(half.len(), lines.len());
    for (h, f) in half.iter().zip(&lines) {
        for (class, p) in f["probabilities"].as_object().unwrap() {
            let q = h["probabilities"][class].as_f64().unwrap();
            assert!((q - p.as_f64().unwrap()).abs() < 1e-3, "{h} against {f}");
        }
    }
    let text = bpt_lab(
        &["predict", "--backend", "cpu", "--top", "1", image_args[0]],
        &refs,
    );
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("0.png: ") && text.trim_end().ends_with('%'),
        "{text}"
    );

    let mut refs = refs.clone();
    let data = f.dir.join("data");
    refs.push(("--data", &data));
    let o = bpt_lab(&["evaluate", "--backend", "cpu", "--json"], &refs);
    assert!(o.status.success(), "{}", stderr(&o));
    let eval: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(eval["images"], 10);
    let confusion: Vec<Vec<u64>> = serde_json::from_value(eval["confusion"].clone()).unwrap();
    assert_eq!(confusion.iter().flatten().sum::<u64>(), 10);
    assert_eq!(
        confusion
            .iter()
            .map(|r| r.iter().sum::<u64>())
            .collect::<Vec<_>>(),
        [5, 5]
    );
    let correct = (confusion[0][0] + confusion[1][1]) as usize;
    assert_eq!(correct, right, "evaluate counts what predict predicts");
    assert!((eval["accuracy"].as_f64().unwrap() - right as f64 / 10.0).abs() < 1e-12);
    assert!(eval["loss"].as_f64().unwrap().is_finite());
}

#[test]
fn runs_and_folders_that_do_not_fit_are_refused_with_the_reason() {
    let f = trained("refuse");
    // Another model: width 24 instead of 16.
    let other = f.dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let config = r#"{"img_size":32,"patch_size":8,"embed_dim":24,"depth":2,"num_heads":2,"init_values":0.5}"#;
    std::fs::write(other.join("config.json"), config).unwrap();
    let c = bpt_lab::model::VitConfig::from_json(config).unwrap();
    let t = bpt_lab::model::random::random_timm_tensors(&c, 2, 0.3);
    std::fs::write(
        other.join("model.safetensors"),
        bpt_lab::model::checkpoint::to_safetensors(&t).unwrap(),
    )
    .unwrap();
    let image = f.dir.join("data/red/0.png");
    let run = f.out().join("run.safetensors");
    let o = bpt_lab(
        &["predict", "--backend", "cpu", image.to_str().unwrap()],
        &[
            ("--run", &run),
            ("--model", &other.join("model.safetensors")),
            ("--config", &other.join("config.json")),
        ],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("does not fit this model (24 wide") && err.contains("trained on"),
        "{err}"
    );

    // A folder with a class the run does not know, and one without a class the run has.
    let paths = model_args(&f);
    let mut refs: Vec<(&str, &Path)> = paths.iter().map(|(k, p)| (*k, p.as_path())).collect();
    f.images_in("odd", "red", 2, [180, 20, 20]);
    f.images_in("odd", "green", 2, [20, 180, 20]);
    let odd = f.dir.join("odd");
    refs.push(("--data", &odd));
    let o = bpt_lab(&["evaluate", "--backend", "cpu"], &refs);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("folders the run has no class for: green")
            && err.contains("run classes without a folder: blue"),
        "{err}"
    );
}

#[test]
fn a_run_file_for_another_model_is_refused_by_its_weights_hash() {
    // Two fixture models of the same shape (width 48, 2 blocks, patch 8): only the weights
    // hash the run file records tells them apart.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch");
    let image = fixtures.join("preprocess.png");
    let predict = |run: &str| {
        bpt_lab(
            &["predict", "--backend", "cpu", image.to_str().unwrap()],
            &[
                ("--run", &fixtures.join(run)),
                ("--model", &fixtures.join("timm_vit_ls.model.safetensors")),
                ("--config", &fixtures.join("timm_vit_ls.config.json")),
            ],
        )
    };
    let o = predict("run_timm_vpt.safetensors");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = predict("run_dinov2_vpt.safetensors");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("trained on hf_dinov2/model.safetensors") && err.contains("weights hash"),
        "{err}"
    );
}
