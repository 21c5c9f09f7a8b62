//! Where the page stands with the GPU and with the start-up self-check. The context lives in
//! [`GpuState::Ready`] only, so there is one answer to "is the GPU ready".

use std::rc::Rc;

use super::probe::{BrowserAdapter, WebGpuMissing};
use crate::gpu::{AdapterSummary, GpuContext, selfcheck};

/// What every action that needs the GPU says when it is not ready.
pub const GPU_NOT_READY: &str = "the GPU is not ready: see the GPU line at the top of the page";

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

    /// Whether the page has no GPU for a reason the user must act on.
    pub fn failed(&self) -> bool {
        matches!(self, Self::Missing(_) | Self::Failed(_) | Self::Lost(_))
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

impl CheckState {
    /// Whether the self-check could not run or the GPU disagreed with the CPU reference.
    pub fn failed(&self) -> bool {
        match self {
            Self::Failed(_) => true,
            Self::Done(report) => !report.passed(),
            Self::Waiting | Self::Running => false,
        }
    }
}
