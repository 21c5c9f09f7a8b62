//! Small bridges to browser APIs: promises, timers, files, downloads.
//!
//! Methods web-sys would gate behind features the build does not enable yet (`File`,
//! `FileList`, `DataTransfer`, `Performance`, the 2D contexts) are reached through `Reflect`:
//! enabling a web-sys feature rebuilds wgpu, cubecl and burn, which costs half an hour on the
//! 2-core build machines, and these calls are few and stable.

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, HtmlAnchorElement, Url};

/// `target[key]`, or `undefined`.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `target[method](...args)`.
pub fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let f = get(target, method)
        .dyn_into::<Function>()
        .map_err(|_| format!("the browser lacks {method}()"))?;
    Reflect::apply(&f, target, &args.iter().collect::<Array>()).map_err(|e| message(&e))
}

/// Awaits a JavaScript promise.
pub async fn resolve(promise: JsValue) -> Result<JsValue, String> {
    JsFuture::from(promise.unchecked_into::<Promise>())
        .await
        .map_err(|e| message(&e))
}

/// The text of a thrown JavaScript value (an `Error`'s message, or the value as a string).
pub fn message(err: &JsValue) -> String {
    let msg = get(err, "message").as_string();
    msg.or_else(|| err.as_string())
        .unwrap_or_else(|| format!("{err:?}"))
}

/// `performance.now()` in milliseconds (monotonic; `std::time::Instant` panics on wasm), in the
/// page or in a worker.
pub fn now_ms() -> f64 {
    call(&get(&js_sys::global(), "performance"), "now", &[])
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or_else(js_sys::Date::now)
}

/// Resolves after `ms` milliseconds through the event loop, so the page can paint and react
/// between two pieces of long work (0 ms: as soon as pending events are handled). Works in the
/// page and in a worker.
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |done, _| {
        let _ = call(&js_sys::global(), "setTimeout", &[done.into(), ms.into()]);
    });
    let _ = JsFuture::from(promise).await;
}

/// A file the user picked or dropped.
#[derive(Clone)]
pub struct PickedFile {
    pub name: String,
    pub blob: Blob,
}

impl PickedFile {
    pub fn size(&self) -> f64 {
        self.blob.size()
    }

    /// The whole file's bytes.
    pub async fn bytes(&self) -> Result<Vec<u8>, String> {
        let buffer = resolve(self.blob.array_buffer().into())
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }

    pub async fn text(&self) -> Result<String, String> {
        let text = resolve(self.blob.text().into())
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        Ok(text.as_string().unwrap_or_default())
    }
}

/// The files of a `FileList` (from an `<input type=file>` or a drop's `dataTransfer`).
pub fn file_list(list: &JsValue) -> Vec<PickedFile> {
    let len = get(list, "length").as_f64().unwrap_or(0.0) as u32;
    (0..len)
        .filter_map(|i| Reflect::get_u32(list, i).ok())
        .filter(|f| f.is_object())
        .map(|f| PickedFile {
            name: get(&f, "name")
                .as_string()
                .unwrap_or_else(|| "(unnamed)".into()),
            blob: f.unchecked_into(),
        })
        .collect()
}

/// The files chosen in an `<input type=file>`.
pub fn input_files(input: &web_sys::HtmlInputElement) -> Vec<PickedFile> {
    file_list(&get(input, "files"))
}

/// The files chosen in an `<input type=file>`; clears the input so the same file can be
/// chosen again.
pub fn take_input_files(input: &web_sys::HtmlInputElement) -> Vec<PickedFile> {
    let files = input_files(input);
    input.set_value("");
    files
}

/// The files of a drop event.
pub fn dropped_files(ev: &web_sys::DragEvent) -> Vec<PickedFile> {
    file_list(&get(&get(ev, "dataTransfer"), "files"))
}

/// An object URL for a blob (thumbnails); revoke with [`revoke_url`].
pub fn object_url(blob: &Blob) -> String {
    Url::create_object_url_with_blob(blob).unwrap_or_default()
}

pub fn revoke_url(url: &str) {
    if !url.is_empty() {
        let _ = Url::revoke_object_url(url);
    }
}

/// Offers `bytes` as a download named `name` (a Blob URL on a temporary link).
pub fn download(bytes: &[u8], name: &str) -> Result<(), String> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let blob = Blob::new_with_u8_array_sequence(&parts).map_err(|e| message(&e))?;
    let url = Url::create_object_url_with_blob(&blob).map_err(|e| message(&e))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| message(&e))?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // Revoke once the browser has started the download.
    wasm_bindgen_futures::spawn_local(async move {
        sleep(60_000).await;
        let _ = Url::revoke_object_url(&url);
    });
    Ok(())
}
