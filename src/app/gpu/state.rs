//! Where the page stands with the GPU and with the start-up self-check. The context lives in
//! [`GpuState::Ready`] only, so there is one answer to "is the GPU ready".

use std::rc::Rc;

use super::probe::{BrowserAdapter, WebGpuMissing};
use crate::gpu::{AdapterSummary, GpuContext, selfcheck};

/// What every action that needs the GPU says when it is not ready.
pub const GPU_NOT_READY: &str = "the GPU is not ready: see the GPU panel";

#[derive(Clone)]
pub enum GpuState {
    Probing,
    Missing(WebGpuMissing),
    Ready {
        browser: BrowserAdapter,
        adapter: AdapterSummary,
        ctx: Rc<GpuContext>,
    },
    Failed(String),
    /// The device was lost after it started; the reason the browser gave.
    Lost(String),
}

impl GpuState {
    /// The engine's context, when the GPU is ready.
    pub fn context(&self) -> Option<Rc<GpuContext>> {
        match self {
            Self::Ready { ctx, .. } => Some(ctx.clone()),
            _ => None,
        }
    }
}

/// Where the start-up self-check stands.
#[derive(Clone, Debug)]
pub enum CheckState {
    Waiting,
    Running,
    Done(Box<selfcheck::SelfCheck>),
    Failed(String),
}
