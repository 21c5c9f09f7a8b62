//! The user's camera: one `getUserMedia` stream for the whole page, frames taken from a
//! `<video>` showing it, and the failures said in words.
//!
//! Only one stream is open at a time. Whoever asks for the camera claims it with
//! [`Camera::claim`], which stops the stream of the previous holder and tells it through the
//! callback it gave (so its preview closes); a claim that is overtaken while the browser is
//! still asking for permission stops its stream as soon as it arrives. `MediaDevices` and
//! `MediaStream` are reached through `Reflect`, as in `js` (no new web-sys features).

use std::cell::{Cell, RefCell};

use js_sys::{Array, Object, Reflect};
use thiserror::Error;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, HtmlVideoElement, ImageBitmap};

use super::{canvas, js};
use crate::train::image::kept_size;

/// Why the camera did not start, from the `DOMException` `getUserMedia` rejected with.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum CameraError {
    #[error(
        "this browser gives the page no camera (it needs a secure page, https or localhost, \
         and a browser with camera support)"
    )]
    Unsupported,
    #[error("no camera was found: connect one, or check that the system lets this browser use it")]
    NotFound,
    #[error(
        "camera access was denied: allow the camera for this site (the icon in the address \
         bar), then try again"
    )]
    Denied,
    #[error(
        "the camera is in use by another app or tab, or could not be started: close the other \
         one and try again"
    )]
    InUse,
    /// Another part of the page took the camera before this one got it (not shown).
    #[error("another part of the page is using the camera")]
    Superseded,
    #[error("the camera could not start: {0}")]
    Other(String),
}

impl CameraError {
    fn from_js(err: &JsValue) -> Self {
        let name = js::get(err, "name").as_string().unwrap_or_default();
        match name.as_str() {
            "NotFoundError" | "DevicesNotFoundError" | "OverconstrainedError" => Self::NotFound,
            "NotAllowedError" | "PermissionDeniedError" | "SecurityError" => Self::Denied,
            "NotReadableError" | "TrackStartError" | "AbortError" => Self::InUse,
            _ if name.is_empty() => Self::Other(js::message(err)),
            _ => Self::Other(format!("{name}: {}", js::message(err))),
        }
    }
}

/// The page's camera holder: its claim, its stream once started, and how to tell it that
/// another holder took the camera.
struct Holder {
    ticket: u64,
    stream: Option<JsValue>,
    on_taken: Option<Box<dyn FnOnce()>>,
}

thread_local! {
    static TICKETS: Cell<u64> = const { Cell::new(0) };
    static HOLDER: RefCell<Option<Holder>> = const { RefCell::new(None) };
}

/// One claim on the camera (cheap to copy: the stream itself stays here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Camera {
    ticket: u64,
}

fn stop_tracks(stream: &JsValue) {
    if let Ok(tracks) = js::call(stream, "getTracks", &[]) {
        for track in Array::from(&tracks).iter() {
            let _ = js::call(&track, "stop", &[]);
        }
    }
}

impl Camera {
    /// Claims the camera, closing the previous holder's stream and calling its `on_taken`.
    pub fn claim(on_taken: impl FnOnce() + 'static) -> Self {
        let ticket = TICKETS.with(|t| {
            t.set(t.get() + 1);
            t.get()
        });
        let previous = HOLDER.with(|h| {
            h.borrow_mut().replace(Holder {
                ticket,
                stream: None,
                on_taken: Some(Box::new(on_taken)),
            })
        });
        if let Some(mut previous) = previous {
            if let Some(stream) = &previous.stream {
                stop_tracks(stream);
            }
            if let Some(taken) = previous.on_taken.take() {
                taken();
            }
        }
        Self { ticket }
    }

    fn holds(self) -> bool {
        HOLDER.with(|h| h.borrow().as_ref().is_some_and(|h| h.ticket == self.ticket))
    }

    /// Asks the browser for the camera (the permission prompt, the first time) and keeps the
    /// stream; [`CameraError::Superseded`] when the claim was closed or overtaken meanwhile.
    pub async fn start(self) -> Result<(), CameraError> {
        if !self.holds() {
            return Err(CameraError::Superseded);
        }
        let navigator = js::get(&js_sys::global(), "navigator");
        let devices = js::get(&navigator, "mediaDevices");
        if devices.is_undefined() || devices.is_null() {
            self.close();
            return Err(CameraError::Unsupported);
        }
        let promise = match js::call(&devices, "getUserMedia", &[constraints()]) {
            Ok(promise) => promise,
            Err(e) => {
                self.close();
                return Err(CameraError::Other(e));
            }
        };
        let stream =
            match wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await {
                Ok(stream) => stream,
                Err(e) => {
                    self.close();
                    return Err(CameraError::from_js(&e));
                }
            };
        let kept = HOLDER.with(|h| match h.borrow_mut().as_mut() {
            Some(holder) if holder.ticket == self.ticket => {
                holder.stream = Some(stream.clone());
                true
            }
            _ => false,
        });
        if kept {
            Ok(())
        } else {
            stop_tracks(&stream);
            Err(CameraError::Superseded)
        }
    }

    /// Shows the stream in `video` and starts playing it.
    pub fn attach(self, video: &HtmlVideoElement) {
        let stream = HOLDER.with(|h| {
            h.borrow()
                .as_ref()
                .filter(|h| h.ticket == self.ticket)
                .and_then(|h| h.stream.clone())
        });
        if let Some(stream) = stream {
            video.set_muted(true);
            let _ = Reflect::set(video, &"srcObject".into(), &stream);
            // play() rejects when the element is removed before it starts: nothing to do then.
            if let Ok(p) = js::call(video, "play", &[]) {
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = js::resolve(p).await;
                });
            }
        }
    }

    /// Stops the stream if this claim still holds the camera (without calling its `on_taken`).
    pub fn close(self) {
        let holder = HOLDER.with(|h| {
            let mut h = h.borrow_mut();
            if h.as_ref().is_some_and(|h| h.ticket == self.ticket) {
                h.take()
            } else {
                None
            }
        });
        if let Some(stream) = holder.and_then(|h| h.stream) {
            stop_tracks(&stream);
        }
    }
}

/// Video only, at a modest size (frames are shrunk to `MAX_SIDE` anyway), the user-facing
/// camera when there is a choice.
fn constraints() -> JsValue {
    let video = Object::new();
    let ideal = |v: u32| {
        let o = Object::new();
        let _ = Reflect::set(&o, &"ideal".into(), &v.into());
        o
    };
    let _ = Reflect::set(&video, &"width".into(), &ideal(640));
    let _ = Reflect::set(&video, &"height".into(), &ideal(480));
    let _ = Reflect::set(&video, &"facingMode".into(), &"user".into());
    let all = Object::new();
    let _ = Reflect::set(&all, &"video".into(), &video);
    let _ = Reflect::set(&all, &"audio".into(), &false.into());
    all.into()
}

/// The picture `video` shows now; an error while it has none yet.
pub async fn frame(video: &HtmlVideoElement) -> Result<ImageBitmap, String> {
    // HAVE_CURRENT_DATA: a frame has arrived.
    if video.ready_state() < 2 || video.video_width() == 0 {
        return Err("the camera has not sent a picture yet".into());
    }
    let window = web_sys::window().ok_or("no window")?;
    let promise = window
        .create_image_bitmap_with_html_video_element(video)
        .map_err(|e| js::message(&e))?;
    Ok(js::resolve(promise.into()).await?.unchecked_into())
}

/// The picture `video` shows now as a PNG no larger than `MAX_SIDE`, as an uploaded file would be.
pub async fn frame_png(video: &HtmlVideoElement) -> Result<Blob, String> {
    let bitmap = frame(video).await?;
    let (w, h) = kept_size(bitmap.width(), bitmap.height());
    let drawn = canvas::draw(&bitmap, w, h).map(|(canvas, _)| canvas);
    bitmap.close();
    let options = Object::new();
    let _ = Reflect::set(&options, &"type".into(), &"image/png".into());
    let blob = js::call(&drawn?.into(), "convertToBlob", &[options.into()])?;
    Ok(js::resolve(blob).await?.unchecked_into())
}
