//! The native command line's subcommands (the binary in `src/bin/bpt-lab.rs` dispatches here).

pub mod analyse;
pub mod bench;
pub mod by_name;
pub mod check;
pub mod compare;
pub mod embed;
pub mod evaluate;
pub mod images;
mod output;
pub mod predict;
pub mod progress;
pub mod run_args;
pub mod train;

use crate::error::Error;
use std::path::{Path, PathBuf};

pub use output::{write_atomically, write_files, write_folder};

use crate::gpu::GpuContext;
use crate::kernels::half::WeightStorage;
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
    /// How the blocks' linear weights are stored on wgpu: f32, or f16 where the adapter has
    /// shader-f16 (half their memory; the final tokens move by a relative 1e-3 on DINOv2-S,
    /// see BENCHMARKS.md). Activations and sums stay f32.
    #[arg(long, value_enum, default_value_t = WeightStorage::F32)]
    pub weight_dtype: WeightStorage,
}

impl ModelFiles {
    /// The architecture, with the normalisation and crop of a Hugging Face
    /// `preprocessor_config.json` beside the config file when there is one.
    pub fn config(&self) -> Result<VitConfig, Error> {
        let config = read_config(&self.config)?;
        let beside = self.config.with_file_name("preprocessor_config.json");
        if !beside.is_file() {
            return Ok(config);
        }
        let text = String::from_utf8_lossy(&read(&beside)?).into_owned();
        config
            .with_hf_preprocessor(&text)
            .map_err(|e| Error::at(beside, e))
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

    /// The backbone on `device`, its linear weights stored as `--weight-dtype` asks (f16 needs
    /// `gpu`, the context behind a wgpu device).
    pub fn load(
        &self,
        config: VitConfig,
        device: &burn::tensor::Device,
        gpu: Option<&GpuContext>,
    ) -> Result<Backbone, Error> {
        let f16 = match (self.weight_dtype, gpu) {
            (WeightStorage::F32, _) => None,
            (WeightStorage::F16, Some(gpu)) => Some(gpu),
            (WeightStorage::F16, None) => {
                return Err("--weight-dtype f16 needs --backend wgpu".into());
            }
        };
        let mut backbone = load_backbone(&self.model, config, device)?;
        if let Some(gpu) = f16 {
            pollster::block_on(gpu.store_f16(&mut backbone.vit)).map_err(|e| e.to_string())?;
        }
        Ok(backbone)
    }
}

/// A timm-style or HF config JSON; errors name the file.
pub fn read_config(path: &Path) -> Result<VitConfig, Error> {
    VitConfig::from_json(&String::from_utf8_lossy(&read(path)?)).map_err(|e| Error::at(path, e))
}

/// A safetensors checkpoint for `config` on `device`; errors name the file.
pub fn load_backbone(
    path: &Path,
    config: VitConfig,
    device: &burn::tensor::Device,
) -> Result<Backbone, Error> {
    Backbone::from_safetensors(&read(path)?, config, device).map_err(|e| Error::at(path, e))
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
    pub fn device(self) -> Result<(burn::tensor::Device, Option<GpuContext>), Error> {
        match self {
            Backend::Cpu => Ok((burn::tensor::Device::flex(), None)),
            Backend::Wgpu => {
                let ctx = pollster::block_on(GpuContext::new())?;
                Ok((ctx.burn_device().clone(), Some(ctx)))
            }
        }
    }
}

pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::at(path, e))
}
