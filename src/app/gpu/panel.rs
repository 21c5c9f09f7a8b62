//! The GPU card at the top of the page: one line naming the adapter in use and how the
//! self-check went, with the adapter's limits and the self-check's figures behind "Details".
//! A failure (WebGPU missing, the start failed, the GPU lost, the self-check failed or
//! disagreed) shows its message and its button in the card itself and opens the details.

use leptos::prelude::*;

use super::probe::BrowserAdapter;
use super::selfcheck_panel::{CheckSummary, SelfCheckDetails, check_notice};
use super::state::{CheckState, GpuState};
use crate::gpu::AdapterSummary;

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

/// A short name for the adapter: the browser's description, wgpu's, or vendor and architecture
/// (browsers often hide the description).
fn adapter_name(browser: &BrowserAdapter, adapter: &AdapterSummary) -> String {
    let vendor_arch = format!("{} {}", browser.vendor, browser.architecture);
    [&browser.description, &adapter.name, vendor_arch.trim()]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("an undisclosed adapter")
        .to_string()
}

/// The first item of the status line: the adapter, or a short word for what went wrong (the
/// failure's notice, below the line, carries the `gpu-status` test id then).
fn gpu_summary(state: &GpuState) -> AnyView {
    match state {
        GpuState::Probing => view! {
            <span class="status-item muted" data-testid="gpu-status" data-state="probing">
                "Looking for WebGPU\u{2026}"
            </span>
        }
        .into_any(),
        GpuState::Ready {
            browser, adapter, ..
        } => {
            let kind = if browser.is_fallback {
                "software"
            } else {
                "hardware"
            };
            view! {
                <span class="status-item" data-testid="gpu-status" data-state="ready">
                    <span class="dot dot-ok" aria-hidden="true"></span>
                    <span class="status-name">{adapter_name(browser, adapter)}</span>
                    <span class="muted">{format!("({kind})")}</span>
                </span>
            }
            .into_any()
        }
        GpuState::Missing(_) | GpuState::Failed(_) | GpuState::Lost(_) => {
            let word = match state {
                GpuState::Missing(_) => "no WebGPU",
                GpuState::Failed(_) => "could not start",
                _ => "lost",
            };
            view! {
                <span class="status-item status-bad">
                    <span class="dot dot-bad" aria-hidden="true"></span>
                    {word}
                </span>
            }
            .into_any()
        }
    }
}

/// What went wrong with the GPU and what to do, with its button; nothing when all is well.
fn gpu_notice(state: GpuState, retry: impl Fn() + Copy + Send + Sync + 'static) -> Option<AnyView> {
    Some(match state {
        GpuState::Missing(missing) => view! {
            <div class="notice notice-error" role="alert" data-testid="webgpu-missing">
                <p class="notice-title" data-testid="gpu-status" data-state="missing">
                    {missing.headline()}
                </p>
                <p>{missing.advice()}</p>
                <button type="button" on:click=move |_| retry()>
                    "Try again"
                </button>
            </div>
        }
        .into_any(),
        GpuState::Failed(message) => view! {
            <div class="notice notice-error" role="alert">
                <p class="notice-title" data-testid="gpu-status" data-state="failed">
                    "The GPU could not be started"
                </p>
                <p data-testid="gpu-error">{message}</p>
                <button type="button" on:click=move |_| retry()>
                    "Try again"
                </button>
            </div>
        }
        .into_any(),
        GpuState::Lost(reason) => view! {
            <div class="notice notice-error" role="alert" data-testid="gpu-lost">
                <p class="notice-title" data-testid="gpu-status" data-state="lost">
                    "The GPU was lost"
                </p>
                <p>
                    "The browser took the GPU away from this page (a driver reset, another \
                     program, or too much memory). Your pictures and runs are kept. Restart the \
                     GPU to go on: the model loads again by itself (a local one asks for its \
                     files), and the runs trained on it get their prompts back from this \
                     browser's saved copy."
                </p>
                <p class="note" data-testid="gpu-error">
                    {reason}
                </p>
                <button type="button" data-testid="gpu-restart" on:click=move |_| retry()>
                    "Restart the GPU"
                </button>
            </div>
        }
        .into_any(),
        GpuState::Probing | GpuState::Ready { .. } => return None,
    })
}

/// The adapter's limits and features, as the engine sees them.
fn adapter_facts(state: &GpuState) -> AnyView {
    let GpuState::Ready {
        browser,
        adapter,
        ctx,
    } = state
    else {
        return view! { <p class="muted">"No adapter in use."</p> }.into_any();
    };
    let kernels = ctx.kernel_check();
    let features = format!(
        "{} / {} / {}",
        yes_no(adapter.shader_f16),
        yes_no(adapter.subgroups),
        yes_no(adapter.timestamp_query)
    );
    view! {
        <dl class="facts" data-testid="adapter-info">
            <dt>"Vendor"</dt>
            <dd>{or_hidden(&browser.vendor)}</dd>
            <dt>"Architecture"</dt>
            <dd>{or_hidden(&browser.architecture)}</dd>
            <dt>"Description"</dt>
            <dd>{or_hidden(&adapter.name)}</dd>
            <dt>"Kind"</dt>
            <dd>{if browser.is_fallback { "software (fallback adapter)" } else { "hardware" }}</dd>
            <dt>"Largest storage binding"</dt>
            <dd>{mib(adapter.max_storage_buffer_binding_size)}</dd>
            <dt>"Largest buffer"</dt>
            <dd>{mib(adapter.max_buffer_size)}</dd>
            <dt>"Workgroup memory"</dt>
            <dd>{format!("{} KiB", adapter.max_compute_workgroup_storage_size >> 10)}</dd>
            <dt>"Threads per workgroup"</dt>
            <dd>{adapter.max_compute_invocations_per_workgroup}</dd>
            <dt>"shader-f16 / subgroups / timestamps"</dt>
            <dd>{features}</dd>
            <dt>"ViT kernels"</dt>
            <dd data-testid="kernel-check" class:fact-warn=!kernels.ok()>
                {kernels.summary()}
            </dd>
        </dl>
    }
    .into_any()
}

#[component]
pub fn GpuPanel(
    gpu: RwSignal<GpuState, LocalStorage>,
    check: RwSignal<CheckState, LocalStorage>,
    retry: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let open = RwSignal::new(false);
    // A failure opens the details by itself (the user may close them again).
    Effect::new(move |_| {
        if gpu.with(GpuState::failed) || check.with(CheckState::failed) {
            open.set(true);
        }
    });
    let toggle = move |_| open.update(|o| *o = !*o);

    view! {
        <section
            class="panel status-card gpu-card"
            class:open=move || open.get()
            aria-labelledby="gpu-heading"
        >
            <div class="status-bar">
                <h2 id="gpu-heading" class="status-label">
                    "GPU"
                </h2>
                <div class="status-items">
                    {move || gpu.with(gpu_summary)} <span class="status-sep" aria-hidden="true">
                        "\u{00b7}"
                    </span> <CheckSummary state=check />
                </div>
                <button
                    type="button"
                    class="link status-toggle"
                    data-testid="gpu-details-toggle"
                    aria-expanded=move || open.get().to_string()
                    aria-controls="gpu-details"
                    on:click=toggle
                >
                    {move || if open.get() { "hide details" } else { "details" }}
                </button>
            </div>
            {move || gpu_notice(gpu.get(), retry)}
            {move || check.with(check_notice)}
            <div
                id="gpu-details"
                class="status-details gpu-details"
                data-testid="gpu-details"
                hidden=move || !open.get()
            >
                <section class="detail-block" aria-labelledby="adapter-heading">
                    <h3 id="adapter-heading">"Adapter"</h3>
                    {move || gpu.with(adapter_facts)}
                </section>
                <SelfCheckDetails state=check />
            </div>
        </section>
    }
}
