//! Errors of the GPU layer, with messages that say what happened and what to try.

/// Anything that can go wrong while acquiring the GPU or running a kernel on it.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter is available ({0}); on Linux install a Vulkan driver (mesa-vulkan-drivers gives the lavapipe software one)"
    )]
    NoAdapter(String),
    #[error("the GPU adapter refused to create a device: {0}")]
    RequestDevice(String),
    #[error("burn could not use the shared GPU device: {0}")]
    Burn(String),
    #[error(
        "reading a result back from the GPU failed ({0}); if the device was lost, reload the page or restart the program"
    )]
    Readback(String),
    #[error("invalid kernel argument: {0}")]
    InvalidArgument(String),
}
