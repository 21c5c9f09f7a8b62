//! The frozen backbone as the rest of the engine uses it: the burn modules, the config, and the
//! position table kept on the host so any input size (a multiple of the patch) can be served.

use burn::tensor::{Device, Tensor, TensorData};

use super::arch::WeightsArch;
use super::checkpoint::{Checkpoint, HostTensor};
use super::layout::Naming;
use super::load::{Loaded, load_vit};
use super::pos_embed::resample_grid;
use super::vit::{Prompts, Trace, Vit};
use super::{ModelError, VitConfig};

/// Most tokens one image may have (class token, patches and prompts): attention's memory grows
/// with their square, and 16,384 is already 1 GiB of scores per head in f32.
pub const MAX_TOKENS: usize = 16_384;

pub struct Backbone {
    pub config: VitConfig,
    pub vit: Vit,
    pub naming: Naming,
    /// [`weights_hash`] of the checkpoint's bytes (empty when built from tensors in memory).
    pub weights_hash: String,
    /// Tensors of the checkpoint that the backbone does not use and the loader skipped.
    pub skipped: Vec<String>,
    pos_table: HostTensor,
}

/// A content hash of a checkpoint file: xxh3-128 of its bytes, as 32 hex digits. Run files
/// record it, so a run is matched to the exact weights it was trained on.
pub fn weights_hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

impl Backbone {
    /// Reads a safetensors checkpoint (bytes) for the architecture in `config`, with the fields
    /// the config leaves to the weights taken from them ([`VitConfig::resolve`]).
    pub fn from_safetensors(
        bytes: &[u8],
        config: VitConfig,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let mut ck = Checkpoint::from_safetensors(bytes)?;
        let config = config.resolve(&WeightsArch::read(&ck)?);
        let loaded = load_vit(&mut ck, &config, device)?;
        Ok(Self {
            weights_hash: weights_hash(bytes),
            ..Self::from_loaded(loaded, config)
        })
    }

    /// Wraps what [`load_vit`] built for `config`.
    pub fn from_loaded(loaded: Loaded, config: VitConfig) -> Self {
        Self {
            config,
            vit: loaded.vit,
            naming: loaded.layout.naming(),
            weights_hash: String::new(),
            skipped: loaded.skipped,
            pos_table: loaded.pos_table,
        }
    }

    /// The position embeddings for an image of `height` x `width` pixels: [1, P + gh * gw, D],
    /// a row for every prefix token (zero where the checkpoint gives it none) and patch.
    pub fn pos_embed(
        &self,
        height: usize,
        width: usize,
        device: &Device,
    ) -> Result<Tensor<3>, ModelError> {
        let p = self.config.patch_size;
        if height == 0 || width == 0 || !height.is_multiple_of(p) || !width.is_multiple_of(p) {
            return Err(ModelError::Input(format!(
                "image size {height}x{width} is not a positive multiple of the patch size {p}"
            )));
        }
        let d = self.config.embed_dim;
        let prefix = self.config.pos_prefix();
        let old = self.config.grid(self.config.img_size);
        let (gh, gw) = (height / p, width / p);
        self.check_tokens(height, width, 0)?;
        let grid = resample_grid(
            &self.pos_table.data[prefix * d..],
            old,
            d,
            gh,
            gw,
            self.config.pos_antialias,
        );
        // The prefix tokens past the table's (registers; all of them under no_embed_class) get
        // no position: zero rows.
        let unplaced = self.config.prefix_tokens() - prefix;
        let mut table = self.pos_table.data[..prefix * d].to_vec();
        table.resize((prefix + unplaced) * d, 0.0);
        table.extend(grid);
        Ok(Tensor::from_data(
            TensorData::new(table, [1, prefix + unplaced + gh * gw, d]),
            device,
        ))
    }

    /// Final-norm tokens of normalised images.
    ///
    /// # Shapes
    /// - images: [B, C, H, W] -> [B, P + m + N, D]
    pub fn forward(
        &self,
        images: Tensor<4>,
        prompts: &Prompts,
        trace: Option<&mut Trace>,
    ) -> Result<Tensor<3>, ModelError> {
        let [b, c, h, w] = images.dims();
        if b == 0 {
            return Err(ModelError::Input("no images (a batch of 0)".into()));
        }
        if c != self.config.in_chans {
            return Err(ModelError::Input(format!(
                "images have {c} channels, the model takes {}",
                self.config.in_chans
            )));
        }
        self.check_prompts(prompts, b)?;
        let prompt_tokens: usize = match prompts {
            Prompts::None => 0,
            Prompts::Shallow(t) => t.dims()[1],
            Prompts::Deep(sets) => sets.iter().map(|t| t.dims()[1]).max().unwrap_or(0),
        };
        self.check_tokens(h, w, prompt_tokens)?;
        let pos = self.pos_embed(h, w, &images.device())?;
        let tokens = self.vit.embed(images, pos);
        Ok(self.vit.forward_tokens(tokens, prompts, trace))
    }

    /// Tokens per image of `height` x `width` px with `prompts` prompt tokens: the prefix
    /// tokens, the patches and the prompts (saturating, so a hostile size stays comparable).
    pub fn tokens_per_image(&self, height: usize, width: usize, prompts: usize) -> usize {
        let p = self.config.patch_size.max(1);
        (height / p)
            .saturating_mul(width / p)
            .saturating_add(self.config.prefix_tokens())
            .saturating_add(prompts)
    }

    /// Refuses inputs of `height` x `width` px with `prompts` prompt tokens whose tokens per
    /// image (prefix, patches, prompts) exceed [`MAX_TOKENS`], before anything is allocated.
    pub fn check_tokens(
        &self,
        height: usize,
        width: usize,
        prompts: usize,
    ) -> Result<(), ModelError> {
        let p = self.config.patch_size.max(1);
        let (gh, gw) = (height / p, width / p);
        let tokens = self.tokens_per_image(height, width, prompts);
        if tokens > MAX_TOKENS {
            return Err(ModelError::Input(format!(
                "{height}x{width} px gives {tokens} tokens per image ({gh} x {gw} patches, \
                 {prompts} prompts), above the limit of {MAX_TOKENS} tokens per image"
            )));
        }
        Ok(())
    }

    /// Prompts must be [1 or B, m, D], and deep ones one set per block.
    fn check_prompts(&self, prompts: &Prompts, batch: usize) -> Result<(), ModelError> {
        let sets: Vec<&Tensor<3>> = match prompts {
            Prompts::None => return Ok(()),
            Prompts::Shallow(p) => vec![p.as_ref()],
            Prompts::Deep(per_block) => {
                if per_block.len() != self.config.depth {
                    return Err(ModelError::Input(format!(
                        "deep prompts: {} sets for {} blocks",
                        per_block.len(),
                        self.config.depth
                    )));
                }
                per_block.iter().collect()
            }
        };
        for p in sets {
            let [n, _, d] = p.dims();
            if d != self.config.embed_dim || (n != 1 && n != batch) {
                return Err(ModelError::Input(format!(
                    "prompts of shape {:?} for {batch} images of width {}: need [1 or {batch}, m, {}]",
                    p.dims(),
                    self.config.embed_dim,
                    self.config.embed_dim
                )));
            }
        }
        Ok(())
    }
}
