//! Asking the browser for WebGPU before the engine touches it, so a missing or refused GPU
//! becomes a message instead of a failed request deep inside wgpu.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// What the browser says about its adapter (fields of `GPUAdapterInfo`; empty when hidden).
#[derive(Clone, Debug, PartialEq)]
pub struct BrowserAdapter {
    pub vendor: String,
    pub architecture: String,
    pub description: String,
    pub is_fallback: bool,
}

/// Why WebGPU cannot be used here.
#[derive(Clone, Debug, PartialEq)]
pub enum WebGpuMissing {
    /// The page is not served from https or localhost.
    InsecureContext,
    /// `navigator.gpu` does not exist: the browser lacks WebGPU or has it switched off.
    NoApi,
    /// `requestAdapter()` returned null: WebGPU exists but no GPU was granted.
    NoAdapter,
}

impl WebGpuMissing {
    pub fn headline(&self) -> &'static str {
        match self {
            Self::InsecureContext => "WebGPU needs a secure page",
            Self::NoApi => "This browser does not offer WebGPU",
            Self::NoAdapter => "WebGPU is here, but no GPU was granted",
        }
    }

    pub fn advice(&self) -> &'static str {
        match self {
            Self::InsecureContext => {
                "Browsers only expose WebGPU on https:// pages and on http://localhost or \
                 http://127.0.0.1. Open BPT Lab through one of those addresses."
            }
            Self::NoApi => {
                "Use Chrome or Edge 113 or newer (Windows, macOS, ChromeOS), Chrome 121 or newer \
                 on Android, Safari 26 or newer, or Firefox 141 or newer on Windows. On Linux, \
                 start Chrome or Chromium with --enable-unsafe-webgpu (or turn on \
                 chrome://flags/#enable-unsafe-webgpu)."
            }
            Self::NoAdapter => {
                "The browser may have blocklisted this GPU or its driver, or hardware acceleration \
                 is switched off. Turn hardware acceleration on, update the GPU driver, or on \
                 Chrome enable chrome://flags/#enable-unsafe-webgpu, then reload."
            }
        }
    }
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_string(target: &JsValue, key: &str) -> String {
    get(target, key).as_string().unwrap_or_default()
}

/// Checks for a secure context, `navigator.gpu` and an adapter, and reads the adapter's info.
pub async fn probe() -> Result<BrowserAdapter, WebGpuMissing> {
    let window = web_sys::window().ok_or(WebGpuMissing::NoApi)?;
    if !window.is_secure_context() {
        return Err(WebGpuMissing::InsecureContext);
    }
    // `navigator.gpu` is read through Reflect: web-sys only binds it behind an unstable cfg.
    let gpu = get(&window.navigator(), "gpu");
    let request = get(&gpu, "requestAdapter");
    let Some(request) = request.dyn_ref::<Function>() else {
        return Err(WebGpuMissing::NoApi);
    };
    let promise = request
        .call0(&gpu)
        .map_err(|_| WebGpuMissing::NoAdapter)?
        .unchecked_into::<Promise>();
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|_| WebGpuMissing::NoAdapter)?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(WebGpuMissing::NoAdapter);
    }
    let info = get(&adapter, "info");
    // `isFallbackAdapter` moved from the adapter to its info in 2025; read both.
    let is_fallback = get(&info, "isFallbackAdapter").is_truthy()
        || get(&adapter, "isFallbackAdapter").is_truthy();
    Ok(BrowserAdapter {
        vendor: get_string(&info, "vendor"),
        architecture: get_string(&info, "architecture"),
        description: get_string(&info, "description"),
        is_fallback,
    })
}
