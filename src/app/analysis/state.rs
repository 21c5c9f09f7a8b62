//! The analysis requests the training worker answers: a gather in progress (the pictures going
//! through the model for the distributions panel: its number, how far it is, where its result
//! goes) and predictions. The worker's events reach them through the runs' event handler, which
//! knows nothing else of analysis.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use leptos::prelude::*;

use crate::analysis::WhiteningReport;
use crate::app::worker::protocol::GatherCounts;
use crate::model::checkpoint::HostTensor;

/// The views of one block and source, by name (`x`, `wq_wk`, `x_tilde`, `x_tilde_whitened`,
/// `x_tilde_whitened_held_out`), the picture counts and the whitening's diagnostics.
pub struct Gathered {
    pub counts: GatherCounts,
    pub tensors: Vec<(String, HostTensor)>,
    /// The source's whitening: Sigma's spectrum and the prompts' energy shares.
    pub whitening: WhiteningReport,
}

/// Where the worker's answers to numbered requests go: each request's number and the channel
/// its answer (or the worker's message) is sent on.
pub struct Replies<T> {
    inner: StoredValue<Rc<RefCell<RepliesInner<T>>>, LocalStorage>,
}

impl<T> Clone for Replies<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Replies<T> {}

struct RepliesInner<T> {
    waiting: Vec<(u32, oneshot::Sender<Result<T, String>>)>,
    next: u32,
}

impl<T: 'static> Replies<T> {
    pub fn new() -> Self {
        Self {
            inner: StoredValue::new_local(Rc::new(RefCell::new(RepliesInner {
                waiting: Vec::new(),
                next: 0,
            }))),
        }
    }

    /// A new request's number and the receiver of its answer.
    pub fn begin(&self) -> (u32, oneshot::Receiver<Result<T, String>>) {
        let (tx, rx) = oneshot::channel();
        let inner = self.inner.get_value();
        let mut inner = inner.borrow_mut();
        inner.next = inner.next.wrapping_add(1);
        let job = inner.next;
        inner.waiting.push((job, tx));
        (job, rx)
    }

    /// Hands request `job` its answer (an answer nobody waits for any more is dropped).
    pub fn deliver(&self, job: u32, result: Result<T, String>) {
        let inner = self.inner.get_value();
        let mut inner = inner.borrow_mut();
        if let Some(at) = inner.waiting.iter().position(|(j, _)| *j == job) {
            let (_, tx) = inner.waiting.swap_remove(at);
            let _ = tx.send(result);
        }
    }

    /// Gives up every request still waiting (their receivers see the channel closed).
    pub fn forget_all(&self) {
        self.inner.get_value().borrow_mut().waiting.clear();
    }
}

/// The page's gather jobs (one at a time): progress as a signal, the result through a reply.
#[derive(Clone, Copy)]
pub struct GatherJobs {
    /// (done, total) pictures of the job in progress.
    pub progress: RwSignal<Option<(usize, usize)>>,
    /// The user asked the job in progress to stop.
    pub stop: RwSignal<bool>,
    replies: Replies<Gathered>,
    current: RwSignal<Option<u32>>,
}

impl GatherJobs {
    pub fn new() -> Self {
        Self {
            progress: RwSignal::new(None),
            stop: RwSignal::new(false),
            replies: Replies::new(),
            current: RwSignal::new(None),
        }
    }

    /// A new job's number and the receiver of its result (a job still waiting is dropped).
    pub fn begin(&self) -> (u32, oneshot::Receiver<Result<Gathered, String>>) {
        self.replies.forget_all();
        let (job, rx) = self.replies.begin();
        self.current.set(Some(job));
        self.progress.set(Some((0, 0)));
        self.stop.set(false);
        (job, rx)
    }

    /// The job in progress, if any.
    pub fn current(&self) -> Option<u32> {
        self.current.get_untracked()
    }

    pub fn report_progress(&self, job: u32, done: usize, total: usize) {
        if self.current() == Some(job) {
            self.progress.set(Some((done, total)));
        }
    }

    /// Hands job `job`'s result to whoever waits for it.
    pub fn deliver(&self, job: u32, result: Result<Gathered, String>) {
        self.replies.deliver(job, result);
    }

    /// The job is over (delivered, failed on the page or given up).
    pub fn end(&self) {
        self.replies.forget_all();
        self.current.set(None);
        self.progress.set(None);
        self.stop.set(false);
    }
}

/// The tensors of a `Gathered` event from their shapes and the f32 bytes one after the other.
pub fn split_tensors(
    shapes: Vec<(String, Vec<usize>)>,
    bytes: &[u8],
) -> Result<Vec<(String, HostTensor)>, String> {
    let mut at = 0usize;
    let mut out = Vec::with_capacity(shapes.len());
    for (name, shape) in shapes {
        let values = shape
            .iter()
            .try_fold(1usize, |n, d| n.checked_mul(*d))
            .ok_or_else(|| format!("{name}: a shape too large"))?;
        let end = values
            .checked_mul(4)
            .and_then(|n| n.checked_add(at))
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| format!("{name}: the worker sent fewer values than its shape"))?;
        let data = bytes[at..end]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        at = end;
        out.push((name, HostTensor::new(shape, data)));
    }
    Ok(out)
}
