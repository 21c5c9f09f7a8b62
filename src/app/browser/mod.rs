//! The browser's own services, wrapped for the page: JavaScript helpers (files, downloads,
//! object URLs, messages), fetching with progress, and the camera.

pub mod camera;
pub mod canvas;
pub mod fetch;
pub mod js;
