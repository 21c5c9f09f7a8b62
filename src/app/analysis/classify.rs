//! Classifying one picture with a trained run, and the probability bars that show the answer;
//! shared by the picture and the live camera predictions of the Predict panel.

use std::sync::Arc;

use leptos::prelude::*;

use crate::app::runs::state::Trained;
use crate::app::runs::trainer;
use crate::app::state::AppState;
use crate::train::{RgbImage, Sample};

/// What a run says of one picture: the run's label, and (class, probability) most likely first.
#[derive(Clone)]
pub struct Classified {
    pub run: String,
    pub classes: Vec<(String, f32)>,
}

/// Classifies `image` with run `run_id`: in the training worker when the run belongs to the
/// loaded model (the worker holds that one), so the page never compiles the model's kernels
/// itself; on the page's GPU otherwise, or where workers cannot run the model.
pub async fn classify(
    app: AppState,
    run_id: u32,
    image: RgbImage,
) -> crate::error::Result<Classified> {
    let (run, trained) = app
        .runs
        .with_untracked(|r| {
            r.iter()
                .find(|r| r.id == run_id)
                .and_then(|r| Some((r.label.clone(), r.result.clone()?)))
        })
        .ok_or("that run has no trained classifier")?;
    let loaded = app
        .ready_model()
        .ok()
        .filter(|m| Arc::ptr_eq(&m.backbone, &trained.backbone));
    let worker = match loaded {
        Some(model) => trainer::worker(app).await.ok().map(|w| (w, model)),
        None => None,
    };
    let probs = match worker {
        Some((worker, model)) => {
            let (job, answer) = app.predictions.begin();
            worker.predict(job, &model, &trained.file, &image)?;
            answer
                .await
                .map_err(|_| "the training worker went away")??
        }
        None => on_page(app, &trained, image).await?,
    };
    let mut classes: Vec<(String, f32)> = trained
        .classifier
        .classes
        .iter()
        .cloned()
        .zip(probs)
        .collect();
    classes.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(Classified { run, classes })
}

/// The class probabilities of `image` on the page's GPU.
async fn on_page(
    app: AppState,
    trained: &Trained,
    image: RgbImage,
) -> crate::error::Result<Vec<f32>> {
    let gpu = app.gpu()?;
    let sample = Sample {
        image: Arc::new(image),
        label: 0,
        name: String::new(),
    };
    let c = &trained.classifier;
    Ok(
        c.probabilities_of(&trained.backbone, &[sample], gpu.burn_device())
            .await?,
    )
}

/// One bar per class, its probability in `data-p`.
#[component]
pub fn ProbabilityBars(classes: Vec<(String, f32)>) -> impl IntoView {
    view! {
        <ul class="bars">
            {classes
                .into_iter()
                .map(|(class, p)| {
                    view! {
                        <li data-testid="predict-class" data-p=p.to_string()>
                            <span class="bar-label">{class}</span>
                            <span class="bar">
                                <span style:width=format!("{:.1}%", p * 100.0)></span>
                            </span>
                            <span class="bar-value">{format!("{:.1}%", p * 100.0)}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
