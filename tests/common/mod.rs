//! What the command-line tests share: a tiny random-weight ViT on disk and folders of tinted
//! noise PNGs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use bpt_lab::model::VitConfig;
use bpt_lab::model::checkpoint::to_safetensors;
use bpt_lab::model::random::random_timm_tensors;
use bpt_lab::rng::Rng;

const CONFIG: &str =
    r#"{"img_size":32,"patch_size":8,"embed_dim":16,"depth":2,"num_heads":2,"init_values":0.5}"#;

pub struct Fixture {
    pub dir: PathBuf,
}

impl Fixture {
    pub fn new(name: &str) -> Self {
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
    pub fn images(&self, class: &str, count: usize, tint: [u8; 3]) {
        self.images_in("data", class, count, tint);
    }

    /// `count` noise PNGs tinted `tint` under <folder>/<class>/.
    pub fn images_in(&self, folder: &str, class: &str, count: usize, tint: [u8; 3]) {
        let folder = self.dir.join(folder).join(class);
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

    /// `bpt-lab SUBCOMMAND --backend cpu --model <fixture> --config <fixture>`; add the rest.
    pub fn bpt_lab(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpt-lab"));
        cmd.args([subcommand, "--backend", "cpu"])
            .arg("--model")
            .arg(self.dir.join("model.safetensors"))
            .arg("--config")
            .arg(self.dir.join("config.json"));
        cmd
    }

    pub fn out(&self) -> PathBuf {
        self.dir.join("run")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
