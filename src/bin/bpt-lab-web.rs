//! The web entry point that Trunk builds (see `index.html`): mounts the Leptos page.

#[cfg(target_arch = "wasm32")]
fn main() {
    bpt_lab::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("bpt-lab-web is the browser app: build it with `trunk build` (see README.md).");
    std::process::exit(2);
}
