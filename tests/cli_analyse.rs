//! `bpt-lab analyse` end to end on a tiny random-weight ViT: the JSON holds a summary of each
//! view whose figures agree with the dumped values, and bad input is refused.

use std::path::PathBuf;
use std::process::{Command, Output};

use bpt_lab::model::VitConfig;
use bpt_lab::model::checkpoint::{Checkpoint, to_safetensors};
use bpt_lab::model::random::random_timm_tensors;
use bpt_lab::rng::Rng;

const CONFIG: &str =
    r#"{"img_size":32,"patch_size":8,"embed_dim":16,"depth":2,"num_heads":2,"init_values":0.5}"#;

fn setup(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpt-lab-analyse-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data/all")).unwrap();
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();
    let config = VitConfig::from_json(CONFIG).unwrap();
    let tensors = random_timm_tensors(&config, 2, 0.3);
    std::fs::write(
        dir.join("model.safetensors"),
        to_safetensors(&tensors).unwrap(),
    )
    .unwrap();
    let mut rng = Rng::new(9);
    for i in 0..5 {
        let img = image::RgbImage::from_fn(40, 40, |_, _| {
            image::Rgb([
                (rng.uniform() * 255.0) as u8,
                90,
                (rng.uniform() * 255.0) as u8,
            ])
        });
        img.save(dir.join(format!("data/all/{i}.png"))).unwrap();
    }
    dir
}

fn analyse(dir: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpt-lab"))
        .args([
            "analyse",
            "--backend",
            "cpu",
            "--size",
            "32",
            "--bins",
            "64",
        ])
        .arg("--model")
        .arg(dir.join("model.safetensors"))
        .arg("--config")
        .arg(dir.join("config.json"))
        .arg("--data")
        .arg(dir.join("data"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn analyse_summarises_every_view_consistently_with_the_dump() {
    let dir = setup("ok");
    let out = dir.join("a.json");
    let dump = dir.join("v.safetensors");
    let o = analyse(
        &dir,
        &[
            "--block",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--dump",
            dump.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["block"], 1);
    assert_eq!(json["images"], 5);
    let views = Checkpoint::from_safetensors(&std::fs::read(&dump).unwrap()).unwrap();
    // 5 images x (1 + 16) tokens x 16 channels; W_q W_k^T is 16 x 16. The whitening is fitted
    // on images 1, 3 and 5 and applied to those and to the other two.
    assert_eq!(
        (json["fit_images"].clone(), json["held_out_images"].clone()),
        (3.into(), 2.into())
    );
    let mut checked = 0;
    for (prefix, key, len) in [
        ("", "x", 5 * 17 * 16),
        ("", "wq_wk", 256),
        ("", "x_tilde", 5 * 17 * 16),
        ("", "x_tilde_whitened", 3 * 17 * 16),
        ("", "x_tilde_whitened_held_out", 2 * 17 * 16),
        ("norm1.", "x", 5 * 17 * 16),
        ("norm1.", "x_tilde", 5 * 17 * 16),
        ("norm1.", "x_tilde_whitened", 3 * 17 * 16),
        ("norm1.", "x_tilde_whitened_held_out", 2 * 17 * 16),
    ] {
        let s = if prefix.is_empty() {
            &json[key]
        } else {
            &json["norm1"][key]
        };
        let key = format!("{prefix}{key}");
        assert_eq!(s["len"], len, "{key}");
        let values = &views.get(&key).unwrap().data;
        checked += 1;
        assert_eq!(values.len(), len);
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / len as f64;
        let got = s["mean"].as_f64().unwrap();
        let std = s["std"].as_f64().unwrap();
        assert!(
            (got - mean).abs() <= 1e-5 * std.max(1e-12) + 1e-9,
            "{key}: mean {got} vs {mean}"
        );
        let counts: u64 = s["histogram"]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(counts, len as u64, "{key}: every value in a bin");
        assert!(s["fits"]["generalized_gaussian"]["beta"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(
        checked,
        views.names().count(),
        "every dumped view is in the JSON"
    );
    // norm1's X is the LayerNorm of the block input: a different set of values.
    assert_ne!(
        views.get("x").unwrap().data,
        views.get("norm1.x").unwrap().data
    );

    // The whitening's diagnostics: Sigma's eigenvalues sum to its trace, the variance of the
    // fitting pictures' X~ (the dump holds them first: images 1, 3 and 5, then 2 and 4),
    // recomputed here from the dump.
    for (source, prefix) in [("block_input", ""), ("norm1", "norm1.")] {
        let w = &json["whitening"][source];
        let values: Vec<f64> = w["eigenvalues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(values.len(), 16, "{source}");
        assert!(
            values.windows(2).all(|p| p[0] >= p[1]),
            "{source}: largest first"
        );
        let xt = &views.get(&format!("{prefix}x_tilde")).unwrap().data;
        let rows: Vec<&[f32]> = xt
            .chunks(16)
            .enumerate()
            .filter(|(i, _)| i / 17 < 3)
            .map(|(_, r)| r)
            .collect();
        assert_eq!(rows.len(), 3 * 17);
        let n = rows.len() as f64;
        let trace: f64 = (0..16)
            .map(|j| {
                let mean = rows.iter().map(|r| r[j] as f64).sum::<f64>() / n;
                rows.iter()
                    .map(|r| (r[j] as f64 - mean).powi(2))
                    .sum::<f64>()
                    / n
            })
            .sum();
        let sum: f64 = values.iter().sum();
        assert!(
            (sum - trace).abs() < 1e-3 * trace,
            "{source}: {sum} vs {trace}"
        );
        // k: the fewest top eigenvalues that reach 90% of the trace.
        let k = w["k"].as_u64().unwrap() as usize;
        let top = |k: usize| values[..k].iter().sum::<f64>();
        assert!(
            top(k) >= 0.9 * sum && (k == 1 || top(k - 1) < 0.9 * sum),
            "{source}: k {k}"
        );
        let share = |v: &serde_json::Value| v.as_f64().unwrap();
        assert!((0.0..=1.0).contains(&share(&w["vpt_share"])));
        let per_eps = w["fwhiten_share"].as_array().unwrap();
        assert_eq!(per_eps.len(), 3, "one share per epsilon (1e-5, 1e-3, 1e-1)");
        for e in per_eps {
            assert!((0.0..=1.0).contains(&share(&e["share"])), "{e}");
        }
    }
}

#[test]
fn a_block_out_of_range_is_refused() {
    let dir = setup("bad");
    let o = analyse(&dir, &["--block", "2"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("block 2: the model has blocks 0 to 1"));
}
