//! The "Predict" panel: pick a finished or imported run, drop or choose a picture (or turn on
//! the camera, see `live`), and see the class probabilities it gives.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::HtmlInputElement;

use super::classify::{Classified, ProbabilityBars, classify};
use super::live::LivePredict;
use crate::app::browser::js::{self, PickedFile};
use crate::app::data::decode;
use crate::app::state::AppState;

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
        let image = decode::decode(&file)
            .await
            .map_err(|e| format!("{}: {e}", file.name))?;
        classify(app, run_id, image).await
    }
    .await;
    out.set(match result {
        Ok(Classified { run, classes }) => Prediction::Done {
            name: file.name.clone(),
            thumb: js::object_url(&file.blob),
            run,
            classes,
        },
        Err(e) => Prediction::Failed(e.to_string()),
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
    let live = RwSignal::new(false);
    // A chosen picture takes the place of the camera.
    let run_file = move |file: Option<PickedFile>| {
        if let (Some(file), Some(id)) = (file, selected()) {
            live.set(false);
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

    let result = move || match out.get() {
        Prediction::None => view! { <p class="muted">"No picture yet."</p> }.into_any(),
        Prediction::Working(name) => {
            view! { <p class="muted">"Classifying " {name} "\u{2026}"</p> }.into_any()
        }
        Prediction::Failed(e) => view! {
            <p class="run-error" role="alert" data-testid="predict-error">
                {e}
            </p>
        }
        .into_any(),
        Prediction::Done {
            name,
            thumb,
            run,
            classes,
        } => view! {
            <div class="prediction" data-testid="predict-result">
                <img src=thumb alt=name.clone() />
                <div>
                    <p class="note">{name} " with " {run}</p>
                    <ProbabilityBars classes />
                </div>
            </div>
        }
        .into_any(),
    };

    view! {
        <section class="panel panel-wide" aria-labelledby="predict-heading">
            <h2 id="predict-heading">"Predict"</h2>
            <p class="lede">
                "Classify a new picture, or the camera\u{2019}s live picture, with a finished, stopped or imported run."
            </p>
            <div class="row">
                <label class="field">
                    <span>"Run"</span>
                    <select
                        data-testid="predict-run"
                        on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())
                    >
                        {move || {
                            usable()
                                .is_empty()
                                .then(|| view! { <option value="">"no trained run yet"</option> })
                        }}
                        {move || {
                            usable()
                                .into_iter()
                                .map(|(id, label)| {
                                    view! {
                                        <option
                                            value=id.to_string()
                                            prop:selected=move || selected() == Some(id)
                                        >
                                            {label}
                                        </option>
                                    }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
                <label
                    class="drop"
                    on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
                    on:drop=drop
                >
                    "Drop a picture here or "
                    <span class="link">"choose one"</span>
                    <input
                        class="visually-hidden"
                        type="file"
                        accept="image/*"
                        data-testid="predict-file"
                        disabled=move || selected().is_none()
                        on:change=picked
                    />
                </label>
            </div>
            <LivePredict run=Signal::derive(selected) active=live />
            {move || (!live.get()).then(result)}
        </section>
    }
}
