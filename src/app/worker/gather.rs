//! The worker's side of a gather: the pictures through the model for the distributions panel
//! (`crate::analysis::gather_with`), progress after every batch, a stop between batches, and
//! the chosen source's views sent back as f32 bytes with its whitening's diagnostics.

use std::cell::Cell;
use std::sync::Arc;

use super::outbox::post;
use super::protocol::{Event, GatherCounts};
use crate::analysis::{Progress, gather_with};
use crate::app::browser::js;
use crate::gpu::GpuContext;
use crate::model::Backbone;
use crate::train::Sample;

thread_local! {
    /// The last gather the page asked to stop.
    static STOPPED: Cell<Option<u32>> = const { Cell::new(None) };
}

pub fn stop(job: u32) {
    STOPPED.set(Some(job));
}

/// Tells the page after every batch, and yields so that a stop can arrive.
struct ToPage {
    job: u32,
}

impl Progress for ToPage {
    async fn proceed(&mut self, done: usize, total: usize) -> bool {
        let job = self.job;
        post(&Event::Progress { job, done, total }, None);
        js::sleep(0).await;
        STOPPED.get() != Some(job)
    }
}

pub async fn gather(
    gpu: &GpuContext,
    backbone: Arc<Backbone>,
    samples: Vec<Sample>,
    job: u32,
    (block, size, norm1): (usize, usize, bool),
) {
    // A stop may arrive before its gather (ids only grow, so an older one never matches).
    let mut progress = ToPage { job };
    let result = gather_with(
        &backbone,
        &samples,
        block,
        size,
        gpu.burn_device(),
        &mut progress,
    );
    let device = gpu.burn_device();
    let result = match result.await {
        Ok(views) => views
            .whitening_report(norm1, &backbone, device)
            .await
            .map(|report| (views, report)),
        Err(e) => Err(e),
    };
    match result {
        Ok((views, whitening)) => {
            let tensors = views.of_source(norm1);
            let shapes = tensors
                .iter()
                .map(|(name, t)| (name.to_string(), t.shape.clone()))
                .collect();
            let bytes: Vec<u8> = tensors
                .iter()
                .flat_map(|(_, t)| t.data.iter().flat_map(|v| v.to_le_bytes()))
                .collect();
            let counts = GatherCounts {
                images: views.images,
                fit: views.fit_images,
                held_out: views.held_out_images,
            };
            let event = Event::Gathered {
                job,
                counts,
                tensors: shapes,
                whitening,
            };
            post(&event, Some(bytes));
        }
        Err(e) => {
            let message = e.to_string();
            post(&Event::GatherFailed { job, message }, None)
        }
    }
}
