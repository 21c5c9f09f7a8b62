//! The BPT Lab page (wasm32 only): a Leptos client-side app over the engine.
//!
//! On load it asks the browser for WebGPU, acquires the engine's [`crate::gpu::GpuContext`] and runs the
//! self-check, showing the adapter and the verdict in one line at the top (the figures on
//! demand), or a message that says what to do when WebGPU is missing or the GPU fails. The
//! context is then shared (see `state`) with the model, data, runs, predict, distributions and
//! prompts panels: load a backbone, add pictures per class, tune prompts with VPT or BPT,
//! compare the curves and the learned prompts, export a run and classify new pictures.
//!
//! The first screen is the work: the GPU and model cards are one line each, and the pictures sit
//! beside the run settings (stacked on a narrow screen); see `static/style.css`, "Layout".

mod analysis;
mod bench;
mod browser;
mod data;
mod gpu;
mod model;
mod persist;
mod runs;
mod state;
mod ui;
mod worker;

use leptos::prelude::*;

use analysis::distributions::DistributionsPanel;
use analysis::predict::PredictPanel;
use analysis::prompts::PromptsPanel;
use data::panel::DataPanel;
use gpu::panel::GpuPanel;
use gpu::start::GpuStarter;
use model::panel::ModelPanel;
use persist::SaveStatusLine;
use runs::panel::RunsPanel;
use runs::train_panel::TrainPanel;
use state::AppState;

/// Mounts the page on `<body>` (the benchmark page instead for `?bench`, see `bench`); in the
/// training worker, which runs this same module without a window, serves runs instead.
pub fn start() {
    console_error_panic_hook::set_once();
    browser::console_log::install();
    if web_sys::window().is_none() {
        worker::serve::serve();
    } else if bench::requested() {
        leptos::mount::mount_to_body(bench::BenchPage);
    } else {
        leptos::mount::mount_to_body(App);
    }
}

#[component]
fn App() -> impl IntoView {
    let app = AppState::new();
    app.provide();
    persist::start(app);
    let gpu = GpuStarter::new(app);
    gpu.start();

    view! {
        <header class="masthead">
            <h1>"BPT Lab"</h1>
            <p class="tagline">
                "Bilinear Prompt Tuning of Vision Transformers, on the GPU you already have."
            </p>
        </header>
        <main class="panels">
            <div class="status-cards">
                <GpuPanel gpu=app.gpu check=app.check retry=move || gpu.start() />
                <ModelPanel />
            </div>
            <DataPanel>
                <SaveStatusLine />
            </DataPanel>
            <TrainPanel />
            <RunsPanel />
            <PredictPanel />
            <DistributionsPanel />
            <PromptsPanel />
        </main>
        <footer class="colophon">
            "Everything runs in this tab through WebGPU; nothing is uploaded. Method: Wang, Duan \
             and Kong, \u{201c}Attention to Burstiness: Low-Rank Bilinear Prompt Tuning\u{201d}, \
             ICCV 2025."
        </footer>
    }
}
