//! The browser's own services, wrapped for the page: JavaScript helpers (files, downloads,
//! object URLs, messages), fetching with progress, the camera, the console for Rust's logs, and
//! small saved choices.

pub mod camera;
pub mod canvas;
pub mod console_log;
pub mod fetch;
pub mod js;
pub mod saved;
