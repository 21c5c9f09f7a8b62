//! The "Predict" panel: pick a finished or imported run, drop or choose a picture, and see
//! the class probabilities it gives.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::HtmlInputElement;

use crate::app::browser::js::{self, PickedFile};
use crate::app::data::decode;
use crate::app::state::AppState;
use crate::train::Sample;
use crate::train::data::batch;

#[derive(Clone)]
enum Prediction {
    None,
    Working(String),
    Done {
        name: String,
        thumb: String,
        run: String,
        /// (class, probability), most likely first.
        classes: Vec<(String, f32)>,
    },
    Failed(String),
}

async fn predict(
    app: AppState,
    run_id: u32,
    file: PickedFile,
    out: RwSignal<Prediction, LocalStorage>,
) {
    out.set(Prediction::Working(file.name.clone()));
    let result = async {
        let (label, trained) = app
            .runs
            .with_untracked(|r| {
                r.iter()
                    .find(|r| r.id == run_id)
                    .and_then(|r| Some((r.label.clone(), r.result.clone()?)))
            })
            .ok_or("that run has no trained classifier")?;
        let gpu = app.gpu()?;
        let image = decode::decode(&file)
            .await
            .map_err(|e| format!("{}: {e}", file.name))?;
        let sample = Sample {
            image: Arc::new(image),
            label: 0,
            name: file.name.clone(),
        };
        let c = &trained.classifier;
        let (images, _) = batch(&[&sample], &c.transform, None, gpu.burn_device());
        let probs = c
            .probabilities(&trained.backbone, images)
            .await
            .map_err(|e| e.to_string())?;
        let mut classes: Vec<(String, f32)> = c
            .classes
            .iter()
            .cloned()
            .zip(probs.data.iter().copied())
            .collect();
        classes.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok::<_, String>((label, classes))
    }
    .await;
    out.set(match result {
        Ok((run, classes)) => Prediction::Done {
            name: file.name.clone(),
            thumb: js::object_url(&file.blob),
            run,
            classes,
        },
        Err(e) => Prediction::Failed(e),
    });
}

#[component]
pub fn PredictPanel() -> impl IntoView {
    let app = AppState::get();
    let chosen = RwSignal::new(None::<u32>);
    let out = RwSignal::new_local(Prediction::None);
    let usable = move || {
        app.runs.with(|runs| {
            runs.iter()
                .filter(|r| r.result.is_some())
                .map(|r| (r.id, r.label.clone()))
                .collect::<Vec<_>>()
        })
    };
    // The newest usable run, unless the user picked another that still exists.
    let selected = move || {
        let list = usable();
        chosen
            .get()
            .filter(|id| list.iter().any(|(i, _)| i == id))
            .or_else(|| list.last().map(|(i, _)| *i))
    };
    let run_file = move |file: Option<PickedFile>| {
        if let (Some(file), Some(id)) = (file, selected()) {
            spawn_local(predict(app, id, file, out));
        }
    };
    let picked = move |ev: leptos::ev::Event| {
        let file = js::take_input_files(&event_target::<HtmlInputElement>(&ev))
            .into_iter()
            .next();
        run_file(file);
    };
    let drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        run_file(js::dropped_files(&ev).into_iter().next());
    };

    let result = move || {
        match out.get() {
        Prediction::None => view! { <p class="muted">"No picture yet."</p> }.into_any(),
        Prediction::Working(name) => view! { <p class="muted">"Classifying " {name} "\u{2026}"</p> }.into_any(),
        Prediction::Failed(e) => view! {
            <p class="run-error" role="alert" data-testid="predict-error">{e}</p>
        }
        .into_any(),
        Prediction::Done { name, thumb, run, classes } => view! {
            <div class="prediction" data-testid="predict-result">
                <img src=thumb alt=name.clone() />
                <div>
                    <p class="note">{name} " with " {run}</p>
                    <ul class="bars">
                        {classes.into_iter().map(|(class, p)| view! {
                            <li data-testid="predict-class" data-p=p.to_string()>
                                <span class="bar-label">{class}</span>
                                <span class="bar"><span style:width=format!("{:.1}%", p * 100.0)></span></span>
                                <span class="bar-value">{format!("{:.1}%", p * 100.0)}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                </div>
            </div>
        }
        .into_any(),
    }
    };

    view! {
        <section class="panel panel-wide" aria-labelledby="predict-heading">
            <h2 id="predict-heading">"Predict"</h2>
            <p class="lede">"Classify a new picture with a finished, stopped or imported run."</p>
            <div class="row">
                <label class="field">
                    <span>"Run"</span>
                    <select data-testid="predict-run"
                        on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                        {move || usable().is_empty().then(|| view! { <option value="">"no trained run yet"</option> })}
                        {move || usable().into_iter().map(|(id, label)| view! {
                            <option value=id.to_string() prop:selected=move || selected() == Some(id)>{label}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="drop" on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=drop>
                    "Drop a picture here or " <span class="link">"choose one"</span>
                    <input class="visually-hidden" type="file" accept="image/*" data-testid="predict-file"
                        disabled=move || selected().is_none() on:change=picked />
                </label>
            </div>
            {result}
        </section>
    }
}
