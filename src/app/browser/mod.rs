//! The browser's own services, wrapped for the page: JavaScript helpers (files, downloads,
//! object URLs, messages), fetching with progress, the camera, and the console for Rust's logs.

pub mod camera;
pub mod canvas;
pub mod console_log;
pub mod fetch;
pub mod js;
