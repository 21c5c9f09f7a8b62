//! The run settings form, kept in the browser's `localStorage` so a reload starts from the last
//! settings. Unreadable or missing values fall back to the defaults field by field; where there
//! is no `localStorage` (private modes, switched off) the form simply starts from the defaults.

use crate::app::browser::js;
use crate::app::runs::state::RunSettings;

const KEY: &str = "bpt-lab.run-settings";

fn storage() -> Option<wasm_bindgen::JsValue> {
    let window = web_sys::window()?;
    // Reading `localStorage` itself throws where storage is switched off.
    let storage = js_sys::Reflect::get(&window, &"localStorage".into()).ok()?;
    (!storage.is_null() && !storage.is_undefined()).then_some(storage)
}

/// The saved settings, or the defaults.
pub fn load() -> RunSettings {
    storage()
        .and_then(|s| js::call(&s, "getItem", &[KEY.into()]).ok())
        .and_then(|v| v.as_string())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

pub fn save(settings: &RunSettings) {
    let Ok(text) = serde_json::to_string(settings) else {
        return;
    };
    if let Some(s) = storage()
        && let Err(e) = js::call(&s, "setItem", &[KEY.into(), text.into()])
    {
        gloo::console::warn!(format!("BPT Lab: the run settings were not saved: {e}"));
    }
}
