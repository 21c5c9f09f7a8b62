//! The web entry point that Trunk builds (see `index.html`): mounts the Leptos page.

// Static constructors (the `inventory` registrations of the GPU compiler's IR dialects) run
// once, here. A wasm module whose exports never call `__wasm_call_ctors` is linked
// "command-style": wasm-ld then makes *every* export (each allocation, each callback from
// JavaScript) run all constructors again, which cost over half of the page's CPU time and kept
// growing the registries. Calling it from `main` makes the module a reactor.
#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

#[cfg(target_arch = "wasm32")]
fn main() {
    // SAFETY: the linker-made constructor list, run once before anything else in the module.
    unsafe { __wasm_call_ctors() };
    bpt_lab::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("bpt-lab-web is the browser app: build it with `trunk build` (see README.md).");
    std::process::exit(2);
}
