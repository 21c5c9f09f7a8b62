//! `bpt-lab bench forward` end to end on the tiny random model, on the CPU backend and on wgpu
//! (lavapipe in CI) with each choice of ops: it runs and prints JSON with a positive, finite
//! throughput per case. No timing is asserted.

use std::process::Command;

use serde_json::Value;

/// `bpt-lab bench forward --model tiny --size 32 --json` with `args`: its one JSON document.
fn bench_forward(args: &[&str]) -> Value {
    let run = Command::new(env!("CARGO_BIN_EXE_bpt-lab"))
        .args([
            "bench", "forward", "--model", "tiny", "--size", "32", "--json",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).expect("stdout is one JSON document")
}

#[test]
fn bench_forward_prints_json_with_a_positive_throughput_per_case() {
    let doc = bench_forward(&[
        "--backend",
        "cpu",
        "--batch",
        "1,2",
        "--iters",
        "2",
        "--warmup",
        "1",
    ]);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (r, batch) in results.iter().zip([1, 2]) {
        assert_eq!(r["model"], "tiny");
        assert_eq!(r["backend"], "cpu");
        assert_eq!(r["batch"], batch);
        assert_eq!(r["iters"], 2);
        let throughput = r["images_per_s"].as_f64().unwrap();
        assert!(throughput.is_finite() && throughput > 0.0, "{r}");
        let ms = r["ms_per_batch_median"].as_f64().unwrap();
        assert!(ms.is_finite() && ms > 0.0, "{r}");
    }
}

#[test]
fn bench_forward_on_wgpu_runs_each_choice_of_ops_as_a_case() {
    let doc = bench_forward(&[
        "--backend",
        "wgpu",
        "--ops",
        "ours,ours-f16,burn",
        "--batch",
        "1",
        "--iters",
        "1",
        "--warmup",
        "0",
    ]);
    let backends: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let throughput = r["images_per_s"].as_f64().unwrap();
            assert!(throughput.is_finite() && throughput > 0.0, "{r}");
            r["backend"].as_str().unwrap()
        })
        .collect();
    // lavapipe has shader-f16, so ours-f16 runs there.
    assert_eq!(backends, ["wgpu", "wgpu/f16-weights", "wgpu/burn-ops"]);
}

#[test]
fn bench_forward_rejects_a_size_that_is_not_a_multiple_of_the_patch() {
    let run = Command::new(env!("CARGO_BIN_EXE_bpt-lab"))
        .args([
            "bench",
            "forward",
            "--model",
            "tiny",
            "--backend",
            "cpu",
            "--size",
            "30",
        ])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("patch size 8"));
}

#[test]
fn bench_train_step_prints_json_with_a_positive_time_per_image() {
    use bpt_lab::model::VitConfig;
    use bpt_lab::model::checkpoint::to_safetensors;
    use bpt_lab::model::random::random_timm_tensors;
    const CONFIG: &str = r#"{"img_size":32,"patch_size":8,"embed_dim":16,"depth":2,"num_heads":2,"init_values":0.5}"#;
    let dir = std::env::temp_dir().join(format!("bpt-lab-bench-step-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();
    let tensors = random_timm_tensors(&VitConfig::from_json(CONFIG).unwrap(), 1, 0.3);
    std::fs::write(
        dir.join("model.safetensors"),
        to_safetensors(&tensors).unwrap(),
    )
    .unwrap();
    for method in ["vpt", "bpt-bilinear"] {
        let run = Command::new(env!("CARGO_BIN_EXE_bpt-lab"))
            .args([
                "bench",
                "train-step",
                "--size",
                "32",
                "--batch",
                "4",
                "--prompts",
                "3",
            ])
            .args([
                "--rank", "4", "--iters", "2", "--warmup", "1", "--json", "--method", method,
            ])
            .arg("--model-dir")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let doc: Value = serde_json::from_slice(&run.stdout).expect("one JSON object");
        assert_eq!(doc["method"], method);
        assert_eq!(doc["iters"], 2);
        let ms = doc["ms_per_image"].as_f64().unwrap();
        assert!(ms.is_finite() && ms > 0.0, "{ms}");
    }
}
