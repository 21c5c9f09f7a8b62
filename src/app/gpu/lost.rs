//! Watching for the GPU device to be lost (a driver reset, the browser reclaiming the GPU, a
//! crashed GPU process): the browser resolves the device's `lost` promise once. burn's runtime
//! listens to the same promise (and then fails every later operation); this listener tells the
//! page, which drops what lived on the lost device and offers a restart.

use wasm_bindgen::JsValue;

use crate::app::browser::js;
use crate::gpu::GpuContext;

/// The device's `lost` promise; None off the WebGPU backend.
pub fn lost_promise(ctx: &GpuContext) -> Option<JsValue> {
    let device: &JsValue = ctx.device().as_webgpu()?.as_ref();
    Some(js::get(device, "lost"))
}

/// Waits for `promise` (from [`lost_promise`]) and describes the loss.
pub async fn wait(promise: JsValue) -> String {
    match js::resolve(promise).await {
        Ok(info) => {
            let message = js::get(&info, "message").as_string().unwrap_or_default();
            let reason = js::get(&info, "reason").as_string().unwrap_or_default();
            match (message.is_empty(), reason.is_empty()) {
                (false, _) => message,
                (true, false) => format!("reason: {reason}"),
                (true, true) => "the browser gave no reason".into(),
            }
        }
        Err(e) => e,
    }
}
