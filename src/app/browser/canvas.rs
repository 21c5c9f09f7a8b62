//! A picture drawn into an offscreen canvas at a given size (high-quality smoothing), for its
//! pixels (decoding) or a PNG of it (camera frames): both shrink pictures the same way.

use wasm_bindgen::JsValue;
use web_sys::{ImageBitmap, OffscreenCanvas};

use super::js;

/// `bitmap` drawn at `width` x `height`: the canvas and its 2D context.
pub fn draw(
    bitmap: &ImageBitmap,
    width: u32,
    height: u32,
) -> Result<(OffscreenCanvas, JsValue), String> {
    let canvas = OffscreenCanvas::new(width, height).map_err(|e| js::message(&e))?;
    let ctx: JsValue = canvas
        .get_context("2d")
        .map_err(|e| js::message(&e))?
        .ok_or("no 2D canvas")?
        .into();
    js_sys::Reflect::set(&ctx, &"imageSmoothingQuality".into(), &"high".into())
        .map_err(|e| js::message(&e))?;
    let args = [
        JsValue::from(bitmap.clone()),
        0.into(),
        0.into(),
        width.into(),
        height.into(),
    ];
    js::call(&ctx, "drawImage", &args)?;
    Ok((canvas, ctx))
}
