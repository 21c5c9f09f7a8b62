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
            "--head-lrs",
            "1e-7,0.1",
            "--lrs",
            "0.1",
            "--seeds",
            "0,1",
            "--validation",
            "0.25",
            "--eval-every-epoch",
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
    assert!(
        stderr.contains("1 draw(s), each 12 training and 4 validation pictures"),
        "{stderr}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.out().join("compare.json")).unwrap())
            .unwrap();
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2 * 2 * 2);
    // Paired seeds: every (method, head rate) ran seeds 0 and 1 on the same images; the head
    // rate is an axis of both methods.
    for method in ["head", "vpt"] {
        for lr in [1e-7, 0.1] {
            let mut seeds: Vec<u64> = cells
                .iter()
                .filter(|c| c["method"] == method && c["lr_head"] == lr)
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
    assert!(vpt["minus_head"]["last"].is_object(), "{vpt}");
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
    assert_eq!(
        svg.matches("<polygon").count(),
        4,
        "accuracy and loss panels"
    );
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

/// Draws of the shots, evaluation at chosen fractions only, the training loss, the epsilon axis
/// and the whitening's diagnostics, through the command line.
#[test]
fn compare_draws_shots_records_losses_and_the_whitening_diagnostics() {
    let f = Fixture::new("compare-draws");
    f.images("red", 10, [180, 20, 20]);
    f.images("blue", 10, [20, 20, 180]);
    f.images_in("test", "red", 3, [180, 20, 20]);
    f.images_in("test", "blue", 3, [20, 20, 180]);
    let compare = |extra: &[&str]| {
        f.bpt_lab("compare")
            .args([
                "--epochs",
                "2",
                "--batch",
                "2",
                "--size",
                "32",
                "--prompts",
                "2",
            ])
            .args(["--whiten-images", "4", "--seeds", "0,1", "--lrs", "0.01"])
            .arg("--data")
            .arg(f.dir.join("data"))
            .arg("--test")
            .arg(f.dir.join("test"))
            .arg("--out")
            .arg(f.out())
            .args(extra)
            .output()
            .unwrap()
    };
    let o = compare(&[
        "--methods",
        "head,bpt-fwhiten",
        "--shots",
        "3",
        "--draws",
        "2",
        "--validation",
        "1",
        "--epsilons",
        "1e-5,1e-1",
        "--eval-at",
        "0.5",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("2 draw(s), each 6 training and 2 validation pictures; 6 held out"),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.out().join("compare.json")).unwrap())
            .unwrap();
    let cells = report["cells"].as_array().unwrap();
    // head: 2 draws x 2 seeds; fWhiten: 2 epsilons x 2 draws x 2 seeds.
    assert_eq!(cells.len(), 4 + 8);
    for c in cells {
        // 6 pictures, batch 2: 3 steps an epoch, 6 in all; evaluated at 3 (half) and 6 only.
        let steps: Vec<u64> = c["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["step"].as_u64().unwrap())
            .collect();
        assert_eq!(steps, [3, 6], "{c}");
        assert_eq!(
            c["train_loss"].as_array().unwrap().len(),
            2,
            "one mean per epoch"
        );
        assert!(c["train_loss_early"].as_f64().unwrap().is_finite());
        let whitened = c["method"] == "bpt-fwhiten";
        assert_eq!(c["diagnostics"].is_object(), whitened, "{c}");
        if whitened {
            let d = &c["diagnostics"];
            assert_eq!(d["eigenvalues"].as_array().unwrap().len(), 16);
            let k = d["k"].as_u64().unwrap();
            assert!((1..=16).contains(&k));
            for key in ["share_init", "share_end"] {
                let share = d[key].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&share), "{key} {share}");
            }
            assert!(c["epsilon"] == 1e-5 || c["epsilon"] == 0.1);
        }
    }
    // Every (method, epsilon) ran all four (draw, seed) pairs.
    for (method, eps) in [
        ("head", None),
        ("bpt-fwhiten", Some(1e-5)),
        ("bpt-fwhiten", Some(0.1)),
    ] {
        let mut pairs: Vec<(u64, u64)> = cells
            .iter()
            .filter(|c| c["method"] == method && eps.is_none_or(|e| c["epsilon"] == e))
            .map(|c| (c["draw"].as_u64().unwrap(), c["seed"].as_u64().unwrap()))
            .collect();
        pairs.sort_unstable();
        assert_eq!(pairs, [(0, 0), (0, 1), (1, 0), (1, 1)], "{method} {eps:?}");
    }
    // The draws are disjoint: the same seed trains on other pictures in draw 1, so its loss
    // differs from draw 0's.
    let loss = |draw: u64| {
        cells
            .iter()
            .find(|c| c["method"] == "head" && c["seed"] == 0 && c["draw"] == draw)
            .unwrap()["train_loss"][0]
            .as_f64()
            .unwrap()
    };
    assert_ne!(loss(0), loss(1));
    let fwhiten = &report["summary"]["methods"][1];
    assert_eq!(fwhiten["pairs"], 4);
    assert_eq!(fwhiten["candidates"].as_array().unwrap().len(), 2);
    // Evaluated at half the run and at the end, not at 20%: the end is differenced, the 20% mark
    // is not.
    assert!(fwhiten["minus_head"]["last"]["mean"].is_f64(), "{fwhiten}");
    assert!(fwhiten["minus_head"]["early"].is_null(), "{fwhiten}");
    assert!(
        fwhiten["loss_minus_head"]["early"]["mean"].is_f64(),
        "losses are kept every step"
    );
    assert!(fwhiten["whitening"]["share_init"]["mean"].is_f64());
    assert_eq!(fwhiten["at_steps"].as_array().unwrap().len(), 2);
    assert_eq!(report["images"]["validation"], 2);
    let md = std::fs::read_to_string(f.out().join("compare.md")).unwrap();
    assert!(md.contains("| method | loss after 20% of steps |"), "{md}");
    assert!(md.contains("The whitening (block 0)"), "{md}");
    assert!(
        md.contains("(2 draws x 2 seeds)") || md.contains("over 2 draws x 2 seeds"),
        "{md}"
    );

    // Draws need shots, and enough pictures for every draw.
    let o = compare(&["--methods", "head", "--draws", "2"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("--draws 2 needs --shots N"),
        "{stderr}"
    );
    let o = compare(&[
        "--methods",
        "head",
        "--draws",
        "3",
        "--shots",
        "3",
        "--validation",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && stderr.contains("has 10 training pictures")
            && stderr.contains("need 12"),
        "{stderr}"
    );
}
