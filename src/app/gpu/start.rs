//! Starting the GPU: the WebGPU probe, the engine's context, the watch for its loss, and the
//! self-check; after a loss, what lived on the device is dropped and the model loads again on
//! the next start.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::{CheckState, GpuState};
use super::{lost, probe};
use crate::app::model::loaders;
use crate::app::model::state::ModelSource;
use crate::app::runs::state::{Control, RunStatus};
use crate::app::runs::trainer;
use crate::app::state::AppState;
use crate::gpu::{GpuContext, selfcheck};

/// Starts (or restarts) the GPU. Can be called again at any time, e.g. by the panel's retry.
#[derive(Clone, Copy)]
pub struct GpuStarter {
    app: AppState,
    /// The model to load again once a lost GPU is restarted.
    reload: StoredValue<Option<ModelSource>, LocalStorage>,
    /// Counts GPU starts, so a loss reported for an older device is ignored.
    epoch: StoredValue<u64>,
}

impl GpuStarter {
    pub fn new(app: AppState) -> Self {
        Self {
            app,
            reload: StoredValue::new_local(None),
            epoch: StoredValue::new(0),
        }
    }

    pub fn start(self) {
        let Self { app, reload, epoch } = self;
        epoch.update_value(|e| *e += 1);
        let this_start = epoch.get_value();
        app.gpu.set(GpuState::Probing);
        app.check.set(CheckState::Waiting);
        spawn_local(async move {
            let browser = match probe::probe().await {
                Ok(browser) => browser,
                Err(missing) => return app.gpu.set(GpuState::Missing(missing)),
            };
            let ctx = match GpuContext::new().await {
                Ok(ctx) => Rc::new(ctx),
                Err(e) => {
                    gloo::console::error!(format!("BPT Lab: GPU start failed: {e}"));
                    return app.gpu.set(GpuState::Failed(e.to_string()));
                }
            };
            if let Some(promise) = lost::lost_promise(&ctx) {
                spawn_local(async move {
                    let reason = lost::wait(promise).await;
                    if epoch.get_value() == this_start {
                        self.lost(reason);
                    }
                });
            }
            app.gpu.set(GpuState::Ready {
                browser,
                adapter: ctx.adapter().clone(),
                ctx: ctx.clone(),
            });
            if let Some(source) = reload.try_update_value(Option::take).flatten() {
                spawn_local(loaders::reload(app, source));
            }
            app.check.set(CheckState::Running);
            match selfcheck::run(&ctx).await {
                Ok(report) => {
                    if !report.passed() {
                        gloo::console::error!(format!("BPT Lab: self-check mismatch: {report:?}"));
                    }
                    app.check.set(CheckState::Done(Box::new(report)))
                }
                Err(e) => {
                    gloo::console::error!(format!("BPT Lab: self-check failed: {e}"));
                    app.check.set(CheckState::Failed(e.to_string()))
                }
            }
        });
    }

    /// The device was lost: runs stop, the model and the trained classifiers (on that device)
    /// go, and the model's source is kept to load it again after a restart.
    fn lost(self, reason: String) {
        let app = self.app;
        gloo::console::error!(format!("BPT Lab: the GPU was lost: {reason}"));
        app.gpu.set(GpuState::Lost(reason));
        trainer::control(app, Control::Stop);
        if let Some(source) = loaders::drop_for_lost_gpu(app) {
            self.reload.set_value(Some(source));
        }
        app.runs.update(|runs| {
            for run in runs.iter_mut() {
                if run.status.active() {
                    run.status = RunStatus::Failed("the GPU was lost".into());
                }
                if run.result.take().is_some() {
                    run.summary
                        .push_str(" \u{00b7} its trained prompts were lost with the GPU");
                }
            }
        });
    }
}
