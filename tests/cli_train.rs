//! `bpt-lab train` end to end on a tiny random-weight ViT and folders of PNGs: metrics and run
//! file written, and bad input refused with a message that names it and nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bpt_lab::model::VitConfig;
use bpt_lab::model::checkpoint::{Checkpoint, to_safetensors};
use bpt_lab::model::random::random_timm_tensors;
use bpt_lab::rng::Rng;

const CONFIG: &str =
    r#"{"img_size":32,"patch_size":8,"embed_dim":16,"depth":2,"num_heads":2,"init_values":0.5}"#;

struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bpt-lab-train-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = VitConfig::from_json(CONFIG).unwrap();
        std::fs::write(dir.join("config.json"), CONFIG).unwrap();
        let tensors = random_timm_tensors(&config, 1, 0.3);
        std::fs::write(
            dir.join("model.safetensors"),
            to_safetensors(&tensors).unwrap(),
        )
        .unwrap();
        Self { dir }
    }

    /// `count` noise PNGs tinted by class under data/<class>/.
    fn images(&self, class: &str, count: usize, tint: [u8; 3]) {
        let folder = self.dir.join("data").join(class);
        std::fs::create_dir_all(&folder).unwrap();
        let mut rng = Rng::new(count as u64 + tint[0] as u64);
        for i in 0..count {
            let img = image::RgbImage::from_fn(36, 30, |_, _| {
                let n = (rng.uniform() * 60.0) as u8;
                image::Rgb([
                    tint[0].saturating_add(n),
                    tint[1].saturating_add(n),
                    tint[2].saturating_add(n),
                ])
            });
            img.save(folder.join(format!("{i}.png"))).unwrap();
        }
    }

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

    fn out(&self) -> PathBuf {
        self.dir.join("run")
    }
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
