//! Decoding pictures with the browser's own decoders (`createImageBitmap`, which reads every
//! format the browser shows and applies EXIF orientation), drawn onto an `OffscreenCanvas` no
//! larger than [`MAX_SIDE`] and read back as RGB for the engine.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{ImageBitmap, ImageData, OffscreenCanvas};

use super::js::{self, PickedFile};
use crate::train::RgbImage;

/// Photos are shrunk to at most this many pixels on their longer side on arrival: training
/// crops are far smaller, and a 12-megapixel photo would hold 36 MB of wasm memory otherwise.
pub const MAX_SIDE: u32 = 512;

/// The size an image of `width` x `height` is kept at.
pub fn kept_size(width: u32, height: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= MAX_SIDE {
        return (width, height);
    }
    let scale = f64::from(MAX_SIDE) / f64::from(long);
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    (side(width), side(height))
}

/// Decodes a picked file into RGB pixels, or says why it cannot.
pub async fn decode(file: &PickedFile) -> Result<RgbImage, String> {
    let window = web_sys::window().ok_or("no window")?;
    let promise = window
        .create_image_bitmap_with_blob(&file.blob)
        .map_err(|e| js::message(&e))?;
    let bitmap: ImageBitmap = js::resolve(promise.into())
        .await
        .map_err(|_| "not an image this browser can decode".to_string())?
        .unchecked_into();
    let result = draw(&bitmap);
    bitmap.close();
    result
}

fn draw(bitmap: &ImageBitmap) -> Result<RgbImage, String> {
    let (w, h) = kept_size(bitmap.width(), bitmap.height());
    if w == 0 || h == 0 {
        return Err("the image is empty".into());
    }
    let canvas = OffscreenCanvas::new(w, h).map_err(|e| js::message(&e))?;
    let ctx: JsValue = canvas
        .get_context("2d")
        .map_err(|e| js::message(&e))?
        .ok_or("no 2D canvas")?
        .into();
    js_sys::Reflect::set(&ctx, &"imageSmoothingQuality".into(), &"high".into())
        .map_err(|e| js::message(&e))?;
    let (wf, hf) = (JsValue::from(w), JsValue::from(h));
    js::call(
        &ctx,
        "drawImage",
        &[
            JsValue::from(bitmap.clone()),
            0.into(),
            0.into(),
            wf.clone(),
            hf.clone(),
        ],
    )?;
    let data: ImageData =
        js::call(&ctx, "getImageData", &[0.into(), 0.into(), wf, hf])?.unchecked_into();
    let rgba = data.data().0;
    let pixels = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Ok(RgbImage {
        width: w as usize,
        height: h as usize,
        pixels,
    })
}
