//! `bpt-lab compare` end to end on a tiny random-weight ViT: the table, the JSON and the SVG
//! are written, seeds are paired across methods, and the learning rate is chosen on validation
//! only: the held-out folder has its labels swapped, so its best rate is the worst one on
//! validation, and a choice made on held-out images would pick it.

mod common;

use std::process::Command;

use common::Fixture;

#[test]
fn compare_chooses_rates_on_validation_and_writes_table_json_and_plot() {
    let f = Fixture::new("compare");
    f.images("red", 8, [180, 20, 20]);
    f.images("blue", 8, [20, 20, 180]);
    // Held-out images with the colours swapped: whatever learns the training data is wrong here.
    f.images_in("test", "red", 4, [20, 20, 180]);
    f.images_in("test", "blue", 4, [180, 20, 20]);
    let o = f
        .bpt_lab("compare")
        .args([
            "--epochs",
            "3",
            "--batch",
            "4",
            "--size",
            "32",
            "--prompts",
            "2",
        ])
        .args([
            "--rank",
            "2",
            "--whiten-images",
            "8",
            "--methods",
            "head,vpt",
        ])
        .args([
            "--lrs",
            "1e-7,0.1",
            "--seeds",
            "0,1",
            "--validation",
            "0.25",
        ])
        .arg("--data")
        .arg(f.dir.join("data"))
        .arg("--test")
        .arg(f.dir.join("test"))
        .arg("--out")
        .arg(f.out())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("validation: 4 images"), "{stderr}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.out().join("compare.json")).unwrap())
            .unwrap();
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2 * 2 * 2);
    // Paired seeds: every (method, rate) ran seeds 0 and 1 on the same images.
    for method in ["head", "vpt"] {
        for lr in [1e-7, 0.1] {
            let mut seeds: Vec<u64> = cells
                .iter()
                .filter(|c| c["method"] == method && c["lr"] == lr)
                .map(|c| c["seed"].as_u64().unwrap())
                .collect();
            seeds.sort_unstable();
            assert_eq!(seeds, [0, 1], "{method} {lr}");
        }
    }
    assert_eq!(report["images"]["validation"], 4);
    assert_eq!(report["images"]["test"], 8);

    // Head-only's rate is the head's: 0.1 learns the colours (best on validation, worst on the
    // swapped held-out images); 1e-7 leaves the head where it started.
    let head = &report["summary"]["methods"][0];
    assert_eq!(head["method"], "head");
    let candidates = head["candidates"].as_array().unwrap();
    let val = |lr: f64| {
        candidates.iter().find(|c| c["lr"] == lr).unwrap()["validation_accuracy"]
            .as_f64()
            .unwrap()
    };
    assert!(val(0.1) > val(1e-7), "{candidates:?}");
    assert_eq!(head["lr"], 0.1, "chosen on validation");
    let last = head["last"]["mean"].as_f64().unwrap();
    assert!(
        last < 0.5,
        "the swapped held-out set is learnt backwards: {last}"
    );
    let slow = cells
        .iter()
        .filter(|c| c["method"] == "head" && c["lr"] == 1e-7)
        .map(|c| {
            c["history"].as_array().unwrap().last().unwrap()["test_accuracy"]
                .as_f64()
                .unwrap()
        })
        .sum::<f64>()
        / 2.0;
    assert!(
        slow > last,
        "the held-out optimum is the other rate ({slow} vs {last})"
    );

    // VPT against head-only, paired by seed, and the 20% mark (12 images, batch 4: ceil(9 / 5) = 2 of 9 steps).
    let vpt = &report["summary"]["methods"][1];
    assert!(vpt["minus_head"].is_array(), "{vpt}");
    assert!(vpt["minus_vpt"].is_null());
    assert_eq!(vpt["early_step"], 2);
    assert_eq!(vpt["curve"].as_array().unwrap().len(), 3);

    let md = std::fs::read_to_string(f.out().join("compare.md")).unwrap();
    assert!(
        md.contains("| method | lr (chosen on validation) |"),
        "{md}"
    );
    assert!(
        md.contains("| head | 1e-1 |") && md.contains("| vpt |"),
        "{md}"
    );
    let svg = std::fs::read_to_string(f.out().join("compare.svg")).unwrap();
    assert_eq!(svg.matches("<polygon").count(), 2);
    assert!(!svg.contains("NaN"));

    // --replot summarises the stored cells again, training nothing: the same table and plot.
    let again = f.dir.join("again");
    let o = Command::new(env!("CARGO_BIN_EXE_bpt-lab"))
        .args(["compare", "--replot"])
        .arg(f.out().join("compare.json"))
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(again.join("compare.md")).unwrap(),
        md
    );
    assert_eq!(
        std::fs::read_to_string(again.join("compare.svg")).unwrap(),
        svg
    );
}
