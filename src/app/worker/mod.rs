//! The training worker: the messages between page and worker, the page's client, the worker's
//! side (serving runs), and the training loop both run.

pub mod client;
pub mod gather;
pub mod outbox;
pub mod predict;
pub mod protocol;
pub mod serve;
pub mod train_loop;
