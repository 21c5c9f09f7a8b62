//! The model card's choice of how the blocks' linear weights are stored: f32, or f16 where the
//! adapter has `shader-f16` (see `kernels::half`). The choice is kept in `localStorage`;
//! changing it places the model in use again from its files, and every later load follows it.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::browser::saved;
use crate::app::gpu::state::GpuState;
use crate::app::model::loaders;
use crate::app::model::state::ModelState;
use crate::app::state::{AppState, WEIGHTS_KEY};
use crate::kernels::half::WeightStorage;

/// Whether this page's GPU can store weights in f16, or why not.
fn availability(gpu: &GpuState) -> Result<(), &'static str> {
    let ctx = gpu.context().ok_or("Needs the GPU, which is not ready.")?;
    if !ctx.adapter().shader_f16 {
        return Err("This GPU has no shader-f16, so the weights stay in f32.");
    }
    if !ctx.kernel_check().ok() {
        return Err("Needs our ViT kernels, which are off on this GPU.");
    }
    Ok(())
}

/// How the model in use stores its weights, and why f16 was refused if it was.
fn in_use(state: &ModelState) -> Option<(String, Option<String>)> {
    let model = state.ready()?;
    let storage = match model.storage() {
        WeightStorage::F32 => "f32",
        WeightStorage::F16 => "f16",
    };
    Some((storage.to_string(), model.storage_note.clone()))
}

#[component]
pub fn WeightsChoice() -> impl IntoView {
    let app = AppState::get();
    let available = move || app.gpu.with(availability);
    let on_change = move |ev: leptos::ev::Event| {
        let storage = if event_target_checked(&ev) {
            WeightStorage::F16
        } else {
            WeightStorage::F32
        };
        app.weights.set(storage);
        saved::save(WEIGHTS_KEY, &storage, "the weights' precision");
        spawn_local(loaders::place_again(app));
    };
    let busy = move || {
        app.model
            .with(|m| matches!(m, ModelState::Reading { .. } | ModelState::Placing { .. }))
    };

    view! {
        <div class="weights-choice" data-testid="weights-choice">
            <label>
                <input
                    type="checkbox"
                    data-testid="f16-weights"
                    prop:checked=move || {
                        app.weights.get() == WeightStorage::F16 && available().is_ok()
                    }
                    disabled=move || available().is_err() || busy()
                    on:change=on_change
                />
                " Store the weights in f16"
            </label>
            <p class="note" data-testid="f16-note">
                {move || match available() {
                    Ok(()) => {
                        "Halves the memory of the blocks' linear layers (nearly all of a ViT's \
                         weights); activations and sums stay f32. The final tokens move by about \
                         1e-3 (relative) on DINOv2-S, see BENCHMARKS.md."
                    }
                    Err(why) => why,
                }}
                {move || {
                    app.model
                        .with(in_use)
                        .map(|(storage, note)| {
                            view! {
                                " In use: "
                                <span data-testid="weights-in-use">{storage}</span>
                                "."
                                {note
                                    .map(|n| {
                                        view! {
                                            " "
                                            <span class="fact-warn" data-testid="f16-refused">
                                                {n}
                                            </span>
                                        }
                                    })}
                            }
                        })
                }}
            </p>
        </div>
    }
}
