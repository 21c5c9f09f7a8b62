//! The backbones served with the page, one line each on what they are, each loaded with a click.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::model::loaders;
use crate::app::model::state::{ModelSource, Shipped};
use crate::app::state::AppState;

#[component]
pub fn ShippedMenu() -> impl IntoView {
    let app = AppState::get();
    let rows = Shipped::ALL.map(|which| {
        let in_use = move || {
            app.model.with(|m| {
                m.ready()
                    .is_some_and(|m| m.source == ModelSource::Shipped(which))
            })
        };
        view! {
            <li data-testid=format!("shipped-{}", which.name())>
                <button
                    type="button"
                    class="secondary"
                    data-testid=format!("shipped-load-{}", which.name())
                    disabled=move || in_use() || !app.gpu_ready()
                    on:click=move |_| spawn_local(loaders::load_shipped(app, which))
                >
                    {move || if in_use() { "In use" } else { "Load" }}
                </button>
                <span class="shipped-text">
                    <code>{which.name()}</code>
                    " "
                    {which.about()}
                </span>
            </li>
        }
    });
    view! {
        <div class="shipped">
            <h3 class="shipped-heading">"Served with the page"</h3>
            <ul class="shipped-list">{rows.into_iter().collect_view()}</ul>
        </div>
    }
}
