//! The worker's messages to the page: an event, with the buffer of its bytes transferred.

use js_sys::Uint8Array;

use super::protocol::{Event, encode};
use crate::app::browser::js;

/// Posts an event to the page, transferring the buffer of its bytes (a run file, a gather).
pub fn post(event: &Event, bytes: Option<Vec<u8>>) {
    let bytes = bytes.map(|f| Uint8Array::from(&f[..]));
    let named: Vec<(&str, &Uint8Array)> = bytes.iter().map(|f| ("file", f)).collect();
    match encode(event, &named, &["file"]) {
        Ok((msg, transfer)) => {
            let scope = js_sys::global();
            if let Err(e) = js::call(&scope, "postMessage", &[msg.into(), transfer.into()]) {
                gloo::console::error!(format!("BPT Lab worker: postMessage failed: {e}"));
            }
        }
        Err(e) => gloo::console::error!(format!("BPT Lab worker: {e}")),
    }
}
