//! Live prediction: the camera's picture classified with the selected run a few times a second.
//!
//! One prediction is in flight at a time: the loop takes a frame, waits for its probabilities,
//! then waits out the rest of [`PERIOD_MS`] (no wait when the GPU took longer), so frames that
//! arrive while the GPU is busy are skipped. Turning it off, choosing a picture, leaving the
//! panel or another camera user stops the camera.

use leptos::html::Video;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::classify::{Classified, ProbabilityBars, classify};
use crate::app::browser::camera::{self, Camera, CameraError};
use crate::app::browser::js;
use crate::app::data::decode;
use crate::app::state::AppState;

/// The shortest time between two predictions (four a second).
const PERIOD_MS: f64 = 250.0;

/// One frame of the camera classified with `run`.
async fn classify_frame(
    app: AppState,
    run: u32,
    video: &web_sys::HtmlVideoElement,
) -> Option<Result<Classified, String>> {
    // No picture yet (the camera is still starting): try the next frame.
    let bitmap = camera::frame(video).await.ok()?;
    let image = decode::from_bitmap(&bitmap);
    bitmap.close();
    Some(match image {
        Ok(image) => classify(app, run, image).await.map_err(String::from),
        Err(e) => Err(format!("the camera's picture could not be read: {e}")),
    })
}

/// The "Live from the camera" toggle, its error, and while `active` the preview with the bars.
#[component]
pub fn LivePredict(
    /// The run to classify with (read at every frame).
    run: Signal<Option<u32>>,
    /// On while the camera is wanted; the panel turns it off when a picture is chosen.
    active: RwSignal<bool>,
) -> impl IntoView {
    let app = AppState::get();
    let camera = RwSignal::new(None::<Camera>);
    let error = RwSignal::new(None::<String>);
    let last = RwSignal::new(None::<Classified>);
    let frames = RwSignal::new(0u32);
    let video = NodeRef::<Video>::new();
    // The loop of the current opening; an older loop sees a newer number and ends.
    let opening = StoredValue::new(0u64);

    let close = move || {
        opening.update_value(|n| *n += 1);
        if let Some(cam) = camera.get_untracked() {
            cam.close();
        }
        camera.set(None);
    };
    let run_loop = move |cam: Camera, number: u64| async move {
        cam.attach(&video.get_untracked().ok_or(())?);
        while opening.try_get_value() == Some(number) {
            let started = js::now_ms();
            let (Some(el), Some(run)) = (video.get_untracked(), run.get_untracked()) else {
                return Err(());
            };
            match classify_frame(app, run, &el).await {
                Some(Ok(c)) if opening.try_get_value() == Some(number) => {
                    last.set(Some(c));
                    frames.update(|n| *n += 1);
                }
                Some(Err(e)) => {
                    error.try_set(Some(e));
                    return Err(());
                }
                _ => {}
            }
            js::sleep((PERIOD_MS - (js::now_ms() - started)).max(0.0) as i32).await;
        }
        Ok(())
    };
    let open = move || {
        error.set(None);
        last.set(None);
        frames.set(0);
        let cam = Camera::claim(move || {
            active.try_set(false);
        });
        camera.set(Some(cam));
        let number = opening.get_value();
        spawn_local(async move {
            match cam.start().await {
                Ok(()) => {
                    if run_loop(cam, number).await.is_err() {
                        active.try_set(false);
                    }
                }
                Err(CameraError::Superseded) => {}
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                    active.try_set(false);
                }
            }
        });
    };
    Effect::new(move || {
        if active.get() {
            if camera.get_untracked().is_none() {
                open();
            }
        } else {
            close();
        }
    });
    on_cleanup(move || {
        if let Some(Some(cam)) = camera.try_get_untracked() {
            cam.close();
        }
    });

    let view_result = move || {
        active.get().then(|| {
            view! {
                <div
                    class="prediction live"
                    data-testid="predict-result"
                    data-source="camera"
                    data-frames=move || frames.get()
                >
                    <video
                        node_ref=video
                        class="camera-video"
                        data-testid="live-video"
                        autoplay
                        muted
                        playsinline
                        aria-label="Camera preview"
                    ></video>
                    <div>
                        {move || match last.get() {
                            None => {
                                view! { <p class="muted">"Waiting for the camera\u{2026}"</p> }
                                    .into_any()
                            }
                            Some(Classified { run, classes }) => {
                                view! {
                                    <p class="note">"Live with " {run}</p>
                                    <ProbabilityBars classes />
                                }
                                    .into_any()
                            }
                        }}
                    </div>
                </div>
            }
        })
    };

    view! {
        <div class="live-toggle">
            <button
                type="button"
                class="secondary"
                data-testid="predict-live"
                aria-pressed=move || active.get().to_string()
                disabled=move || run.get().is_none() && !active.get()
                on:click=move |_| active.update(|a| *a = !*a)
            >
                {move || if active.get() { "Stop the camera" } else { "Live from the camera" }}
            </button>
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="run-error camera-error" role="alert" data-testid="live-error">
                                {e}
                            </p>
                        }
                    })
            }}
        </div>
        {view_result}
    }
}
