//! Small values kept in the browser's `localStorage` as JSON, so a reload starts from the
//! user's last choice. Unreadable or missing values read as None; where there is no
//! `localStorage` (private modes, switched off) nothing is kept and nothing fails.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::js;

fn storage() -> Option<wasm_bindgen::JsValue> {
    let window = web_sys::window()?;
    // Reading `localStorage` itself throws where storage is switched off.
    let storage = js_sys::Reflect::get(&window, &"localStorage".into()).ok()?;
    (!storage.is_null() && !storage.is_undefined()).then_some(storage)
}

/// The value saved under `key`, if there is one and it parses.
pub fn load<T: DeserializeOwned>(key: &str) -> Option<T> {
    storage()
        .and_then(|s| js::call(&s, "getItem", &[key.into()]).ok())
        .and_then(|v| v.as_string())
        .and_then(|text| serde_json::from_str(&text).ok())
}

/// Saves `value` under `key`; a refusal (storage full or off) is a console warning naming
/// `what`.
pub fn save<T: Serialize>(key: &str, value: &T, what: &str) {
    let Ok(text) = serde_json::to_string(value) else {
        return;
    };
    if let Some(s) = storage()
        && let Err(e) = js::call(&s, "setItem", &[key.into(), text.into()])
    {
        gloo::console::warn!(format!("BPT Lab: {what} were not saved: {e}"));
    }
}
