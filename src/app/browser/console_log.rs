//! Rust's `log` records (wgpu's and cubecl's warnings and errors, among them a shader
//! compiler's messages) written to the browser console, in the page and in the worker.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Console;

impl Log for Console {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= Level::Warn
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!("[{}] {}", record.target(), record.args());
        match record.level() {
            Level::Error => gloo::console::error!(line),
            _ => gloo::console::warn!(line),
        }
    }

    fn flush(&self) {}
}

static CONSOLE: Console = Console;

/// Installs the bridge once; a second call (or another logger already set) changes nothing.
pub fn install() {
    if log::set_logger(&CONSOLE).is_ok() {
        log::set_max_level(LevelFilter::Warn);
    }
}
