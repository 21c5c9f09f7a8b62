//! A class's camera: a live preview of the user's camera with "Hold to record" (a picture
//! every [`INTERVAL_MS`] while the button is held, by pointer, touch or the keyboard) and a
//! burst of N pictures. Each frame is a PNG named `camera-<n>.png` that joins the class
//! through [`add_files`], like an uploaded file (so it is decoded, shown and saved the same
//! way). Closing the preview, removing the class or another camera user stops the stream.

use leptos::html::Video;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::browser::camera::{self, Camera, CameraError};
use crate::app::browser::js::{self, PickedFile};
use crate::app::data::state::add_files;
use crate::app::state::AppState;

/// Time between two pictures while recording (five a second).
const INTERVAL_MS: i32 = 200;
/// The largest burst.
const MAX_BURST: usize = 100;

/// Milliseconds until the next picture of a capture that began at `started` (none when the
/// capture took longer than [`INTERVAL_MS`]).
fn next_in(started: f64) -> i32 {
    (f64::from(INTERVAL_MS) - (js::now_ms() - started)).max(0.0) as i32
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Closed,
    /// Waiting for the browser (and the user's permission).
    Starting,
    Live,
}

#[component]
pub fn ClassCamera(id: u32) -> impl IntoView {
    let app = AppState::get();
    let phase = RwSignal::new(Phase::Closed);
    let camera = RwSignal::new(None::<Camera>);
    let error = RwSignal::new(None::<String>);
    // A frame has arrived: recording can start.
    let ready = RwSignal::new(false);
    let recording = RwSignal::new(false);
    let burst_size = RwSignal::new(10usize);
    let burst_left = RwSignal::new(0usize);
    let next_number = StoredValue::new(1u32);
    let video = NodeRef::<Video>::new();

    let reset = move || {
        recording.set(false);
        ready.set(false);
        camera.set(None);
        phase.set(Phase::Closed);
    };
    let close = move || {
        if let Some(cam) = camera.get_untracked() {
            cam.close();
        }
        reset();
    };
    let open = move || {
        error.set(None);
        next_number.set_value(app.data.with_untracked(|d| d.next_camera_number(id)));
        // Another preview (or live prediction) taking the camera closes this one.
        let cam = Camera::claim(move || {
            if phase.try_get_untracked().is_some() {
                reset();
            }
        });
        camera.set(Some(cam));
        phase.set(Phase::Starting);
        spawn_local(async move {
            match cam.start().await {
                Ok(()) => {
                    phase.try_set(Phase::Live);
                }
                Err(CameraError::Superseded) => {}
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                    if phase.try_get_untracked().is_some() {
                        reset();
                    }
                }
            }
        });
    };
    let toggle = move |_| {
        if phase.get_untracked() == Phase::Closed {
            open();
        } else {
            close();
        }
    };
    Effect::new(move || {
        if let (Phase::Live, Some(el), Some(cam)) = (phase.get(), video.get(), camera.get()) {
            cam.attach(&el);
        }
    });
    on_cleanup(move || {
        if let Some(Some(cam)) = camera.try_get_untracked() {
            cam.close();
        }
    });

    // One picture from the preview into the class; false when there is none to take.
    let capture = move || async move {
        let Some(el) = video.get_untracked() else {
            return false;
        };
        let Ok(blob) = camera::frame_png(&el).await else {
            return false;
        };
        let n = next_number.try_get_value().unwrap_or(1);
        next_number.try_set_value(n + 1);
        let file = PickedFile {
            name: format!("camera-{n}.png"),
            blob,
        };
        spawn_local(add_files(app.data, id, vec![file]));
        true
    };
    let live = move || phase.try_get_untracked() == Some(Phase::Live);
    let start_hold = move || {
        if recording.get_untracked() || burst_left.get_untracked() > 0 || !ready.get_untracked() {
            return;
        }
        recording.set(true);
        spawn_local(async move {
            while live() && recording.try_get_untracked() == Some(true) {
                let started = js::now_ms();
                capture().await;
                js::sleep(next_in(started)).await;
            }
        });
    };
    let stop_hold = move || recording.set(false);
    let burst = move |_| {
        if recording.get_untracked() || burst_left.get_untracked() > 0 {
            return;
        }
        let n = burst_size.get_untracked();
        burst_left.set(n);
        spawn_local(async move {
            let mut left = n;
            while left > 0 && live() {
                let started = js::now_ms();
                if capture().await {
                    left -= 1;
                    burst_left.try_set(left);
                }
                js::sleep(next_in(started)).await;
            }
            burst_left.try_set(0);
        });
    };
    let set_burst = move |ev: leptos::ev::Event| {
        if let Ok(n) = event_target_value(&ev).parse::<usize>() {
            burst_size.set(n.clamp(1, MAX_BURST));
        }
    };
    let is_hold_key = |ev: &leptos::ev::KeyboardEvent| matches!(ev.key().as_str(), " " | "Enter");
    let busy = move || !ready.get() || burst_left.get() > 0;

    // The preview is built once per opening, not again when it goes from starting to live.
    let shown = Memo::new(move |_| phase.get() != Phase::Closed);
    let preview = move || {
        shown.get().then(|| view! {
            <div
                class="camera"
                data-testid="camera-preview"
                data-state=move || if ready.get() { "live" } else { "starting" }
            >
                <video
                    node_ref=video
                    class="camera-video"
                    data-testid="camera-video"
                    autoplay
                    muted
                    playsinline
                    aria-label="Camera preview"
                    on:loadeddata=move |_| ready.set(true)
                    on:playing=move |_| ready.set(true)
                ></video>
                {move || {
                    (!ready.get())
                        .then(|| {
                            view! { <p class="muted camera-wait">"Starting the camera\u{2026}"</p> }
                        })
                }}
                <div class="camera-actions">
                    <button
                        type="button"
                        class="camera-hold"
                        class:recording=move || recording.get()
                        data-testid="camera-hold"
                        disabled=busy
                        aria-pressed=move || recording.get().to_string()
                        on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                            if ev.button() == 0 {
                                ev.prevent_default();
                                let _ = event_target::<web_sys::Element>(&ev)
                                    .set_pointer_capture(ev.pointer_id());
                                start_hold();
                            }
                        }
                        on:pointerup=move |_| stop_hold()
                        on:pointercancel=move |_| stop_hold()
                        on:lostpointercapture=move |_| stop_hold()
                        on:contextmenu=move |ev: leptos::ev::MouseEvent| ev.prevent_default()
                        on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                            if is_hold_key(&ev) {
                                ev.prevent_default();
                                if !ev.repeat() {
                                    start_hold();
                                }
                            }
                        }
                        on:keyup=move |ev: leptos::ev::KeyboardEvent| {
                            if is_hold_key(&ev) {
                                stop_hold();
                            }
                        }
                        on:blur=move |_| stop_hold()
                    >
                        {move || {
                            if recording.get() { "Recording\u{2026}" } else { "Hold to record" }
                        }}
                    </button>
                    <span class="camera-burst">
                        <button
                            type="button"
                            class="secondary small"
                            data-testid="camera-burst"
                            disabled=move || busy() || recording.get()
                            on:click=burst
                        >
                            {move || match burst_left.get() {
                                0 => format!("Burst of {}", burst_size.get()),
                                left => format!("{left} to go\u{2026}"),
                            }}
                        </button>
                        <input
                            type="number"
                            min="1"
                            max=MAX_BURST.to_string()
                            data-testid="camera-burst-size"
                            aria-label="Pictures in a burst"
                            prop:value=move || burst_size.get().to_string()
                            on:change=set_burst
                        />
                    </span>
                </div>
            </div>
        })
    };

    view! {
        <div class="class-camera">
            <button
                type="button"
                class="secondary small"
                data-testid="camera-open"
                aria-expanded=move || shown.get().to_string()
                on:click=toggle
            >
                {move || if !shown.get() { "Camera" } else { "Close the camera" }}
            </button>
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p
                                class="run-error camera-error"
                                role="alert"
                                data-testid="camera-error"
                            >
                                {e}
                            </p>
                        }
                    })
            }}
            {preview}
        </div>
    }
}
