//! Runs: their records and settings, starting and stopping them (through the worker), run
//! files, comparisons of methods over seeds, the train card (settings and controls) and the
//! runs panel with its curves.

pub mod compare_panel;
pub mod comparison;
pub mod fallback;
pub mod files;
pub mod panel;
pub mod settings_store;
pub mod state;
pub mod train_panel;
pub mod trainer;
