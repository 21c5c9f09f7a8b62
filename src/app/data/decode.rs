//! Decoding pictures with the browser's own decoders (`createImageBitmap`, which reads every
//! format the browser shows and applies EXIF orientation), drawn onto an `OffscreenCanvas` no
//! larger than [`MAX_SIDE`] and read back as RGB for the engine.

use wasm_bindgen::JsCast;
use web_sys::{ImageBitmap, ImageData};

use crate::app::browser::canvas;
use crate::app::browser::js::{self, PickedFile};
use crate::train::RgbImage;

pub use crate::train::image::{MAX_SIDE, kept_size};

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
    let result = from_bitmap(&bitmap);
    bitmap.close();
    result
}

/// The RGB pixels of a bitmap (a decoded file or a camera frame), shrunk to [`MAX_SIDE`].
pub fn from_bitmap(bitmap: &ImageBitmap) -> Result<RgbImage, String> {
    let (w, h) = kept_size(bitmap.width(), bitmap.height());
    if w == 0 || h == 0 {
        return Err("the image is empty".into());
    }
    let (_canvas, ctx) = canvas::draw(bitmap, w, h)?;
    let data: ImageData = js::call(
        &ctx,
        "getImageData",
        &[0.into(), 0.into(), w.into(), h.into()],
    )?
    .unchecked_into();
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
