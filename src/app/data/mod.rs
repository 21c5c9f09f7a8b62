//! The user's pictures: classes and the held-out share, decoding, the sample images, the
//! class's camera, and the data panel.

pub mod camera_panel;
pub mod decode;
pub mod panel;
pub mod samples;
pub mod state;
