//! `bpt-lab train` end to end on a tiny random-weight ViT and folders of PNGs: metrics and run
//! file written, and bad input refused with a message that names it and nothing written.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use bpt_lab::model::checkpoint::Checkpoint;
use common::Fixture;

trait Train {
    fn train(&self, extra: &[&str]) -> Output;
}

impl Train for Fixture {
    fn train(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_bpt-lab"))
            .args(["train", "--backend", "cpu", "--epochs", "2", "--batch", "4"])
            .args(if extra.contains(&"--size") {
                &[][..]
            } else {
                &["--size", "32"][..]
            })
            .args(["--prompts", "3", "--rank", "4", "--whiten-images", "8"])
            .arg("--model")
            .arg(self.dir.join("model.safetensors"))
            .arg("--config")
            .arg(self.dir.join("config.json"))
            .arg("--data")
            .arg(self.dir.join("data"))
            .arg("--out")
            .arg(self.out())
            .args(extra)
            .output()
            .unwrap()
    }
}

/// The `bpt_lab` metadata of the run file `train` wrote.
fn run_metadata(f: &Fixture) -> serde_json::Value {
    let bytes = std::fs::read(f.out().join("run.safetensors")).unwrap();
    let meta = bpt_lab::model::checkpoint::read_metadata(&bytes).unwrap();
    serde_json::from_str(&meta["bpt_lab"]).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn nothing_written(out: &Path) {
    for name in ["metrics.jsonl", "run.safetensors"] {
        assert!(
            !out.join(name).exists(),
            "{name} should not exist after a failure"
        );
    }
}

#[test]
fn train_writes_metrics_per_epoch_and_a_run_file() {
    let f = Fixture::new("ok");
    f.images("red", 5, [180, 20, 20]);
    f.images("blue", 5, [20, 20, 180]);
    std::fs::write(f.dir.join("data/red/notes.txt"), "not an image").unwrap();
    let o = f.train(&["--method", "bpt-bilinear"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 files without an image extension skipped"),
        "{}",
        stderr(&o)
    );
    let metrics = std::fs::read_to_string(f.out().join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (k, line) in lines.iter().enumerate() {
        assert_eq!(line["epoch"], k + 1);
        let acc = line["test_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
        assert!(line["train_loss"].as_f64().unwrap().is_finite());
    }
    let run =
        Checkpoint::from_safetensors(&std::fs::read(f.out().join("run.safetensors")).unwrap())
            .unwrap();
    assert_eq!(run.get("prompt.0.a").unwrap().shape, vec![3, 4]);
    assert_eq!(run.get("prompt.0.b").unwrap().shape, vec![16, 4]);
    assert_eq!(run.get("head.weight").unwrap().shape, vec![2, 16]);
}

#[test]
fn an_unreadable_image_is_named_and_nothing_is_written() {
    let f = Fixture::new("corrupt");
    f.images("red", 3, [180, 20, 20]);
    f.images("blue", 3, [20, 20, 180]);
    std::fs::write(
        f.dir.join("data/blue/broken.jpg"),
        b"\xff\xd8 not really a jpeg",
    )
    .unwrap();
    let o = f.train(&[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("broken.jpg"), "{}", stderr(&o));
    nothing_written(&f.out());
}

#[test]
fn too_few_images_an_empty_class_or_a_bad_size_are_refused() {
    let f = Fixture::new("few");
    f.images("red", 3, [180, 20, 20]);
    f.images("blue", 1, [20, 20, 180]);
    let o = f.train(&[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("class \"blue\" has 1 image"),
        "{}",
        stderr(&o)
    );
    nothing_written(&f.out());

    std::fs::remove_dir_all(f.dir.join("data/blue")).unwrap();
    std::fs::create_dir_all(f.dir.join("data/blue")).unwrap();
    let o = f.train(&[]);
    assert!(
        stderr(&o).contains("class \"blue\" has 0 image"),
        "{}",
        stderr(&o)
    );
    nothing_written(&f.out());

    f.images("blue", 3, [20, 20, 180]);
    let o = f.train(&["--size", "36"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a positive multiple of the patch size 8"),
        "{}",
        stderr(&o)
    );
    nothing_written(&f.out());
}

#[test]
fn head_only_trains_the_head_and_writes_no_prompt_tensors() {
    let f = Fixture::new("head");
    f.images("red", 5, [180, 20, 20]);
    f.images("blue", 5, [20, 20, 180]);
    let o = f.train(&["--method", "head", "--lr", "0.05"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("0 trainable prompt values"),
        "{}",
        stderr(&o)
    );
    let run =
        Checkpoint::from_safetensors(&std::fs::read(f.out().join("run.safetensors")).unwrap())
            .unwrap();
    let names: Vec<&str> = run.names().collect();
    assert!(names.iter().all(|n| n.starts_with("head.")), "{names:?}");
    let meta = run_metadata(&f);
    assert_eq!(meta["method"], "head");
    assert_eq!(meta["num_prompts"], 0);
    // Head-only runs give the head the run's rate; the model is named, not located.
    assert_eq!(meta["train"]["lr"], 0.05);
    assert!(
        !meta["model"].as_str().unwrap().starts_with('/'),
        "{}",
        meta["model"]
    );
}

#[test]
fn a_warm_up_as_long_as_the_run_is_refused_and_a_recipe_gives_way_to_flags() {
    let f = Fixture::new("warmup");
    f.images("red", 5, [180, 20, 20]);
    f.images("blue", 5, [20, 20, 180]);
    let o = f.train(&["--warmup", "2"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--warmup 2 must be below --epochs 2"),
        "{}",
        stderr(&o)
    );
    nothing_written(&f.out());
    let o = f.train(&["--recipe", "mocov3"]);
    assert!(
        stderr(&o).contains("unknown recipe \"mocov3\""),
        "{}",
        stderr(&o)
    );

    // The moco preset: lr 5e-2, Xavier B (no whitening estimate), wd_head 0.1; --lr overrides.
    let o = f.train(&[
        "--recipe",
        "moco",
        "--lr",
        "0.02",
        "--method",
        "bpt-bilinear",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let meta = run_metadata(&f);
    assert_eq!(meta["train"]["lr"], 0.02);
    assert_eq!(meta["train"]["weight_decay_head"], 0.1);
    assert_eq!(meta["train"]["optimizer"], "adamw");
    assert_eq!(meta["whitening"]["used"], false);
    let o = f.train(&["--recipe", "vpt", "--method", "vpt"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let meta = run_metadata(&f);
    assert_eq!(meta["train"]["optimizer"], "sgd");
    assert_eq!(meta["train"]["lr"], 0.01);
    // The training views and the whitened side are recorded with the run.
    assert_eq!(
        (
            meta["train"]["augment"].clone(),
            meta["train"]["crop_scale"].clone()
        ),
        ("crop-flip".into(), 0.08.into())
    );
    let o = f.train(&[
        "--method",
        "bpt-fwhiten",
        "--augment",
        "none",
        "--crop-scale",
        "0.5",
        "--whiten-side",
        "key",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let meta = run_metadata(&f);
    assert_eq!(meta["train"]["augment"], "none");
    assert_eq!(meta["train"]["crop_scale"], 0.5);
    assert_eq!(meta["whitening"]["side"], "key");
    let o = f.train(&["--crop-scale", "0"]);
    assert!(
        !o.status.success() && stderr(&o).contains("crop scale 0 must be above 0"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn method_and_b_init_flags_list_the_engine_names_and_refuse_others_with_them() {
    let bpt_lab = || Command::new(env!("CARGO_BIN_EXE_bpt-lab"));
    let help = bpt_lab().args(["train", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("[possible values: head, vpt, bpt-fwhiten, bpt-twhiten, bpt-bilinear]"),
        "{help}"
    );
    assert!(help.contains("[possible values: whiten, xavier]"), "{help}");
    for (flag, value, message) in [
        (
            "--method",
            "VPT",
            "invalid value 'VPT' for '--method <METHOD>': unknown method \"VPT\" (one of head, \
             vpt, bpt-fwhiten, bpt-twhiten, bpt-bilinear)",
        ),
        (
            "--b-init",
            "zeros",
            "invalid value 'zeros' for '--b-init <B_INIT>': unknown B init \"zeros\" (whiten or \
             xavier)",
        ),
    ] {
        let o = bpt_lab()
            .args(["train", flag, value, "--model", "m", "--data", "d"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "clap's usage error");
        assert!(stderr(&o).contains(message), "{}", stderr(&o));
    }
}
