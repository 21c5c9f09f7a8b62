//! The prompt-tuning engine on a tiny random-weight ViT: gradients against finite differences,
//! a few steps that reduce the loss on the CPU backend and on wgpu, the whitening, and the run
//! file round trip.

use std::sync::Arc;

use bpt_lab::gpu::GpuContext;
use bpt_lab::model::checkpoint::{Checkpoint, HostTensor};
use bpt_lab::model::load::load_vit;
use bpt_lab::model::random::random_timm_tensors;
use bpt_lab::model::vit::{Prompts, Trace};
use bpt_lab::model::{Backbone, VitConfig};
use bpt_lab::prompt::{Method, PromptConfig};
use bpt_lab::rng::Rng;
use bpt_lab::train::data::batch;
use bpt_lab::train::{Augment, Dataset, RgbImage, Sample, Session, TrainConfig, export};
use bpt_lab::whiten::{Accumulator, Estimator, Source, Views, WhitenConfig, qk_product, x_tilde};
use burn::tensor::{Device, Tensor, TensorData};

const SIZE: usize = 32;

fn backbone(device: &Device) -> Arc<Backbone> {
    Arc::new(plain_backbone(device))
}

fn plain_backbone(device: &Device) -> Backbone {
    let config = VitConfig::from_json(
        r#"{"img_size":32,"patch_size":8,"embed_dim":16,"depth":2,"num_heads":2,"init_values":0.5}"#,
    )
    .unwrap();
    let mut ck = Checkpoint::from_tensors(random_timm_tensors(&config, 11, 0.3));
    let loaded = load_vit(&mut ck, &config, device).unwrap();
    Backbone::from_loaded(loaded, config)
}

/// Two classes of noise images: class 0 reddish, class 1 bluish.
fn dataset(per_class: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut samples = Vec::new();
    for label in 0..2 {
        for i in 0..per_class {
            let pixels = (0..40 * 40)
                .flat_map(|_| {
                    let base = (rng.uniform() * 120.0) as u8;
                    let tint = 100 + (rng.uniform() * 80.0) as u8;
                    if label == 0 {
                        [tint, base, base]
                    } else {
                        [base, base, tint]
                    }
                })
                .collect();
            let image = Arc::new(RgbImage {
                width: 40,
                height: 40,
                pixels,
            });
            samples.push(Sample {
                image,
                label,
                name: format!("{label}-{i}"),
            });
        }
    }
    Dataset::split(vec!["red".into(), "blue".into()], samples, 0.25, seed).unwrap()
}

fn train_config() -> TrainConfig {
    TrainConfig {
        epochs: 4,
        batch: 4,
        lr: 0.05,
        warmup_epochs: 1,
        size: SIZE,
        seed: 3,
        ..TrainConfig::default()
    }
}

fn prompt_config(method: Method, deep: bool) -> PromptConfig {
    PromptConfig {
        num_prompts: 3,
        rank: 4,
        ..PromptConfig::paper(method, deep)
    }
}

fn session(method: Method, deep: bool, data: &Dataset, device: &Device) -> Session {
    session_on(backbone(device), method, deep, data, device)
}

fn session_on(
    backbone: Arc<Backbone>,
    method: Method,
    deep: bool,
    data: &Dataset,
    device: &Device,
) -> Session {
    let whiten = WhitenConfig {
        max_images: 12,
        ..WhitenConfig::default()
    };
    pollster::block_on(Session::new(
        backbone,
        prompt_config(method, deep),
        train_config(),
        whiten,
        data,
        device,
    ))
    .unwrap_or_else(|e| panic!("{}: {e}", method.name()))
}

fn fixed_batch(data: &Dataset, s: &Session, device: &Device) -> (Tensor<4>, Vec<usize>) {
    let chosen: Vec<&Sample> = data.train.iter().take(4).collect();
    batch(&chosen, &s.model.transform, None, device)
}

/// The k-th parameter in the order of `Session::gradients`: prompt factors, head weight, bias.
fn factor_mut(s: &mut Session, k: usize) -> &mut bpt_lab::prompt::Factor {
    let n = s.model.prompts.factors().count();
    match k.cmp(&n) {
        std::cmp::Ordering::Less => s.model.prompts.factors_mut().nth(k).unwrap(),
        std::cmp::Ordering::Equal => &mut s.model.head.weight,
        std::cmp::Ordering::Greater => &mut s.model.head.bias,
    }
}

/// Central differences of the loss in f32 on a few entries of every trainable factor.
#[test]
fn gradients_match_finite_differences_for_every_method() {
    let device = Device::flex();
    let data = dataset(6, 1);
    for (method, deep) in [
        (Method::Vpt, false),
        (Method::BptFWhiten, false),
        (Method::BptTWhiten, false),
        (Method::BptBilinear, false),
        (Method::BptBilinear, true),
    ] {
        let mut s = session(method, deep, &data, &device);
        let (images, labels) = fixed_batch(&data, &s, &device);
        let grads = pollster::block_on(s.gradients(images.clone(), &labels)).unwrap();
        let mut slot = 0;
        let n_factors = s.model.prompts.factors().count();
        for k in 0..n_factors + 2 {
            let factor = factor_mut(&mut s, k);
            if !factor.trainable {
                continue;
            }
            let original = pollster::block_on(HostTensor::read(factor.value.clone())).unwrap();
            let grad = &grads[slot];
            slot += 1;
            assert_eq!(grad.shape, original.shape);
            // Small enough that P~ = P W stays in the linear regime: this random model's W
            // scales some directions by ~80 (its X~ covariance is nearly singular), so a step of
            // 1e-2 in P moved P~ by up to 0.8 and the difference quotient lost its sign. f32
            // noise in the loss (~1e-7) over 2h stays below 1e-4, far inside the tolerance.
            let h = 1e-3f32;
            for idx in [0, original.data.len() / 2, original.data.len() - 1] {
                let mut loss_at = |delta: f32| {
                    let mut data = original.data.clone();
                    data[idx] += delta;
                    let f = factor_mut(&mut s, k);
                    let dims: [usize; 2] = original.shape.clone().try_into().unwrap();
                    f.value = Tensor::from_data(TensorData::new(data, dims), &device);
                    pollster::block_on(s.loss(images.clone(), &labels)).unwrap()
                };
                let numeric = (loss_at(h) - loss_at(-h)) / (2.0 * h);
                let analytic = grad.data[idx];
                // f32 losses near 0.7 carry ~1e-7 relative noise; /2h makes it ~4e-6 absolute.
                let tol = 2e-3 + 0.05 * analytic.abs();
                assert!(
                    (numeric - analytic).abs() <= tol,
                    "{} deep={deep} factor {k} entry {idx}: numeric {numeric} vs autodiff {analytic}",
                    method.name()
                );
                loss_at(0.0);
            }
        }
        assert_eq!(
            slot,
            grads.len(),
            "{}: one gradient per trainable factor",
            method.name()
        );
    }
}

fn loss_falls(device: &Device, methods: &[(Method, bool)]) {
    loss_falls_on(|| backbone(device), device, methods);
}

fn loss_falls_on(make: impl Fn() -> Arc<Backbone>, device: &Device, methods: &[(Method, bool)]) {
    let data = dataset(8, 2);
    for &(method, deep) in methods {
        let mut s = session_on(make(), method, deep, &data, device);
        let (images, labels) = fixed_batch(&data, &s, device);
        let before = pollster::block_on(s.loss(images.clone(), &labels)).unwrap();
        while !s.finished() {
            for batch in s.epoch_batches(data.train.len()) {
                let stats = pollster::block_on(s.step(&data.train, &batch)).unwrap();
                assert!(
                    stats.loss.is_finite(),
                    "{}: loss {}",
                    method.name(),
                    stats.loss
                );
            }
        }
        let after = pollster::block_on(s.loss(images, &labels)).unwrap();
        assert!(
            after < 0.8 * before,
            "{} deep={deep}: loss {before} -> {after}",
            method.name()
        );
    }
}

#[test]
fn a_few_steps_reduce_the_loss_on_the_cpu_backend() {
    loss_falls(
        &Device::flex(),
        &[
            (Method::Head, false),
            (Method::Vpt, false),
            (Method::Vpt, true),
            (Method::BptFWhiten, false),
            (Method::BptTWhiten, false),
            (Method::BptBilinear, false),
            (Method::BptBilinear, true),
        ],
    );
}

#[test]
fn a_few_steps_reduce_the_loss_on_wgpu() {
    let ctx = pollster::block_on(GpuContext::new())
        .unwrap_or_else(|e| panic!("needs a wgpu adapter (lavapipe in CI): {e}"));
    loss_falls(
        ctx.burn_device(),
        &[(Method::Vpt, false), (Method::BptBilinear, true)],
    );
}

#[test]
fn a_few_steps_reduce_the_loss_on_wgpu_with_f16_weights() {
    let ctx = pollster::block_on(GpuContext::new())
        .unwrap_or_else(|e| panic!("needs a wgpu adapter (lavapipe in CI): {e}"));
    let device = ctx.burn_device();
    let f16 = || {
        let mut b = plain_backbone(device);
        pollster::block_on(ctx.store_f16(&mut b.vit)).expect("lavapipe has shader-f16");
        assert_eq!(b.vit.linear_weight_dtype(), burn::tensor::DType::F16);
        Arc::new(b)
    };
    // The whitening reads W_q and W_k from the f16 weights (BPT-fwhiten), the prompts'
    // gradients flow back through the f16 kernels (VPT deep, BPT-bilinear).
    loss_falls_on(
        f16,
        device,
        &[
            (Method::Vpt, true),
            (Method::BptFWhiten, false),
            (Method::BptBilinear, false),
        ],
    );
}

/// Rows of X~ (one per token) of `n` augmented images from `data`.
fn x_tilde_rows(b: &Backbone, data: &[Sample], seed: u64, device: &Device) -> (Vec<f64>, usize) {
    let transform = bpt_lab::train::Transform::imagenet(SIZE);
    let mut rng = Rng::new(seed);
    let chosen: Vec<&Sample> = data.iter().collect();
    let (images, _) = batch(&chosen, &transform, Some(&mut rng), device);
    let mut trace = Trace::default();
    let pos = b.pos_embed(SIZE, SIZE, device).unwrap();
    let _ = b
        .vit
        .forward_tokens(b.vit.embed(images, pos), &Prompts::None, Some(&mut trace));
    let xt = x_tilde(
        trace.block_inputs[0].clone(),
        qk_product(&b.vit.blocks[0].attn),
    );
    let host = pollster::block_on(HostTensor::read(xt)).unwrap();
    let d = host.shape[2];
    (host.data.iter().map(|&v| v as f64).collect(), d)
}

fn covariance(rows: &[f64], d: usize, w: Option<&[f32]>) -> Vec<f64> {
    let rows: Vec<Vec<f64>> = rows
        .chunks(d)
        .map(|r| match w {
            Some(w) => (0..d)
                .map(|i| (0..d).map(|j| w[i * d + j] as f64 * r[j]).sum())
                .collect(),
            None => r.to_vec(),
        })
        .collect();
    let n = rows.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|i| rows.iter().map(|r| r[i]).sum::<f64>() / n)
        .collect();
    let mut cov = vec![0.0; d * d];
    for r in &rows {
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += (r[i] - mean[i]) * (r[j] - mean[j]) / n;
            }
        }
    }
    cov
}

fn distance_to_identity(cov: &[f64], d: usize) -> f64 {
    (0..d * d)
        .map(|k| (cov[k] - if k / d == k % d { 1.0 } else { 0.0 }).abs())
        .fold(0.0, f64::max)
}

#[test]
fn whitened_x_tilde_of_held_out_images_has_near_identity_covariance() {
    let device = Device::flex();
    let b = backbone(&device);
    let data = dataset(200, 5);
    // Statistics from the training images, checked on different images and crops.
    let mut acc = Accumulator::new(&b, vec![0], Source::BlockInput);
    let transform = bpt_lab::train::Transform::imagenet(SIZE);
    let mut rng = Rng::new(8);
    for chunk in data.train.chunks(16) {
        let chosen: Vec<&Sample> = chunk.iter().collect();
        let (images, _) = batch(&chosen, &transform, Some(&mut rng), &device);
        let mut trace = Trace::default();
        let pos = b.pos_embed(SIZE, SIZE, &device).unwrap();
        let _ = b
            .vit
            .forward_tokens(b.vit.embed(images, pos), &Prompts::None, Some(&mut trace));
        acc.add(&trace).unwrap();
    }
    // No regulariser: this random model's W_q W_k^T is nearly singular (its smallest X~
    // eigenvalue is ~1e-7 of the largest), and the default epsilon (1e-5 of the mean
    // eigenvalue) deliberately leaves such a direction unamplified.
    let config = WhitenConfig {
        estimator: Estimator::Centred,
        epsilon: 0.0,
        ..WhitenConfig::default()
    };
    let w = pollster::block_on(acc.finish(&config)).unwrap().remove(0);
    let (rows, d) = x_tilde_rows(&b, &data.test, 99, &device);
    assert!(rows.len() / d >= 100 * 17, "enough held-out tokens");
    let raw = distance_to_identity(&covariance(&rows, d, None), d);
    let whitened = distance_to_identity(&covariance(&rows, d, Some(&w.matrix.data)), d);
    // 300 training and 100 held-out images of 17 tokens in 16 dimensions: each covariance entry
    // carries a sampling error of about 1/sqrt(1700) from either side; 0.25 is the largest of the
    // 256 entries with room to spare.
    assert!(
        whitened < 0.25,
        "whitened covariance is {whitened} from the identity (raw: {raw})"
    );
    assert!(
        raw > 1.0,
        "the raw covariance should be far from the identity, got {raw}"
    );
}

#[test]
fn a_run_file_round_trips_and_predicts_the_same() {
    let device = Device::flex();
    let data = dataset(6, 4);
    for (method, deep) in [
        (Method::Head, false),
        (Method::Vpt, true),
        (Method::BptFWhiten, false),
        (Method::BptBilinear, false),
    ] {
        let mut s = session(method, deep, &data, &device);
        let batch0 = s.epoch_batches(data.train.len()).remove(0);
        pollster::block_on(s.step(&data.train, &batch0)).unwrap();
        let bytes = pollster::block_on(export::to_safetensors(
            &s.model,
            serde_json::json!({"seed": 3}),
        ))
        .unwrap();
        let back = export::from_safetensors(&bytes, 16, &device).unwrap();
        assert_eq!(back.classes, s.model.classes);
        let (images, _) = fixed_batch(&data, &s, &device);
        let a = pollster::block_on(s.model.probabilities(s.backbone(), images.clone())).unwrap();
        let b = pollster::block_on(back.probabilities(s.backbone(), images)).unwrap();
        assert!(
            a.max_abs_diff(&b) < 1e-6,
            "{}: {}",
            method.name(),
            a.max_abs_diff(&b)
        );
        // The head is stored in PyTorch's [classes, D] layout.
        let file = Checkpoint::from_safetensors(&bytes).unwrap();
        assert_eq!(file.get("head.weight").unwrap().shape, vec![2, 16]);
        match method {
            Method::Head => assert!(file.get("prompt.0.tokens").is_none()),
            _ => assert_eq!(file.get("prompt.0.tokens").unwrap().shape, vec![3, 16]),
        }
    }
    let err = export::from_safetensors(b"not a file", 16, &device)
        .unwrap_err()
        .to_string();
    assert!(err.contains("safetensors"), "{err}");
}

#[test]
fn prompt_dropout_draws_a_mask_per_sample() {
    let device = Device::flex();
    let data = dataset(6, 5);
    // Deep VPT drops 10% of the prompt entries (the paper's default).
    let s = session(Method::Vpt, true, &data, &device);
    let masks = s.dropout_masks(2).expect("deep VPT has dropout");
    assert_eq!(masks.len(), 2, "one mask per block");
    let m = pollster::block_on(HostTensor::read(masks[0].clone())).unwrap();
    assert_eq!(m.shape, vec![2, 3, 16]);
    let (first, second) = m.data.split_at(3 * 16);
    assert_ne!(first, second, "the two samples drop different entries");
    let dropped = m.data.iter().filter(|&&v| v == 0.0).count();
    assert!(
        dropped > 0 && dropped < m.data.len() / 2,
        "{dropped} dropped"
    );
    assert!(
        session(Method::Vpt, false, &data, &device)
            .dropout_masks(2)
            .is_none()
    );
}

#[test]
fn evaluation_views_whiten_the_same_whatever_the_seed_and_training_views_do_not() {
    let device = Device::flex();
    let data = dataset(6, 6);
    let whitening = |views: Views, seed: u64| {
        let whiten = WhitenConfig {
            views,
            max_images: 100,
            ..WhitenConfig::default()
        };
        let s = pollster::block_on(Session::new(
            backbone(&device),
            prompt_config(Method::BptFWhiten, false),
            TrainConfig {
                seed,
                ..train_config()
            },
            whiten,
            &data,
            &device,
        ))
        .unwrap();
        let w = &s.whitening[0];
        (w.spectrum.values.clone(), w.images)
    };
    // The spectrum of Sigma (W itself is ill-conditioned along its smallest directions, where
    // the order of the f32 sums shows).
    let diff = |a: &[f64], b: &[f64]| {
        let top = a[0].abs().max(1e-30);
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / top)
            .fold(0.0, f64::max)
    };
    let (a, n) = whitening(Views::Eval, 1);
    let (b, _) = whitening(Views::Eval, 2);
    // Each training image once, not 100 repeats of the same views.
    assert_eq!(n, data.train.len());
    assert!(diff(&a, &b) < 1e-5, "{}", diff(&a, &b));
    let (c, n) = whitening(Views::Train, 1);
    let (d, _) = whitening(Views::Train, 2);
    assert_eq!(n, 100);
    assert!(
        diff(&c, &d) > 1e-3,
        "augmented views depend on the seed: {}",
        diff(&c, &d)
    );
}

#[test]
fn without_augmentation_a_step_trains_on_the_evaluation_views() {
    // The loss a step reports is its batch's loss before the update: on the evaluation views
    // with `Augment::None`, on random crops and flips otherwise.
    let device = Device::flex();
    let data = dataset(6, 2);
    let views_loss = |augment: Augment| {
        let mut s = pollster::block_on(Session::new(
            backbone(&device),
            prompt_config(Method::Vpt, false),
            TrainConfig {
                augment,
                crop_scale: 0.5,
                ..train_config()
            },
            WhitenConfig::default(),
            &data,
            &device,
        ))
        .unwrap();
        let chosen: Vec<&Sample> = data.train.iter().take(4).collect();
        let (images, labels) = batch(&chosen, &s.model.transform, None, &device);
        let eval = pollster::block_on(s.loss(images, &labels)).unwrap();
        let step = pollster::block_on(s.step(&data.train, &[0, 1, 2, 3])).unwrap();
        assert_eq!(
            s.model.transform.scale,
            (0.5, 1.0),
            "--crop-scale reaches the crops"
        );
        (eval, step.loss)
    };
    let (eval, step) = views_loss(Augment::None);
    assert!(
        (eval - step).abs() < 1e-5,
        "evaluation views: {eval} vs {step}"
    );
    let (eval, step) = views_loss(Augment::CropFlip);
    assert!(
        (eval - step).abs() > 1e-4,
        "crops and flips: {eval} vs {step}"
    );
}
