//! One line under the data panel: whether the images and runs are saved in this browser, the
//! one message when they cannot be, and the control that clears what is saved.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::SaveStatus;
use crate::app::browser::js;
use crate::app::state::AppState;

fn describe(status: &SaveStatus) -> (&'static str, String) {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match status {
        SaveStatus::Restoring => (
            "restoring",
            "Restoring what this browser saved\u{2026}".into(),
        ),
        SaveStatus::Saved { images, runs } => (
            "saved",
            format!(
                "Saved in this browser: {} and {}; they come back after a reload.",
                plural(*images, "image"),
                plural(*runs, "run")
            ),
        ),
        SaveStatus::Partial {
            images,
            runs,
            left_out,
        } => (
            "partial",
            format!(
                "Saved in this browser: {} and {}. {} could not be read and {} left out: {}.",
                plural(*images, "image"),
                plural(*runs, "run"),
                plural(left_out.len(), "saved record"),
                if left_out.len() == 1 { "was" } else { "were" },
                left_out.join("; ")
            ),
        ),
        SaveStatus::Off(e) => (
            "off",
            format!(
                "Not saved: this browser does not let the page store data ({e}). Everything \
                 works, but a reload starts empty."
            ),
        ),
        SaveStatus::Failed(e) => (
            "failed",
            format!(
                "The last change was not saved ({e}). The page goes on as it is; the next \
                 change tries again. Removing images or runs, or clearing the saved data, frees \
                 space."
            ),
        ),
        SaveStatus::Unreadable(e) => (
            "unreadable",
            format!(
                "Saved data from another version of the page could not be read ({e}); it is \
                 left as it is and nothing new is saved until it is cleared."
            ),
        ),
    }
}

#[component]
pub fn SaveStatusLine() -> impl IntoView {
    let app = AppState::get();
    let p = app.persist;
    let clear = move |_| {
        let ok =
            web_sys::window()
                .and_then(|w| {
                    js::call(
                    &w.into(),
                    "confirm",
                    &["Remove your classes, images and finished runs from this page and from \
                       this browser's storage?"
                        .into()],
                )
                .ok()
                })
                .is_some_and(|v| v.is_truthy());
        if ok {
            spawn_local(p.clear(app));
        }
    };
    let problem = move || {
        matches!(
            p.status.get(),
            SaveStatus::Off(_) | SaveStatus::Failed(_) | SaveStatus::Unreadable(_)
        )
    };
    let can_clear = move || !matches!(p.status.get(), SaveStatus::Off(_) | SaveStatus::Restoring);
    view! {
        <div class="row save-status" class:notice=problem class:notice-warn=problem>
            <p
                class="note"
                data-testid="save-status"
                data-state=move || describe(&p.status.get()).0
                data-saving=move || p.saving.get().to_string()
                role=move || problem().then_some("status")
            >
                {move || describe(&p.status.get()).1}
            </p>
            <button
                type="button"
                class="secondary small"
                data-testid="save-clear"
                disabled=move || !can_clear() || app.active_run.get().is_some()
                on:click=clear
            >
                "Clear saved data"
            </button>
        </div>
    }
    .into_any()
}
