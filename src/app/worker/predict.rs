//! The worker's side of a prediction: the run's classifier read from its run file onto the
//! worker's backbone, one picture through it, the class probabilities back to the page.

use std::sync::Arc;

use super::outbox::post;
use super::protocol::Event;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::model::Backbone;
use crate::train::{RgbImage, Sample, export};

async fn probabilities(
    gpu: &GpuContext,
    backbone: &Backbone,
    run: &[u8],
    image: RgbImage,
) -> Result<Vec<f32>> {
    let classifier = export::read_for(run, backbone, gpu.burn_device())?;
    let sample = Sample {
        image: Arc::new(image),
        label: 0,
        name: String::new(),
    };
    let device = gpu.burn_device();
    Ok(classifier
        .probabilities_of(backbone, &[sample], device)
        .await?)
}

pub async fn predict(
    gpu: &GpuContext,
    backbone: Arc<Backbone>,
    run: Vec<u8>,
    image: RgbImage,
    job: u32,
) {
    let event = match probabilities(gpu, &backbone, &run, image).await {
        Ok(probabilities) => Event::Predicted { job, probabilities },
        Err(e) => Event::PredictFailed {
            job,
            message: e.to_string(),
        },
    };
    post(&event, None);
}
