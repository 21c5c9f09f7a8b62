//! The "Sample images" button: fills the classes from the sample images served with the page
//! (`samples/manifest.json` and its files, made by the set-up scripts from Debian's
//! dataset-fashion-mnist; see docs/models.md). The samples replace the classes, after a
//! confirmation when they hold pictures, and are decoded like the user's own files.

use js_sys::{Array, Uint8Array};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use web_sys::Blob;

use crate::app::browser::fetch;
use crate::app::browser::js::{self, PickedFile};
use crate::app::data::state::add_files;
use crate::app::state::AppState;

const DIR: &str = "samples";

/// One class of the manifest: its name and file paths under `samples/`.
struct SampleClass {
    name: String,
    files: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SampleState {
    Idle,
    Loading {
        done: usize,
        total: usize,
    },
    Done {
        classes: usize,
        images: usize,
        source: String,
    },
    Failed(String),
}

/// The classes of a manifest and a line naming its sources and licences.
fn parse(text: &str) -> Result<(Vec<SampleClass>, String), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let classes: Vec<SampleClass> = v
        .get("classes")
        .and_then(Value::as_array)
        .ok_or("no \"classes\" list")?
        .iter()
        .map(|c| SampleClass {
            name: c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            files: c.get("files").map(strings).unwrap_or_default(),
        })
        .filter(|c| !c.files.is_empty())
        .collect();
    if classes.is_empty() {
        return Err("no class with files".into());
    }
    let source = v
        .get("sets")
        .and_then(Value::as_array)
        .map(|sets| {
            sets.iter()
                .map(|s| {
                    let field = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("?");
                    format!("{} ({})", field("name"), field("licence"))
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Ok((classes, source))
}

fn confirm(message: &str) -> bool {
    web_sys::window()
        .and_then(|w| js::call(&w.into(), "confirm", &[message.into()]).ok())
        .is_some_and(|v| v.is_truthy())
}

async fn load(app: AppState, state: RwSignal<SampleState>) {
    let manifest = format!("{DIR}/manifest.json");
    let text = match fetch::text(&manifest).await {
        Ok(text) => text,
        Err(e) => {
            return state.set(SampleState::Failed(format!(
                "The sample images are not on this server ({e}). The set-up scripts make them \
                 (./scripts/serve.sh); your own pictures work without them."
            )));
        }
    };
    let (classes, source) = match parse(&text) {
        Ok(parsed) => parsed,
        Err(e) => return state.set(SampleState::Failed(format!("{manifest}: {e}"))),
    };
    let has_images = app
        .data
        .with_untracked(|d| d.classes.iter().any(|c| !c.images.is_empty()));
    if has_images
        && !confirm(&format!(
            "Replace your classes and their pictures with {} sample classes?",
            classes.len()
        ))
    {
        return state.set(SampleState::Idle);
    }
    let total: usize = classes.iter().map(|c| c.files.len()).sum();
    state.set(SampleState::Loading { done: 0, total });
    let mut fetched = Vec::new();
    for class in &classes {
        let mut files = Vec::new();
        for path in &class.files {
            let url = format!("{DIR}/{path}");
            let bytes = match fetch::bytes(&url, |_| {}).await {
                Ok(bytes) => bytes,
                Err(e) => return state.set(SampleState::Failed(e)),
            };
            let blob = match Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(
                &bytes[..],
            ))) {
                Ok(blob) => blob,
                Err(e) => return state.set(SampleState::Failed(js::message(&e))),
            };
            let name = path.rsplit('/').next().unwrap_or(path).to_string();
            files.push(PickedFile { name, blob });
            state.update(|s| {
                if let SampleState::Loading { done, .. } = s {
                    *done += 1;
                }
            });
        }
        fetched.push((class.name.clone(), files));
    }
    // Only now, with every file in hand, do the samples replace the classes.
    let mut targets = Vec::new();
    let urls = app
        .data
        .try_update(|d| {
            let urls = d.clear_classes();
            d.rejected.clear();
            for (name, _) in &fetched {
                targets.push(d.add_named_class(name.clone()));
            }
            urls
        })
        .unwrap_or_default();
    urls.iter().for_each(|u| js::revoke_url(u));
    for (id, (_, files)) in targets.into_iter().zip(fetched) {
        add_files(app.data, id, files).await;
    }
    state.set(SampleState::Done {
        classes: classes.len(),
        images: total,
        source,
    });
}

/// The button and what it is doing.
#[component]
pub fn SampleImages() -> impl IntoView {
    let app = AppState::get();
    let state = RwSignal::new(SampleState::Idle);
    let busy = move || matches!(state.get(), SampleState::Loading { .. });
    let click = move |_| spawn_local(load(app, state));
    let line = move || match state.get() {
        SampleState::Idle => None,
        SampleState::Loading { done, total } => Some((
            "loading",
            format!("Fetching sample images: {done} of {total}\u{2026}"),
        )),
        SampleState::Done {
            classes,
            images,
            source,
        } => Some((
            "done",
            format!("{classes} sample classes, {images} images, from {source}."),
        )),
        SampleState::Failed(e) => Some(("failed", e)),
    };
    view! {
        <button
            type="button"
            class="secondary"
            data-testid="samples-load"
            disabled=busy
            on:click=click
        >
            "Sample images"
        </button>
        {move || {
            line()
                .map(|(state, text)| {
                    let failed = state == "failed";
                    view! {
                        <span
                            class=if failed { "run-error" } else { "note" }
                            data-testid="samples-status"
                            data-state=state
                            role=failed.then_some("alert")
                        >
                            {text}
                        </span>
                    }
                })
        }}
    }
}
