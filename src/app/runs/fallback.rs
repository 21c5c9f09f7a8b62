//! On a software (fallback) adapter a run at the page's defaults takes many minutes per epoch:
//! the run settings say so and offer a smaller side and fewer epochs, which finish in minutes.

use leptos::prelude::*;

use super::state::RunSettings;
use crate::app::gpu::state::GpuState;
use crate::app::state::AppState;

/// The side and epochs proposed on a software adapter.
pub const SOFTWARE_SIDE: usize = 56;
pub const SOFTWARE_EPOCHS: usize = 3;

/// Whether the page's GPU is a software (fallback) adapter.
fn software(gpu: &GpuState) -> bool {
    matches!(gpu, GpuState::Ready { browser, .. } if browser.is_fallback)
}

#[component]
pub fn FallbackNote(settings: RwSignal<RunSettings>) -> impl IntoView {
    let app = AppState::get();
    let larger = move || settings.with(|s| s.size > SOFTWARE_SIDE || s.epochs > SOFTWARE_EPOCHS);
    let apply = move |_| {
        settings.update(|s| {
            s.size = s.size.min(SOFTWARE_SIDE);
            s.epochs = s.epochs.min(SOFTWARE_EPOCHS);
        })
    };
    move || {
        app.gpu.with(software).then(|| {
            view! {
                <div class="notice notice-warn" data-testid="fallback-note">
                    <p>
                        "This browser's WebGPU runs on a software adapter (the CPU), so training \
                         is slow. A run shows its time left after the first step."
                    </p>
                    {move || {
                        larger()
                            .then(|| {
                                view! {
                                    <button
                                        type="button"
                                        class="secondary small"
                                        data-testid="fallback-apply"
                                        on:click=apply
                                    >
                                        {format!(
                                            "Use {SOFTWARE_SIDE} px and at most {SOFTWARE_EPOCHS} epochs",
                                        )}
                                    </button>
                                }
                            })
                    }}
                </div>
            }
        })
    }
}
