//! The "Your images" panel: classes with names, pictures added by file picker, drag and
//! drop or the camera, decoded in the browser; unreadable files are named and skipped; the training and
//! held-out counts of each class follow the held-out share.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::HtmlInputElement;

use crate::app::browser::js;
use crate::app::data::camera_panel::ClassCamera;
use crate::app::data::decode;
use crate::app::data::samples::SampleImages;
use crate::app::data::state::{add_files, held_out};
use crate::app::state::AppState;

/// Thumbnails shown per class; the rest are counted.
const THUMBS: usize = 24;

#[component]
fn ClassCard(id: u32) -> impl IntoView {
    let app = AppState::get();
    let dragging = RwSignal::new(false);
    let name = move || {
        app.data
            .with(|d| d.class(id).map(|c| c.name.clone()))
            .unwrap_or_default()
    };
    let count = move || app.data.with(|d| d.class(id).map_or(0, |c| c.images.len()));
    let split = move || {
        let fraction = app.data.with(|d| d.holdout);
        let n = count();
        match held_out(n, fraction) {
            Some(h) => format!("{} to train on, {h} held out", n - h),
            None if n == 0 => "no images yet".to_string(),
            None => "needs one more image".to_string(),
        }
    };
    let rename = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        app.data.update(|d| {
            if let Some(c) = d.class_mut(id) {
                c.name = value;
            }
        });
    };
    let remove = move |_| {
        let urls = app
            .data
            .try_update(|d| d.remove_class(id))
            .unwrap_or_default();
        urls.iter().for_each(|u| js::revoke_url(u));
    };
    let picked = move |ev: leptos::ev::Event| {
        let files = js::take_input_files(&event_target::<HtmlInputElement>(&ev));
        spawn_local(add_files(app.data, id, files));
    };
    let drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        spawn_local(add_files(app.data, id, js::dropped_files(&ev)));
    };
    let thumbs = move || {
        app.data.with(|d| {
            let Some(c) = d.class(id) else {
                return Vec::new();
            };
            c.images
                .iter()
                .take(THUMBS)
                .map(|im| (im.thumb.clone(), im.name.clone()))
                .collect::<Vec<_>>()
        })
    };
    let more = move || count().saturating_sub(THUMBS);
    let input_id = format!("class-files-{id}");

    view! {
        <li
            class="class-card"
            data-testid="class-card"
            class:dragging=move || dragging.get()
            on:dragover=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=drop
        >
            <div class="class-head">
                <input
                    class="class-name"
                    type="text"
                    data-testid="class-name"
                    aria-label="Class name"
                    prop:value=name
                    on:input=rename
                />
                <button
                    type="button"
                    class="icon"
                    data-testid="class-remove"
                    on:click=remove
                    aria-label=move || format!("Remove class {}", name())
                >
                    "\u{00d7}"
                </button>
            </div>
            <p class="class-count" data-testid="class-count" data-count=count>
                {move || format!("{} image{}", count(), if count() == 1 { "" } else { "s" })}
                " \u{00b7} "
                {split}
            </p>
            <ul class="thumbs" data-testid="thumbs">
                {move || {
                    thumbs()
                        .into_iter()
                        .map(|(src, alt)| {
                            view! {
                                <li>
                                    <img src=src alt=alt.clone() title=alt loading="lazy" />
                                </li>
                            }
                        })
                        .collect_view()
                }}
                {move || {
                    (more() > 0).then(|| view! { <li class="more">{format!("+{}", more())}</li> })
                }}
            </ul>
            <input
                id=input_id.clone()
                class="visually-hidden"
                type="file"
                accept="image/*"
                multiple
                data-testid="class-files"
                on:change=picked
            />
            <label class="drop" for=input_id>
                "Drop pictures here or "
                <span class="link">"choose files"</span>
            </label>
            <ClassCamera id />
        </li>
    }
}

#[component]
pub fn DataPanel(
    /// Shown at the panel's foot (the saved state's line).
    children: Children,
) -> impl IntoView {
    let app = AppState::get();
    let ids = move || {
        app.data
            .with(|d| d.classes.iter().map(|c| c.id).collect::<Vec<_>>())
    };
    let add = move |_| {
        app.data.update(|d| {
            d.add_class();
        })
    };
    let set_holdout = move |ev: leptos::ev::Event| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            app.data.update(|d| d.holdout = (v / 100.0).clamp(0.0, 0.9));
        }
    };
    let holdout_percent = move || format!("{:.0}", app.data.with(|d| d.holdout) * 100.0);
    let rejected = move || app.data.with(|d| d.rejected.clone());
    let clear_rejected = move |_| app.data.update(|d| d.rejected.clear());
    let totals = move || {
        app.data.with(|d| {
            let (mut train, mut held) = (0, 0);
            for c in &d.classes {
                let n = c.images.len();
                let h = held_out(n, d.holdout).unwrap_or(0);
                train += n - h.min(n);
                held += h;
            }
            (d.classes.len(), train, held, d.pending)
        })
    };

    view! {
        <section class="panel data-panel" aria-labelledby="data-heading">
            <div class="panel-head">
                <h2 id="data-heading">"Your images"</h2>
                <p class="note" data-testid="data-totals">
                    {move || {
                        let (classes, train, held, pending) = totals();
                        let decoding = if pending > 0 {
                            format!(" \u{00b7} decoding {pending}\u{2026}")
                        } else {
                            String::new()
                        };
                        format!(
                            "{classes} classes \u{00b7} {train} to train on \u{00b7} {held} held out{decoding}",
                        )
                    }}
                </p>
            </div>
            <p class="lede">
                "A few pictures per class. They are decoded in this tab, shrunk to at most "
                {decode::MAX_SIDE} " px, and never uploaded."
            </p>
            <ul class="classes">
                <For each=ids key=|id| *id children=move |id| view! { <ClassCard id /> } />
                <li class="class-add">
                    <button type="button" class="secondary" data-testid="add-class" on:click=add>
                        "+ Add a class"
                    </button>
                </li>
            </ul>
            <div class="row">
                <label class="field inline">
                    <span>"Held out for the accuracy curve"</span>
                    <input
                        type="number"
                        min="0"
                        max="90"
                        step="5"
                        data-testid="holdout"
                        prop:value=holdout_percent
                        on:change=set_holdout
                    />
                    <span>"% of each class"</span>
                </label>
                <SampleImages />
            </div>
            {move || {
                let list = rejected();
                (!list.is_empty())
                    .then(|| {
                        view! {
                            <div class="notice notice-warn" role="status" data-testid="data-errors">
                                <p class="notice-title">
                                    "Skipped files that could not be read as images:"
                                </p>
                                <ul>
                                    {list
                                        .into_iter()
                                        .map(|r| {
                                            view! {
                                                <li>
                                                    <code>{r.name}</code>
                                                    " \u{2014} "
                                                    {r.reason}
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                                <button
                                    type="button"
                                    class="secondary small"
                                    on:click=clear_rejected
                                >
                                    "Dismiss"
                                </button>
                            </div>
                        }
                    })
            }}
            {children()}
        </section>
    }
}
