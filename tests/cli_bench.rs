//! `bpt-lab bench forward` end to end on the tiny random model and the CPU backend: it runs and
//! prints JSON with a positive, finite throughput per case. No timing is asserted.

use std::process::Command;

use serde_json::Value;

#[test]
fn bench_forward_prints_json_with_a_positive_throughput_per_case() {
    let run = Command::new(env!("CARGO_BIN_EXE_bpt-lab"))
        .args([
            "bench",
            "forward",
            "--model",
            "tiny",
            "--backend",
            "cpu",
            "--batch",
            "1,2",
            "--size",
            "32",
            "--iters",
            "2",
            "--warmup",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let doc: Value = serde_json::from_slice(&run.stdout).expect("stdout is one JSON document");
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
