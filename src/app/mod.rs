//! The BPT Lab page (wasm32 only): a Leptos client-side app over the engine.
//!
//! On load it asks the browser for WebGPU, acquires the engine's [`GpuContext`] and runs the
//! self-check, showing the adapter and the verified figures, or a message that says what to do
//! when WebGPU is missing or the GPU fails. The context is then shared (see `state`) with the
//! model, data, runs, predict, distributions and prompts panels: load a backbone, add pictures
//! per class, tune prompts with VPT or BPT, compare the curves and the learned prompts, export a
//! run and classify new pictures.

mod bench_page;
mod chart;
mod data_panel;
mod data_state;
mod decode;
mod dist_panel;
mod fetch;
mod gpu_lost;
mod gpu_panel;
mod hist_chart;
mod js;
mod model_cache;
mod model_panel;
mod model_state;
mod persist;
mod predict_panel;
mod probe;
mod prompt_panel;
mod run_io;
mod run_state;
mod runs_panel;
mod samples;
mod selfcheck_panel;
mod settings_store;
mod state;
mod train_loop;
mod trainer;
mod worker_client;
mod worker_main;
mod worker_protocol;

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::gpu::{AdapterSummary, GpuContext, selfcheck};
use data_panel::DataPanel;
use dist_panel::DistributionsPanel;
use gpu_panel::GpuPanel;
use model_panel::ModelPanel;
use model_state::ModelSource;
use predict_panel::PredictPanel;
use probe::{BrowserAdapter, WebGpuMissing};
use prompt_panel::PromptsPanel;
use run_state::{Control, RunStatus};
use runs_panel::RunsPanel;
use selfcheck_panel::SelfCheckPanel;
use state::AppState;

/// Where the page stands with the GPU.
#[derive(Clone, Debug)]
pub enum GpuState {
    Probing,
    Missing(WebGpuMissing),
    Ready {
        browser: BrowserAdapter,
        adapter: AdapterSummary,
    },
    Failed(String),
    /// The device was lost after it started; the reason the browser gave.
    Lost(String),
}

/// Where the start-up self-check stands.
#[derive(Clone, Debug)]
pub enum CheckState {
    Waiting,
    Running,
    Done(Box<selfcheck::SelfCheck>),
    Failed(String),
}

/// Mounts the page on `<body>` (the benchmark page instead for `?bench`, see `bench_page`); in
/// the training worker, which runs this same module without a window, serves runs instead.
pub fn start() {
    console_error_panic_hook::set_once();
    if web_sys::window().is_none() {
        worker_main::serve();
    } else if bench_page::requested() {
        leptos::mount::mount_to_body(bench_page::BenchPage);
    } else {
        leptos::mount::mount_to_body(App);
    }
}

#[component]
fn App() -> impl IntoView {
    let app = AppState::new();
    app.provide();
    persist::start(app);
    let gpu = RwSignal::new(GpuState::Probing);
    let check = RwSignal::new(CheckState::Waiting);

    // The model to load again once a lost GPU is restarted.
    let reload = StoredValue::new_local(None::<ModelSource>);
    // Counts GPU starts, so a loss reported for an older device is ignored.
    let epoch = StoredValue::new(0u64);

    let on_lost = move |reason: String| {
        gloo::console::error!(format!("BPT Lab: the GPU was lost: {reason}"));
        app.gpu.set(None);
        gpu.set(GpuState::Lost(reason));
        trainer::control(app, Control::Stop);
        if let Some(source) = model_state::drop_for_lost_gpu(app) {
            reload.set_value(Some(source));
        }
        app.runs.update(|runs| {
            for run in runs.iter_mut() {
                if run.status.active() {
                    run.status = RunStatus::Failed("the GPU was lost".into());
                }
                if run.result.take().is_some() {
                    run.summary
                        .push_str(" · its trained prompts were lost with the GPU");
                }
            }
        });
    };

    let start_gpu = move || {
        epoch.update_value(|e| *e += 1);
        let this_start = epoch.get_value();
        gpu.set(GpuState::Probing);
        check.set(CheckState::Waiting);
        app.gpu.set(None);
        spawn_local(async move {
            let browser = match probe::probe().await {
                Ok(browser) => browser,
                Err(missing) => return gpu.set(GpuState::Missing(missing)),
            };
            let ctx = match GpuContext::new().await {
                Ok(ctx) => ctx,
                Err(e) => {
                    gloo::console::error!(format!("BPT Lab: GPU start failed: {e}"));
                    return gpu.set(GpuState::Failed(e.to_string()));
                }
            };
            let ctx = Rc::new(ctx);
            if let Some(lost) = gpu_lost::lost_promise(&ctx) {
                spawn_local(async move {
                    let reason = gpu_lost::wait(lost).await;
                    if epoch.get_value() == this_start {
                        on_lost(reason);
                    }
                });
            }
            gpu.set(GpuState::Ready {
                browser,
                adapter: ctx.adapter().clone(),
            });
            app.gpu.set(Some(ctx.clone()));
            if let Some(source) = reload.try_update_value(Option::take).flatten() {
                spawn_local(model_state::reload(app, source));
            }
            check.set(CheckState::Running);
            match selfcheck::run(&ctx).await {
                Ok(report) => {
                    if !report.passed() {
                        gloo::console::error!(format!("BPT Lab: self-check mismatch: {report:?}"));
                    }
                    check.set(CheckState::Done(Box::new(report)))
                }
                Err(e) => {
                    gloo::console::error!(format!("BPT Lab: self-check failed: {e}"));
                    check.set(CheckState::Failed(e.to_string()))
                }
            }
        });
    };
    start_gpu();

    view! {
        <header class="masthead">
            <h1>"BPT Lab"</h1>
            <p class="tagline">
                "Bilinear Prompt Tuning of Vision Transformers, on the GPU you already have."
            </p>
        </header>
        <main class="panels">
            <GpuPanel state=gpu retry=move || start_gpu() />
            <SelfCheckPanel state=check />
            <ModelPanel />
            <DataPanel />
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
