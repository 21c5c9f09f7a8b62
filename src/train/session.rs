//! One prompt-tuning run over a frozen backbone: whitening, initialisation, the training step
//! and evaluation.
//!
//! Trainability is in the tensors: the backbone's weights stay on the plain device (no autodiff,
//! so no gradients or optimiser state for them); each step turns the trainable prompt factors
//! and the head into autodiff leaves, runs forward and backward through the frozen blocks, and
//! applies AdamW to those leaves only. Nothing blocks on the GPU: results come back through
//! `into_data_async`, so the same code runs natively and in the browser.

use std::sync::Arc;

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Tensor, TensorData};

use super::classifier::{Classifier, Head, logits};
use super::confusion::Confusion;
use super::data::{Dataset, Sample, batch};
use super::image::Transform;
use super::optim::{OptimState, Schedule};
use super::{TrainConfig, TrainError};
use crate::model::Backbone;
use crate::model::checkpoint::HostTensor;
use crate::model::vit::{Prompts, Trace};
use crate::prompt::{Factor, PromptConfig, PromptParams};
use crate::rng::{Rng, Stream};
use crate::whiten::{Accumulator, Views, WhitenConfig, Whitening, diagnostics};

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    pub step: usize,
    pub epoch: usize,
    pub loss: f32,
    pub lr: f64,
}

/// Held-out figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Evaluation {
    pub correct: usize,
    pub total: usize,
    pub loss: f64,
}

impl Evaluation {
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// Most training views the whitening statistics take.
pub const MAX_WHITEN_IMAGES: usize = 100_000;

pub struct Session {
    backbone: Arc<Backbone>,
    /// The prompts and head being trained.
    pub model: Classifier,
    pub whitening: Vec<Whitening>,
    pub config: TrainConfig,
    /// How the whitening was (or would have been) estimated.
    pub whiten: WhitenConfig,
    pos: Tensor<3>,
    optim: OptimState,
    pub schedule: Schedule,
    steps_per_epoch: usize,
    /// Steps taken so far.
    pub step: usize,
    /// The run's root generator; every draw comes from one of its [`Stream`]s.
    rng: Rng,
    device: Device,
}

impl Session {
    /// Prepares a run: checks the input size, estimates the whitening from (augmented)
    /// training images when the method needs it, and initialises prompts and head.
    pub async fn new(
        backbone: Arc<Backbone>,
        prompt: PromptConfig,
        config: TrainConfig,
        whiten: WhitenConfig,
        data: &Dataset,
        device: &Device,
    ) -> Result<Self, TrainError> {
        data.validate()?;
        config.validate()?;
        let c = &backbone.config;
        // Checked before the whitening estimate, which takes minutes on a real model.
        prompt.validate(c.embed_dim)?;
        let pool = config.pool.unwrap_or(c.global_pool);
        if pool == crate::model::Pool::Token && !c.class_token {
            return Err(TrainError::Config(
                "class-token pooling needs a model with a class token: use mean pooling".into(),
            ));
        }
        backbone.check_tokens(config.size, config.size, prompt.effective().num_prompts)?;
        if whiten.max_images > MAX_WHITEN_IMAGES {
            return Err(TrainError::Config(format!(
                "{} whitening images is above the limit of {MAX_WHITEN_IMAGES}",
                whiten.max_images
            )));
        }
        let pos = backbone.pos_embed(config.size, config.size, device)?;
        let mut transform = Transform::new(config.size, &c.preprocess);
        transform.scale = (config.crop_scale, 1.0);
        let rng = Rng::new(config.seed);
        let sets = if prompt.deep { c.depth } else { 1 };
        let whitening = if prompt.needs_whitening() {
            estimate_whitening(
                &backbone,
                &pos,
                data,
                &transform,
                &whiten,
                sets,
                &mut rng.stream(Stream::Whitening),
                device,
            )
            .await?
        } else {
            Vec::new()
        };
        let matrices: Vec<HostTensor> = whitening.iter().map(|w| w.matrix.clone()).collect();
        let patch_in = c.in_chans * c.patch_size * c.patch_size;
        let prompts = PromptParams::init(
            &prompt,
            c.embed_dim,
            c.depth,
            patch_in,
            &matrices,
            &mut rng.stream(Stream::Prompts),
            device,
        )?;
        let n = data.classes.len();
        let head = Head {
            weight: Factor::new(
                "weight",
                rng.stream(Stream::Head).normal_vec(c.embed_dim * n, 0.01),
                [c.embed_dim, n],
                true,
                device,
            ),
            bias: Factor::new("bias", vec![0.0; n], [1, n], true, device),
        };
        let steps_per_epoch = data.train.len().div_ceil(config.batch);
        let schedule = config.schedule(steps_per_epoch)?;
        let slots = prompts.factors().filter(|f| f.trainable).count() + 2;
        let model = Classifier {
            prompts,
            head,
            classes: data.classes.clone(),
            transform,
            pool,
        };
        Ok(Self {
            backbone,
            model,
            whitening,
            pos,
            optim: config.optimizer.init(slots),
            schedule,
            steps_per_epoch,
            step: 0,
            rng,
            device: device.clone(),
            config,
            whiten,
        })
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.steps_per_epoch
    }

    pub fn total_steps(&self) -> usize {
        self.schedule.total_steps
    }

    pub fn epoch(&self) -> usize {
        self.step / self.steps_per_epoch
    }

    pub fn finished(&self) -> bool {
        self.step >= self.total_steps()
    }

    pub fn backbone(&self) -> &Backbone {
        &self.backbone
    }

    fn logits(
        &self,
        images: Tensor<4>,
        prompts: &PromptParams,
        head: &Head,
        masks: Option<&[Tensor<3>]>,
    ) -> Tensor<2> {
        let pool = self.model.pool;
        logits(
            &self.backbone,
            self.pos.clone(),
            pool,
            images,
            prompts,
            head,
            masks,
        )
    }

    fn labels(&self, labels: &[usize], like: &Tensor<2>) -> Tensor<2> {
        let n = self.model.classes.len();
        let mut onehot = vec![0.0f32; labels.len() * n];
        for (i, &l) in labels.iter().enumerate() {
            onehot[i * n + l] = 1.0;
        }
        let t = Tensor::from_data(TensorData::new(onehot, [labels.len(), n]), &self.device);
        if like.is_autodiff() { t.autodiff() } else { t }
    }

    /// Mean cross-entropy of the logits against the labels: a [1] tensor.
    fn cross_entropy(&self, logits: Tensor<2>, labels: &[usize]) -> Tensor<1> {
        let target = self.labels(labels, &logits);
        (log_softmax(logits, 1) * target).sum_dim(1).mean().neg()
    }

    /// Prompt dropout masks (inverted dropout) for a batch of `batch` images, drawn on the host
    /// from this step's stream: one [B, m, D] mask per prompt set, so every sample drops its
    /// own prompt entries, as VPT's dropout on the prompt embeddings does. Public for checks.
    pub fn dropout_masks(&self, batch: usize) -> Option<Vec<Tensor<3>>> {
        let p = self.model.prompts.config.dropout;
        if p == 0.0 || self.model.prompts.sets.is_empty() {
            return None;
        }
        let keep = (1.0 / (1.0 - p)) as f32;
        let d = self.backbone.config.embed_dim;
        let mut rng = self.rng.stream(Stream::Dropout(self.step as u64));
        let masks = self
            .model
            .prompts
            .sets
            .iter()
            .map(|s| {
                let m = s.left.value.dims()[0];
                let data: Vec<f32> = (0..batch * m * d)
                    .map(|_| if rng.uniform() < p { 0.0 } else { keep })
                    .collect();
                Tensor::from_data(TensorData::new(data, [batch, m, d]), &self.device)
            })
            .collect();
        Some(masks)
    }

    /// Loss and gradients of every trainable factor (prompt factors in order, then head weight
    /// and bias), without updating anything.
    fn forward_backward(
        &self,
        images: Tensor<4>,
        labels: &[usize],
        masks: Option<&[Tensor<3>]>,
    ) -> (Tensor<1>, Vec<Tensor<2>>) {
        let prompts = self.model.prompts.leaves();
        let head = self.model.head.leaves();
        let loss = self.cross_entropy(self.logits(images, &prompts, &head, masks), labels);
        let grads = loss.backward();
        let trained = prompts
            .factors()
            .chain([&head.weight, &head.bias])
            .filter(|f| f.trainable)
            .map(|f| {
                f.value
                    .grad(&grads)
                    .expect("a trainable factor has a gradient")
            })
            .collect();
        (loss.inner(), trained)
    }

    /// Augments the samples at `indices`, takes one optimiser step, and reports the loss.
    pub async fn step(
        &mut self,
        samples: &[Sample],
        indices: &[usize],
    ) -> Result<StepStats, TrainError> {
        let chosen: Vec<&Sample> = indices.iter().map(|&i| &samples[i]).collect();
        let mut aug = self.rng.stream(Stream::Crops(self.step as u64));
        let augment = match self.config.augment {
            super::Augment::CropFlip => Some(&mut aug),
            super::Augment::None => None,
        };
        let (images, labels) = batch(&chosen, &self.model.transform, augment, &self.device);
        self.step_on(images, &labels).await
    }

    /// One optimiser step on a prepared batch of normalised images.
    pub async fn step_on(
        &mut self,
        images: Tensor<4>,
        labels: &[usize],
    ) -> Result<StepStats, TrainError> {
        let masks = self.dropout_masks(labels.len());
        let (loss, grads) = self.forward_backward(images, labels, masks.as_deref());
        let lr = self.schedule.at(self.step);
        let (wd, wd_head) = (self.config.weight_decay, self.config.weight_decay_head);
        let mut grads = grads.into_iter();
        let mut slot = 0;
        let optim = &mut self.optim;
        for f in self.model.prompts.factors_mut().filter(|f| f.trainable) {
            let g = grads.next().expect("one gradient per factor");
            f.value = optim.update(slot, f.value.clone(), g, lr, wd);
            slot += 1;
        }
        let head_lr = lr * self.config.head_lr_ratio();
        for (f, decay) in [
            (&mut self.model.head.weight, wd_head),
            (&mut self.model.head.bias, 0.0),
        ] {
            let g = grads.next().expect("head gradients");
            f.value = optim.update(slot, f.value.clone(), g, head_lr, decay);
            slot += 1;
        }
        let loss = read_scalar(loss).await?;
        let stats = StepStats {
            step: self.step,
            epoch: self.epoch(),
            loss,
            lr,
        };
        self.step += 1;
        Ok(stats)
    }

    /// The batches of the current epoch: sample indices, shuffled with the run's seed.
    pub fn epoch_batches(&self, samples: usize) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..samples).collect();
        self.rng
            .stream(Stream::Shuffle(self.epoch() as u64))
            .shuffle(&mut order);
        order
            .chunks(self.config.batch)
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// Class probabilities of normalised images: [B, classes].
    pub async fn probabilities(&self, images: Tensor<4>) -> Result<HostTensor, TrainError> {
        let logits = self.logits(images, &self.model.prompts, &self.model.head, None);
        HostTensor::read(softmax(logits, 1))
            .await
            .map_err(|e| TrainError::Readback(e.to_string()))
    }

    /// Accuracy and mean loss on `samples` (evaluation view, no augmentation).
    pub async fn evaluate(&self, samples: &[Sample]) -> Result<Evaluation, TrainError> {
        let mut counts = Confusion::new(self.model.classes.len());
        for chunk in samples.chunks(self.config.batch.max(1)) {
            let chosen: Vec<&Sample> = chunk.iter().collect();
            let (images, labels) = batch(&chosen, &self.model.transform, None, &self.device);
            let probs = self.probabilities(images).await?;
            counts.add(&probs.data, &labels);
        }
        Ok(Evaluation {
            correct: counts.correct(),
            total: counts.total(),
            loss: counts.loss(),
        })
    }

    /// The share of the first prompt set's energy, after its block's norm1, that lies in the top
    /// eigen-directions of that block's Sigma (`whiten::diagnostics`); None for a method without
    /// whitening.
    pub async fn prompt_energy_share(&self) -> Result<Option<f64>, TrainError> {
        let (Some(w), Some(set)) = (self.whitening.first(), self.model.prompts.sets.first()) else {
            return Ok(None);
        };
        let k = diagnostics::k_covering(&w.spectrum.values, diagnostics::TRACE_SHARE);
        let tokens = diagnostics::after_norm1(&self.backbone, w.block, set.tokens()).await?;
        Ok(Some(diagnostics::energy_share(
            &tokens.data,
            &w.spectrum,
            k,
        )))
    }

    /// Loss without dropout or updates (for checks).
    pub async fn loss(&self, images: Tensor<4>, labels: &[usize]) -> Result<f32, TrainError> {
        let logits = self.logits(images, &self.model.prompts, &self.model.head, None);
        read_scalar(self.cross_entropy(logits, labels)).await
    }

    /// Gradients of the trainable factors (prompt factors, then head weight and bias) on the
    /// host, without dropout or updates (for checks).
    pub async fn gradients(
        &self,
        images: Tensor<4>,
        labels: &[usize],
    ) -> Result<Vec<HostTensor>, TrainError> {
        let (_, grads) = self.forward_backward(images, labels, None);
        let mut out = Vec::with_capacity(grads.len());
        for g in grads {
            out.push(
                HostTensor::read(g)
                    .await
                    .map_err(|e| TrainError::Readback(e.to_string()))?,
            );
        }
        Ok(out)
    }
}

async fn read_scalar(t: Tensor<1>) -> Result<f32, TrainError> {
    let v = HostTensor::read(t)
        .await
        .map_err(|e| TrainError::Readback(e.to_string()))?;
    Ok(v.data[0])
}

/// The whitening of the blocks prompts enter (block 0, or all for deep prompts), from up to
/// `config.max_images` training images: augmented views (cycling through the images until
/// enough are drawn) or each image's evaluation view once.
#[allow(clippy::too_many_arguments)]
async fn estimate_whitening(
    backbone: &Backbone,
    pos: &Tensor<3>,
    data: &Dataset,
    transform: &Transform,
    config: &WhitenConfig,
    sets: usize,
    rng: &mut Rng,
    device: &Device,
) -> Result<Vec<Whitening>, TrainError> {
    let mut acc = Accumulator::for_side(backbone, (0..sets).collect(), config.source, config.side);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    rng.shuffle(&mut order);
    let wanted = match config.views {
        Views::Train => config.max_images.max(1),
        // Repeating an unaugmented view adds nothing.
        Views::Eval => config.max_images.clamp(1, order.len()),
    };
    let mut picks = order.iter().cycle().take(wanted).map(|&i| &data.train[i]);
    loop {
        let chunk: Vec<&Sample> = picks.by_ref().take(8).collect();
        if chunk.is_empty() {
            break;
        }
        let augment = match config.views {
            Views::Train => Some(&mut *rng),
            Views::Eval => None,
        };
        let (images, _) = batch(&chunk, transform, augment, device);
        let mut trace = Trace::default();
        let tokens = backbone.vit.embed(images, pos.clone());
        let _ = backbone
            .vit
            .forward_blocks(tokens, &Prompts::None, Some(&mut trace));
        acc.add(&trace)?;
        acc.wait().await?;
    }
    Ok(acc.finish(config).await?)
}
