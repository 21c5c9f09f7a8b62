//! The run settings form, kept in the browser's `localStorage` so a reload starts from the last
//! settings. Unreadable or missing values fall back to the defaults field by field; where there
//! is no `localStorage` (private modes, switched off) the form simply starts from the defaults.

use crate::app::browser::saved;
use crate::app::runs::state::RunSettings;

const KEY: &str = "bpt-lab.run-settings";

/// The saved settings, or the defaults.
pub fn load() -> RunSettings {
    saved::load(KEY).unwrap_or_default()
}

pub fn save(settings: &RunSettings) {
    saved::save(KEY, settings, "the run settings");
}
