//! A key-value store in the browser's IndexedDB: one database, one object store of records
//! under string keys (text, `ArrayBuffer`s, `Uint8Array`s), each call one transaction.
//!
//! The IndexedDB calls are a few lines of JavaScript (below): its request and transaction
//! events map onto promises far more simply there than through web-sys, which would also need
//! features the build does not enable (see `js`). Every failure, a synchronous throw included
//! (private windows, storage switched off, quota), comes back as a message.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::app::browser::js;

#[wasm_bindgen(inline_js = r#"
const STORE = 'records';

function settled(tx) {
  return new Promise((ok, fail) => {
    tx.oncomplete = () => ok();
    tx.onerror = () => fail(tx.error);
    tx.onabort = () => fail(tx.error ?? new Error('the write was aborted'));
  });
}

export async function idb_open(name) {
  if (typeof indexedDB === 'undefined' || indexedDB === null) {
    throw new Error('this browser offers no IndexedDB here');
  }
  return await new Promise((ok, fail) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
    req.onblocked = () => fail(new Error('another tab holds an older version of the saved data open'));
  });
}

export async function idb_get(db, key) {
  return await new Promise((ok, fail) => {
    const req = db.transaction(STORE, 'readonly').objectStore(STORE).get(key);
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
}

export async function idb_keys(db) {
  return await new Promise((ok, fail) => {
    const req = db.transaction(STORE, 'readonly').objectStore(STORE).getAllKeys();
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
}

export async function idb_put(db, key, value) {
  const tx = db.transaction(STORE, 'readwrite');
  tx.objectStore(STORE).put(value, key);
  return await settled(tx);
}

export async function idb_delete(db, keys) {
  const tx = db.transaction(STORE, 'readwrite');
  const store = tx.objectStore(STORE);
  for (const key of keys) store.delete(key);
  return await settled(tx);
}

export async function idb_clear(db) {
  const tx = db.transaction(STORE, 'readwrite');
  tx.objectStore(STORE).clear();
  return await settled(tx);
}
"#)]
extern "C" {
    fn idb_open(name: &str) -> Promise;
    fn idb_get(db: &JsValue, key: &str) -> Promise;
    fn idb_keys(db: &JsValue) -> Promise;
    fn idb_put(db: &JsValue, key: &str, value: &JsValue) -> Promise;
    fn idb_delete(db: &JsValue, keys: Vec<JsValue>) -> Promise;
    fn idb_clear(db: &JsValue) -> Promise;
}

/// An open database.
#[derive(Clone)]
pub struct Store {
    db: JsValue,
}

/// A rejected IndexedDB call as a sentence; a full store says so plainly.
async fn settle(promise: Promise) -> Result<JsValue, String> {
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| {
            let name = js::get(&e, "name").as_string().unwrap_or_default();
            let message = js::message(&e);
            if name == "QuotaExceededError" {
                format!("the browser's storage for this page is full ({message})")
            } else if name.is_empty() || message.contains(&name) {
                message
            } else {
                format!("{name}: {message}")
            }
        })
}

impl Store {
    /// Opens (creating on first use) the database `name`.
    pub async fn open(name: &str) -> Result<Self, String> {
        // The JavaScript is async: a throw inside it (no IndexedDB in this window) is a rejection.
        Ok(Self {
            db: settle(idb_open(name)).await?,
        })
    }

    /// The record under `key`, or None.
    pub async fn get(&self, key: &str) -> Result<Option<JsValue>, String> {
        let value = settle(idb_get(&self.db, key)).await?;
        Ok((!value.is_undefined()).then_some(value))
    }

    /// Every key in the store.
    pub async fn keys(&self) -> Result<Vec<String>, String> {
        let keys = settle(idb_keys(&self.db)).await?;
        Ok(js_sys::Array::from(&keys)
            .iter()
            .filter_map(|k| k.as_string())
            .collect())
    }

    pub async fn put(&self, key: &str, value: &JsValue) -> Result<(), String> {
        settle(idb_put(&self.db, key, value)).await.map(drop)
    }

    pub async fn delete(&self, keys: &[String]) -> Result<(), String> {
        if keys.is_empty() {
            return Ok(());
        }
        let keys = keys.iter().map(|k| JsValue::from_str(k)).collect();
        settle(idb_delete(&self.db, keys)).await.map(drop)
    }

    /// Removes every record.
    pub async fn clear(&self) -> Result<(), String> {
        settle(idb_clear(&self.db)).await.map(drop)
    }
}
