//! The backbone: its state, the loaders (served with the page, local files, the Hub), the
//! browser's cache of Hub downloads, and the model panel with its menu.

pub mod cache;
pub mod facts;
pub mod loaders;
pub mod menu;
pub mod panel;
pub mod precision;
pub mod state;
