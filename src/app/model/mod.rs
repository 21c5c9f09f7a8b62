//! The backbone: its state, the loaders (offline default, local files, the Hub), the browser's
//! cache of Hub downloads, and the model panel.

pub mod cache;
pub mod facts;
pub mod loaders;
pub mod panel;
pub mod precision;
pub mod state;
