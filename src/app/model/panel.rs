//! The "Model" card at the top of the page: one line naming the backbone in use (DINOv2-S, served
//! with the page, loads on its own once the GPU is ready), with its facts and the loaders behind
//! "change model": another backbone served with the page, a model from the Hugging Face Hub (by
//! id or URL, cached in the browser) or a local .safetensors file and its config can replace it.
//! Progress and failures show below the line, without opening anything.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::HtmlInputElement;

use crate::app::browser::fetch::mb;
use crate::app::browser::js::{self, PickedFile};
use crate::app::model::cache;
use crate::app::model::facts::facts;
use crate::app::model::loaders;
use crate::app::model::menu::ShippedMenu;
use crate::app::model::precision::WeightsChoice;
use crate::app::model::state::{LoadedModel, ModelState, Shipped};
use crate::app::state::AppState;

/// The model's line: its name and size (`model-name`).
fn model_line(model: &LoadedModel) -> impl IntoView + use<> {
    let c = &model.backbone.config;
    view! {
        <span class="dot dot-ok" aria-hidden="true"></span>
        <span class="status-name" data-testid="model-name">
            {model.name.clone()}
        </span>
        <span class="muted">
            {format!(
                "ViT/{} \u{00b7} {:.1} M parameters",
                c.patch_size,
                model.parameters as f64 / 1e6,
            )}
        </span>
    }
}

/// Below the line while the weights download: how far, and how fast.
fn progress_view(p: crate::app::browser::fetch::Progress) -> impl IntoView {
    let of = p
        .total
        .map(|t| format!(" of {}", mb(t as f64)))
        .unwrap_or_default();
    let percent = p.fraction().map(|f| f * 100.0);
    view! {
        <progress
            data-testid="model-progress"
            max="100"
            value=percent.map(|v| format!("{v:.1}"))
            aria-label="Model download"
        ></progress>
        <p class="note">{format!("{}{of} at {}/s", mb(p.loaded as f64), mb(p.bytes_per_s))}</p>
    }
}

/// The card's status item (`model-status`, but after a failure: then its notice carries it).
fn status_item(state: ModelState) -> AnyView {
    match state {
        ModelState::Idle => view! {
            <span class="status-item muted" data-testid="model-status" data-state="idle">
                "waits for the GPU"
            </span>
        }
        .into_any(),
        ModelState::Reading { what, .. } => view! {
            <span class="status-item muted" data-testid="model-status" data-state="reading">
                "reading "
                {what}
                "\u{2026}"
            </span>
        }
        .into_any(),
        ModelState::Placing { what } => view! {
            <span class="status-item muted" data-testid="model-status" data-state="placing">
                "placing "
                {what}
                " on the GPU\u{2026}"
            </span>
        }
        .into_any(),
        ModelState::Failed { .. } => view! {
            <span class="status-item status-bad">
                <span class="dot dot-bad" aria-hidden="true"></span>
                "a load failed"
            </span>
        }
        .into_any(),
        ModelState::Ready(model) => view! {
            <span class="status-item" data-testid="model-status" data-state="ready">
                {model_line(&model)}
            </span>
        }
        .into_any(),
    }
}

/// Below the line, always visible: the download's progress, or the failure and the model kept.
fn below_line(state: ModelState) -> Option<AnyView> {
    Some(match state {
        ModelState::Reading { progress, .. } => progress_view(progress).into_any(),
        ModelState::Placing { .. } => {
            view! { <progress aria-label="Placing the model on the GPU"></progress> }.into_any()
        }
        ModelState::Failed {
            what,
            message,
            kept,
        } => view! {
            <div class="notice notice-error" role="alert">
                <p class="notice-title" data-testid="model-status" data-state="failed">
                    "Could not load "
                    {what}
                </p>
                <p data-testid="model-error">{message}</p>
            </div>
            {kept
                .map(|model| {
                    view! {
                        <p class="status-line note" data-testid="model-kept">
                            "Still in use:"
                            {model_line(&model)}
                        </p>
                    }
                })}
        }
        .into_any(),
        ModelState::Idle | ModelState::Ready(_) => return None,
    })
}

#[component]
pub fn ModelPanel() -> impl IntoView {
    let app = AppState::get();
    let weights = StoredValue::new_local(None::<PickedFile>);
    let config = StoredValue::new_local(None::<PickedFile>);
    let chosen = RwSignal::new((String::new(), String::new()));
    let auto_started = StoredValue::new(false);

    // The default model loads by itself as soon as the GPU is there.
    Effect::new(move |_| {
        if app.gpu_ready() && !auto_started.get_value() {
            auto_started.set_value(true);
            spawn_local(loaders::load_shipped(app, Shipped::Dinov2Small));
        }
    });

    let on_weights = move |ev: leptos::ev::Event| {
        let file = js::input_files(&event_target::<HtmlInputElement>(&ev))
            .into_iter()
            .next();
        chosen.update(|c| c.0 = file.as_ref().map(|f| f.name.clone()).unwrap_or_default());
        weights.set_value(file);
    };
    let on_config = move |ev: leptos::ev::Event| {
        let file = js::input_files(&event_target::<HtmlInputElement>(&ev))
            .into_iter()
            .next();
        chosen.update(|c| c.1 = file.as_ref().map(|f| f.name.clone()).unwrap_or_default());
        config.set_value(file);
    };
    let load_local = move |_| {
        if let (Some(w), Some(c)) = (weights.get_value(), config.get_value()) {
            spawn_local(loaders::load_local(app, w, c));
        }
    };
    let hub_input = RwSignal::new(String::new());
    let load_hub = move || spawn_local(loaders::load_hub(app, hub_input.get_untracked()));
    let cache_note = RwSignal::new(None::<String>);
    let forget = move |_| {
        spawn_local(async move {
            cache_note.set(Some(match cache::clear().await {
                Ok(true) => "Downloaded models removed from this browser.".into(),
                Ok(false) => "No downloaded models were kept.".into(),
                Err(e) => format!("Could not clear the cache: {e}"),
            }))
        })
    };
    let can_load = move || {
        let (w, c) = chosen.get();
        !w.is_empty() && !c.is_empty() && app.gpu_ready()
    };

    let open = RwSignal::new(false);
    let toggle = move |_| open.update(|o| *o = !*o);

    view! {
        <section
            class="panel status-card model-card"
            class:open=move || open.get()
            aria-labelledby="model-heading"
        >
            <div class="status-bar">
                <h2 id="model-heading" class="status-label">
                    "Model"
                </h2>
                <div class="status-items">{move || status_item(app.model.get())}</div>
                <button
                    type="button"
                    class="link status-toggle"
                    data-testid="model-change-toggle"
                    aria-expanded=move || open.get().to_string()
                    aria-controls="model-details"
                    on:click=toggle
                >
                    {move || if open.get() { "hide" } else { "change model" }}
                </button>
            </div>
            {move || below_line(app.model.get())}
            <div
                id="model-details"
                class="status-details"
                data-testid="model-details"
                hidden=move || !open.get()
            >
                <p class="lede">
                    "A pretrained Vision Transformer, frozen; only prompts and a head are trained."
                </p>
                {move || app.model.with(facts)}
                <WeightsChoice />
                <ShippedMenu />
                <form
                    class="hub-form"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        load_hub();
                    }
                >
                    <label class="field field-grow">
                        <span>"From the Hugging Face Hub: repository id or URL"</span>
                        <input
                            type="text"
                            list="hub-examples"
                            data-testid="hub-id"
                            spellcheck="false"
                            placeholder="timm/vit_small_patch16_224.augreg_in21k"
                            prop:value=move || hub_input.get()
                            on:input=move |ev| hub_input.set(event_target_value(&ev))
                        />
                    </label>
                    <datalist id="hub-examples">
                        <option value="timm/vit_tiny_patch16_224.augreg_in21k"></option>
                        <option value="timm/vit_small_patch16_224.augreg_in21k"></option>
                        <option value="timm/vit_base_patch16_224.mae"></option>
                        <option value="facebook/dinov2-small"></option>
                    </datalist>
                    <button
                        type="submit"
                        data-testid="hub-load"
                        disabled=move || hub_input.with(|s| s.trim().is_empty()) || !app.gpu_ready()
                    >
                        "Download"
                    </button>
                </form>
                <p class="note">
                    "timm or transformers ViT and DINOv2 repositories with model.safetensors and \
                     config.json. Downloads are kept in this browser; "
                    <button type="button" class="link" data-testid="hub-forget" on:click=forget>
                        "forget them"
                    </button> "."
                    {move || {
                        cache_note
                            .get()
                            .map(|n| {
                                view! {
                                    " "
                                    <span data-testid="hub-cache-note">{n}</span>
                                }
                            })
                    }}
                </p>
                <details class="local-model">
                    <summary>"Load a local model"</summary>
                    <p class="note">
                        "Weights in timm or Hugging Face naming (.safetensors) and their config \
                         (a timm-style JSON or an HF config.json). They stay in this tab."
                    </p>
                    <label class="field">
                        <span>"Weights (.safetensors)"</span>
                        <input
                            type="file"
                            accept=".safetensors"
                            data-testid="model-file"
                            on:change=on_weights
                        />
                    </label>
                    <label class="field">
                        <span>"Config (.json)"</span>
                        <input
                            type="file"
                            accept=".json,application/json"
                            data-testid="model-config-file"
                            on:change=on_config
                        />
                    </label>
                    <div class="actions">
                        <button
                            type="button"
                            data-testid="model-load"
                            disabled=move || !can_load()
                            on:click=load_local
                        >
                            "Load this model"
                        </button>
                    </div>
                </details>
            </div>
        </section>
    }
}
