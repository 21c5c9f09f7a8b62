//! The user's pictures: classes and the held-out share, decoding, the sample images, and the
//! data panel.

pub mod decode;
pub mod panel;
pub mod samples;
pub mod state;
