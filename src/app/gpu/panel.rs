//! The "Your GPU" panel: the adapter in use, or why there is none, or that it was lost.

use leptos::prelude::*;

use super::state::GpuState;

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

fn or_hidden(text: &str) -> String {
    if text.is_empty() {
        "not disclosed".into()
    } else {
        text.into()
    }
}

#[component]
pub fn GpuPanel(
    state: RwSignal<GpuState, LocalStorage>,
    retry: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let body = move || {
        match state.get() {
        GpuState::Probing => view! {
            <p class="muted" data-testid="gpu-status" data-state="probing">"Looking for WebGPU\u{2026}"</p>
        }
        .into_any(),
        GpuState::Missing(missing) => view! {
            <div class="notice notice-error" role="alert" data-testid="webgpu-missing">
                <p class="notice-title" data-testid="gpu-status" data-state="missing">{missing.headline()}</p>
                <p>{missing.advice()}</p>
                <button type="button" on:click=move |_| retry()>"Try again"</button>
            </div>
        }
        .into_any(),
        GpuState::Failed(message) => view! {
            <div class="notice notice-error" role="alert">
                <p class="notice-title" data-testid="gpu-status" data-state="failed">"The GPU could not be started"</p>
                <p data-testid="gpu-error">{message}</p>
                <button type="button" on:click=move |_| retry()>"Try again"</button>
            </div>
        }
        .into_any(),
        GpuState::Lost(reason) => view! {
            <div class="notice notice-error" role="alert" data-testid="gpu-lost">
                <p class="notice-title" data-testid="gpu-status" data-state="lost">"The GPU was lost"</p>
                <p>
                    "The browser took the GPU away from this page (a driver reset, another \
                     program, or too much memory). Your pictures and runs are kept. Restart the \
                     GPU to go on: the model loads again by itself (a local one asks for its \
                     files), and the runs trained on it get their prompts back from this \
                     browser's saved copy."
                </p>
                <p class="note" data-testid="gpu-error">{reason}</p>
                <button type="button" data-testid="gpu-restart" on:click=move |_| retry()>"Restart the GPU"</button>
            </div>
        }
        .into_any(),
        GpuState::Ready { browser, adapter, .. } => {
            let kind = if browser.is_fallback { "software (fallback adapter)" } else { "hardware" };
            view! {
                <p class="status-line" data-testid="gpu-status" data-state="ready">
                    <span class="dot dot-ok" aria-hidden="true"></span>
                    "WebGPU ready \u{2014} " {kind}
                </p>
                <dl class="facts" data-testid="adapter-info">
                    <dt>"Vendor"</dt><dd>{or_hidden(&browser.vendor)}</dd>
                    <dt>"Architecture"</dt><dd>{or_hidden(&browser.architecture)}</dd>
                    <dt>"Description"</dt><dd>{or_hidden(&adapter.name)}</dd>
                    <dt>"Largest storage binding"</dt><dd>{mib(adapter.max_storage_buffer_binding_size)}</dd>
                    <dt>"Largest buffer"</dt><dd>{mib(adapter.max_buffer_size)}</dd>
                    <dt>"Workgroup memory"</dt><dd>{format!("{} KiB", adapter.max_compute_workgroup_storage_size >> 10)}</dd>
                    <dt>"Threads per workgroup"</dt><dd>{adapter.max_compute_invocations_per_workgroup}</dd>
                    <dt>"shader-f16 / subgroups / timestamps"</dt>
                    <dd>{format!("{} / {} / {}", yes_no(adapter.shader_f16), yes_no(adapter.subgroups), yes_no(adapter.timestamp_query))}</dd>
                </dl>
            }
            .into_any()
        }
    }
    };
    view! {
        <section class="panel" aria-labelledby="gpu-heading">
            <h2 id="gpu-heading">"Your GPU"</h2>
            {body}
        </section>
    }
}
