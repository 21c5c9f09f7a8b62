//! Downloaded models kept in the browser's Cache Storage, so a reload (or a second visit) reads
//! them from disk instead of the network. Keyed by the file's URL; a fresh download replaces
//! the entry. Cache Storage exists only in secure contexts (https, or http on localhost); where
//! it is missing or full, models still load, they are just downloaded again next time.
//!
//! Reached through `Reflect` (see `js`): web-sys's `Cache` features are not enabled.

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Response;

use crate::app::browser::js;

/// The cache's name; a format change gets a new version.
const NAME: &str = "bpt-lab-models-v1";

/// The open model cache.
pub struct ModelCache(JsValue);

fn caches() -> Option<JsValue> {
    let caches = js::get(&web_sys::window()?.into(), "caches");
    (!caches.is_undefined()).then_some(caches)
}

impl ModelCache {
    /// Opens the cache; None where the browser offers no Cache Storage or refuses it.
    pub async fn open() -> Option<Self> {
        let opened = js::call(&caches()?, "open", &[NAME.into()]).ok()?;
        js::resolve(opened).await.ok().map(Self)
    }

    /// The stored response for `url`, if there is one.
    pub async fn get(&self, url: &str) -> Option<Response> {
        let found = js::resolve(js::call(&self.0, "match", &[url.into()]).ok()?)
            .await
            .ok()?;
        found.dyn_into::<Response>().ok()
    }

    /// Stores `bytes` as the response for `url`, with its length for the progress bar.
    pub async fn put(&self, url: &str, bytes: &[u8]) -> Result<(), String> {
        let body = Uint8Array::from(bytes);
        let headers = Object::new();
        Reflect::set(
            &headers,
            &"content-length".into(),
            &bytes.len().to_string().into(),
        )
        .map_err(|e| js::message(&e))?;
        let init = Object::new();
        Reflect::set(&init, &"headers".into(), &headers).map_err(|e| js::message(&e))?;
        // new Response(body, init): the constructor with an init needs a web-sys feature.
        let constructor: Function =
            js::get(&web_sys::window().ok_or("no window")?.into(), "Response")
                .dyn_into()
                .map_err(|_| "the browser lacks Response")?;
        let response = Reflect::construct(&constructor, &Array::of2(&body, &init))
            .map_err(|e| js::message(&e))?;
        js::resolve(js::call(&self.0, "put", &[url.into(), response])?)
            .await
            .map(|_| ())
    }
}

/// Deletes every cached model; true when there was a cache to delete.
pub async fn clear() -> Result<bool, String> {
    let Some(caches) = caches() else {
        return Ok(false);
    };
    let deleted = js::resolve(js::call(&caches, "delete", &[NAME.into()])?).await?;
    Ok(deleted.is_truthy())
}
