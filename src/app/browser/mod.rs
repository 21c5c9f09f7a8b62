//! The browser's own services, wrapped for the page: JavaScript helpers (files, downloads,
//! object URLs, messages) and fetching with progress.

pub mod fetch;
pub mod js;
