//! The native command line's subcommands (the binary in `src/bin/bpt-lab.rs` dispatches here).

pub mod analyse;
pub mod bench;
pub mod by_name;
pub mod check;
pub mod compare;
pub mod embed;
pub mod evaluate;
pub mod images;
pub mod predict;
pub mod progress;
pub mod run_args;
pub mod train;

use std::path::{Path, PathBuf};

use crate::gpu::GpuContext;
use crate::model::{Backbone, VitConfig};

/// `--model` and `--config`, for every subcommand that loads a backbone.
#[derive(clap::Args)]
pub struct ModelFiles {
    /// The model weights (.safetensors, timm or HF naming).
    #[arg(long)]
    pub model: PathBuf,
    /// The architecture: a timm-style JSON or an HF config.json.
    #[arg(long)]
    pub config: PathBuf,
}

impl ModelFiles {
    /// The architecture, with the normalisation and crop of a Hugging Face
    /// `preprocessor_config.json` beside the config file when there is one.
    pub fn config(&self) -> Result<VitConfig, String> {
        let config = read_config(&self.config)?;
        let beside = self.config.with_file_name("preprocessor_config.json");
        if !beside.is_file() {
            return Ok(config);
        }
        let text = String::from_utf8_lossy(&read(&beside)?).into_owned();
        config
            .with_hf_preprocessor(&text)
            .map_err(|e| format!("{}: {e}", beside.display()))
    }

    /// The model's name for run files: its folder and file name, never the whole path (a run
    /// file is shared; where it was made on the author's disk is not).
    pub fn name(&self) -> String {
        let parts: Vec<String> = self
            .model
            .components()
            .rev()
            .take(2)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .filter(|c| c != "/" && c != "." && c != "..")
            .collect();
        parts.into_iter().rev().collect::<Vec<_>>().join("/")
    }

    pub fn load(
        &self,
        config: VitConfig,
        device: &burn::tensor::Device,
    ) -> Result<Backbone, String> {
        load_backbone(&self.model, config, device)
    }
}

/// A timm-style or HF config JSON; errors name the file.
pub fn read_config(path: &Path) -> Result<VitConfig, String> {
    VitConfig::from_json(&String::from_utf8_lossy(&read(path)?))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A safetensors checkpoint for `config` on `device`; errors name the file.
pub fn load_backbone(
    path: &Path,
    config: VitConfig,
    device: &burn::tensor::Device,
) -> Result<Backbone, String> {
    Backbone::from_safetensors(&read(path)?, config, device)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Where tensors run.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Backend {
    /// burn's CPU backend (flex).
    Cpu,
    /// The GPU through wgpu (Vulkan, Metal or DX12; `WGPU_BACKEND` picks).
    Wgpu,
}

impl Backend {
    /// The burn device, and the GPU context that must stay alive while it is used.
    pub fn device(self) -> Result<(burn::tensor::Device, Option<GpuContext>), String> {
        match self {
            Backend::Cpu => Ok((burn::tensor::Device::flex(), None)),
            Backend::Wgpu => {
                let ctx = pollster::block_on(GpuContext::new()).map_err(|e| e.to_string())?;
                Ok((ctx.burn_device().clone(), Some(ctx)))
            }
        }
    }
}

pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes to a sibling temporary file, then renames it: a failure leaves nothing half-written
/// (the temporary is removed), and a directory in the way is refused before anything is written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_files(&[(path.to_path_buf(), bytes)])
}

/// Writes every file of one result whole or not at all: each goes to a temporary beside it;
/// only when all are written are they renamed into place; on any failure every temporary is
/// removed (a file already in place keeps its old contents).
pub fn write_files(files: &[(PathBuf, &[u8])]) -> Result<(), String> {
    if let Some((path, _)) = files.iter().find(|(p, _)| p.is_dir()) {
        return Err(format!(
            "{}: is a directory; give a file name",
            path.display()
        ));
    }
    let temporary = |p: &Path| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        p.with_file_name(format!(".{name}.part-{}", std::process::id()))
    };
    let mut written = Vec::with_capacity(files.len());
    let cleanup = |written: &[PathBuf]| {
        for t in written {
            let _ = std::fs::remove_file(t);
        }
    };
    for (path, bytes) in files {
        let tmp = temporary(path);
        if let Err(e) = std::fs::write(&tmp, bytes) {
            let _ = std::fs::remove_file(&tmp);
            cleanup(&written);
            return Err(format!("{}: {e}", path.display()));
        }
        written.push(tmp);
    }
    for (i, (path, _)) in files.iter().enumerate() {
        if let Err(e) = std::fs::rename(&written[i], path) {
            cleanup(&written[i..]);
            return Err(format!("{}: {e}", path.display()));
        }
    }
    Ok(())
}
