//! `bpt-lab embed`: final-norm tokens (and logits, where the checkpoint has a head) of a batch of
//! already-normalised images, from safetensors to safetensors.

use crate::error::Error;
use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::tensor::{Tensor, TensorData};

use super::{Backend, ModelFiles, read, write_atomically};
use crate::model::checkpoint::{Checkpoint, HostTensor, to_safetensors};
use crate::model::vit::Prompts;

#[derive(clap::Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    files: ModelFiles,
    /// A safetensors file holding `pixel_values`, float32 [B, C, H, W], already normalised.
    #[arg(long)]
    input: PathBuf,
    /// Where to write `tokens` [B, T, D] and, with a head, `logits` [B, classes].
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Backend::Wgpu)]
    backend: Backend,
}

pub fn run(args: EmbedArgs) -> Result<(), Error> {
    let config = args.files.config()?;
    let input =
        Checkpoint::from_safetensors(&read(&args.input)?).map_err(|e| Error::at(&args.input, e))?;
    let pixels = input
        .get("pixel_values")
        .ok_or_else(|| format!("{}: no tensor named pixel_values", args.input.display()))?;
    let [b, c, h, w]: [usize; 4] = pixels.shape.clone().try_into().map_err(|_| {
        format!(
            "{}: pixel_values has shape {:?}, expected [B, C, H, W]",
            args.input.display(),
            pixels.shape
        )
    })?;

    let (device, gpu) = args.backend.device()?;
    let backbone = args.files.load(config, &device, gpu.as_ref())?;
    let images =
        Tensor::<4>::from_data(TensorData::new(pixels.data.clone(), [b, c, h, w]), &device);
    let tokens = backbone.forward(images, &Prompts::None, None)?;
    let logits = backbone
        .vit
        .logits(tokens.clone(), backbone.config.global_pool);

    let mut out = BTreeMap::new();
    let tokens = pollster::block_on(HostTensor::read(tokens))?;
    out.insert("tokens".to_string(), tokens);
    if let Some(logits) = logits {
        let logits = pollster::block_on(HostTensor::read(logits))?;
        out.insert("logits".to_string(), logits);
    }
    let bytes = to_safetensors(&out)?;
    write_atomically(&args.out, &bytes)
}
