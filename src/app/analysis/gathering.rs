//! Getting the distributions' views: the pictures go through the model in the training worker,
//! so the page never waits on it; where workers cannot train, on the page's thread, yielding
//! after every batch. Either way progress lands in `AppState::gather` and a stop is heard
//! between batches.

use leptos::prelude::*;

use crate::analysis::{AnalysisError, Progress, gather_with};
use crate::app::analysis::state::Gathered;
use crate::app::browser::js;
use crate::app::model::state::LoadedModel;
use crate::app::runs::trainer;
use crate::app::state::AppState;
use crate::app::worker::protocol::GatherCounts;
use crate::error::{Error, Result};
use crate::train::Sample;

/// The page's thread: progress into the signal, a yield, and the stop asked on the page.
struct OnPage(AppState);

impl Progress for OnPage {
    async fn proceed(&mut self, done: usize, total: usize) -> bool {
        self.0.gather.progress.set(Some((done, total)));
        js::sleep(0).await;
        !self.0.gather.stop.get_untracked()
    }
}

/// The views of `block` (X as its input, or norm1's output) for `samples` at `size` px.
pub async fn gather_views(
    app: AppState,
    model: &LoadedModel,
    samples: Vec<Sample>,
    (block, size, norm1): (usize, usize, bool),
) -> Result<Gathered> {
    let (job, result) = app.gather.begin();
    let gathered = match trainer::worker(app).await {
        Ok(worker) => {
            worker.gather(job, model, samples, (block, size, norm1))?;
            // A stop asked while the worker was starting.
            if app.gather.stop.get_untracked() {
                worker.stop_gather(job)?;
            }
            result
                .await
                .map_err(|_| Error::from("the training worker went away"))?
                .map_err(Error::from)
        }
        Err(reason) => {
            gloo::console::warn!(format!(
                "BPT Lab: analysing on the page's thread ({reason})"
            ));
            let device = app.gpu()?.burn_device().clone();
            let backbone = &model.backbone;
            let mut progress = OnPage(app);
            let views = gather_with(backbone, &samples, block, size, &device, &mut progress);
            match views.await {
                Ok(views) => {
                    let report = views.whitening_report(norm1, backbone, &device).await;
                    let tensors = views
                        .of_source(norm1)
                        .into_iter()
                        .map(|(name, t)| (name.to_string(), t.clone()))
                        .collect();
                    let counts = GatherCounts {
                        images: views.images,
                        fit: views.fit_images,
                        held_out: views.held_out_images,
                    };
                    report.map_err(Error::from).map(|whitening| Gathered {
                        counts,
                        tensors,
                        whitening,
                    })
                }
                Err(e) => Err(Error::from(e)),
            }
        }
    };
    // Whatever went wrong after a stop was asked (the worker's refusal comes back as text).
    let stopped = app.gather.stop.get_untracked();
    app.gather.end();
    match gathered {
        Err(_) if stopped => Err(AnalysisError::Stopped.into()),
        other => other,
    }
}

/// Asks the gather in progress to stop at its next batch.
pub fn stop(app: AppState) {
    app.gather.stop.set(true);
    if let (Some(job), Some(worker)) = (app.gather.current(), app.worker.current())
        && let Err(e) = worker.stop_gather(job)
    {
        gloo::console::error!(format!("BPT Lab: the stop did not reach the worker: {e}"));
    }
}
