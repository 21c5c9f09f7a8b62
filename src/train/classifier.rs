//! What a run produces: prompts plus a linear head over a frozen backbone, and the forward
//! pass that turns images into class scores.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

use super::TrainError;
use super::data::{Sample, batch};
use super::image::Transform;
use crate::model::checkpoint::HostTensor;
use crate::model::vit::Prompts;
use crate::model::{Backbone, Pool};
use crate::prompt::{Factor, PromptParams};

/// The linear classifier on the pooled final tokens: weight [D, classes], bias [1, classes].
#[derive(Clone, Debug)]
pub struct Head {
    pub weight: Factor,
    pub bias: Factor,
}

impl Head {
    pub fn leaves(&self) -> Self {
        Self {
            weight: self.weight.leaf(),
            bias: self.bias.leaf(),
        }
    }
}

/// A prompt-tuned classifier: everything but the backbone.
#[derive(Clone, Debug)]
pub struct Classifier {
    pub prompts: PromptParams,
    pub head: Head,
    pub classes: Vec<String>,
    pub transform: Transform,
    pub pool: Pool,
}

impl Classifier {
    /// Whether this classifier can run on `backbone`; the error says what differs. (A file's
    /// tensor shapes are checked against the width as it is read.)
    pub fn check_fits(&self, backbone: &Backbone) -> Result<(), String> {
        let c = &backbone.config;
        let config = &self.prompts.config;
        let sets = self.prompts.sets.len();
        let want = match (config.has_prompts(), config.deep) {
            (false, _) => 0,
            (true, true) => c.depth,
            (true, false) => 1,
        };
        if sets != want {
            return Err(format!(
                "the run has {sets} prompt set(s) ({}), the model's {} blocks need {want}",
                if config.deep { "deep" } else { "shallow" },
                c.depth
            ));
        }
        let size = self.transform.size;
        if size == 0 || !size.is_multiple_of(c.patch_size) || size > 4096 {
            return Err(format!(
                "the run's input side {size} px is not a multiple of the model's patch {} \
                 (up to 4096 px)",
                c.patch_size
            ));
        }
        if self.pool == crate::model::Pool::Token && !c.class_token {
            return Err("the run pools the class token; the model has none".into());
        }
        if self.classes.len() < 2 || self.head.bias.numel() != self.classes.len() {
            return Err(format!(
                "the run's head has {} outputs for {} classes",
                self.head.bias.numel(),
                self.classes.len()
            ));
        }
        Ok(())
    }

    /// Class probabilities of normalised images of the classifier's size: [B, classes].
    pub async fn probabilities(
        &self,
        backbone: &Backbone,
        images: Tensor<4>,
    ) -> Result<HostTensor, TrainError> {
        let [_, _, h, w] = images.dims();
        let pos = backbone.pos_embed(h, w, &images.device())?;
        let logits = logits(
            backbone,
            pos,
            self.pool,
            images,
            &self.prompts,
            &self.head,
            None,
        );
        HostTensor::read(softmax(logits, 1))
            .await
            .map_err(|e| TrainError::Readback(e.to_string()))
    }

    /// Class probabilities of pictures, each in the classifier's evaluation view:
    /// [samples, classes] row-major, in batches of 16.
    pub async fn probabilities_of(
        &self,
        backbone: &Backbone,
        samples: &[Sample],
        device: &Device,
    ) -> Result<Vec<f32>, TrainError> {
        let mut out = Vec::with_capacity(samples.len() * self.classes.len());
        for chunk in samples.chunks(16) {
            let chosen: Vec<&Sample> = chunk.iter().collect();
            let (images, _) = batch(&chosen, &self.transform, None, device);
            out.extend(self.probabilities(backbone, images).await?.data);
        }
        Ok(out)
    }
}

/// Logits of normalised images with the given prompts and head (autodiff leaves or plain
/// values), prompt tokens optionally multiplied by per-sample dropout masks. Without prompt
/// sets (head-only) the backbone sees the image tokens alone.
///
/// # Shapes
/// - images: [B, C, H, W], pos: [1, P + N, D] for that size -> [B, classes]
/// - masks: one [B, m, D] per prompt set
pub fn logits(
    backbone: &Backbone,
    pos: Tensor<3>,
    pool: Pool,
    images: Tensor<4>,
    prompts: &PromptParams,
    head: &Head,
    masks: Option<&[Tensor<3>]>,
) -> Tensor<2> {
    let vit = &backbone.vit;
    let tokens = vit.embed(images, pos);
    let tokens = if head.weight.value.is_autodiff() {
        tokens.autodiff()
    } else {
        tokens
    };
    let mut sets: Vec<Tensor<3>> = prompts
        .sets
        .iter()
        .enumerate()
        .map(|(k, set)| {
            let t = set.tokens().unsqueeze::<3>(); // [1, m, D]
            match masks {
                Some(m) => t * m[k].clone(), // [B, m, D]
                None => t,
            }
        })
        .collect();
    let prompts = match (prompts.config.deep, sets.len()) {
        (_, 0) => Prompts::None,
        (true, _) => Prompts::Deep(sets),
        (false, _) => Prompts::Shallow(Box::new(sets.remove(0))),
    };
    let out = vit.forward_blocks(tokens, &prompts, None); // [B, T, D]
    let pooled = vit.pooled(out, pool); // [B, D]
    pooled.matmul(head.weight.value.clone()) + head.bias.value.clone()
}
