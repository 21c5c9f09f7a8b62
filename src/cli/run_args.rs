//! The run settings `train` and `compare` share: prompts, recipe, optimisation, whitening.
//!
//! Every value resolves in one order: the flag when given, else the `--recipe` preset's value,
//! else the default shown in `--help`.

use super::by_name::by_name;
use crate::error::Error;
use crate::model::Pool;
use crate::prompt::{BInit, Method, PromptConfig};
use crate::train::optim::Optimizer;
use crate::train::recipe::{self, Recipe};
use crate::train::{Augment, DEFAULT_CROP_SCALE, TrainConfig};
use crate::whiten::{Estimator, Side, Source, Views, WhitenConfig};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum EstimatorArg {
    Centred,
    Official,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SourceArg {
    BlockInput,
    Norm1,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ViewsArg {
    Train,
    Eval,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum PoolArg {
    Token,
    Avg,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum OptimizerArg {
    Adamw,
    Sgd,
}

#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
    /// A preset from the official scripts: mae, moco, supervised or vpt (docs/cli.md, "Recipes").
    /// Explicit flags override its values.
    #[arg(long, value_parser = parse_recipe)]
    pub recipe: Option<&'static Recipe>,
    /// One prompt set per block instead of one before the first block.
    #[arg(long)]
    pub deep: bool,
    /// m, the number of prompt tokens [default: the recipe's, else 100 shallow, 50 deep].
    #[arg(long)]
    pub prompts: Option<usize>,
    /// p, the rank of BPT-bilinear [default: the recipe's, else 75 shallow, 50 deep].
    #[arg(long)]
    pub rank: Option<usize>,
    /// BPT-bilinear's B: whiten (columns of the whitening matrix) or xavier [default: the
    /// recipe's, else whiten].
    #[arg(long, value_parser = by_name(&BInit::ALL, BInit::name))]
    pub b_init: Option<BInit>,
    /// Prompt dropout [default: 0.1 for deep VPT, else 0].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Peak learning rate [default: the recipe's, else 1e-2].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Peak learning rate of the head [default: 5e-3]; head-only runs always use --lr.
    #[arg(long)]
    pub lr_head: Option<f64>,
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Warm-up epochs, fewer than --epochs [default: a tenth of the epochs, as the recipes].
    #[arg(long)]
    pub warmup: Option<usize>,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Input side in pixels (a multiple of the patch size).
    #[arg(long, default_value_t = 224)]
    pub size: usize,
    /// Weight decay of the prompt factors [default: the recipe's, else 5e-3].
    #[arg(long)]
    pub wd: Option<f64>,
    /// Weight decay of the head's weight [default: the recipe's, else 0.1].
    #[arg(long)]
    pub wd_head: Option<f64>,
    /// [default: the recipe's, else adamw]
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Head pooling: the class token, or the mean of the other tokens then the final norm
    /// [default: the recipe's, else the checkpoint's].
    #[arg(long, value_enum)]
    pub pool: Option<PoolArg>,
    #[arg(long, value_enum, default_value_t = EstimatorArg::Centred)]
    pub whiten: EstimatorArg,
    #[arg(long, value_enum, default_value_t = SourceArg::BlockInput)]
    pub whiten_source: SourceArg,
    /// Views of the training images the whitening statistics come from.
    #[arg(long, value_enum, default_value_t = ViewsArg::Train)]
    pub whiten_views: ViewsArg,
    /// Training views used for the whitening statistics.
    #[arg(long, default_value_t = 100)]
    pub whiten_images: usize,
    /// The product whitened: the prompt as query (the paper's X~ = W_q W_k^T X^T), as key (read
    /// by the image tokens through X W_q W_k^T), or both pooled (fWhiten, tWhiten, bilinear).
    #[arg(long, value_enum, default_value_t = Side::Query)]
    pub whiten_side: Side,
    /// Training views: RandomResizedCrop and flips, or none (each picture's evaluation view).
    #[arg(long, value_enum, default_value_t = Augment::CropFlip)]
    pub augment: Augment,
    /// The smallest area share RandomResizedCrop keeps, in (0, 1] (the official 0.08 keeps
    /// 8 x 8 px of a 28 px picture; 0.5 is gentler for small pictures).
    #[arg(long, default_value_t = DEFAULT_CROP_SCALE)]
    pub crop_scale: f64,
    /// Regulariser of the centred estimator, relative to the mean eigenvalue.
    #[arg(long, default_value_t = 1e-5)]
    pub epsilon: f64,
}

fn parse_recipe(name: &str) -> Result<&'static Recipe, String> {
    recipe::recipe(name)
        .ok_or_else(|| format!("unknown recipe {name:?} (one of {})", recipe::names()))
}

impl RunArgs {
    pub fn prompt_config(&self, method: Method) -> PromptConfig {
        let paper = PromptConfig::paper(method, self.deep);
        let preset = self.recipe.filter(|_| !self.deep);
        PromptConfig {
            num_prompts: self
                .prompts
                .or(preset.map(|r| r.prompts))
                .unwrap_or(paper.num_prompts),
            rank: self.rank.or(preset.map(|r| r.rank)).unwrap_or(paper.rank),
            dropout: self.dropout.unwrap_or(paper.dropout),
            b_init: self
                .b_init
                .or(self.recipe.map(|r| r.b_init))
                .unwrap_or(paper.b_init),
            ..paper
        }
    }

    /// The training settings for `seed`; an explicit warm-up of at least the epochs is refused.
    pub fn train_config(&self, method: Method, seed: u64) -> Result<TrainConfig, Error> {
        let d = TrainConfig::default();
        let r = self.recipe;
        let warmup = match self.warmup {
            Some(w) if w >= self.epochs => {
                return Err(format!(
                    "--warmup {w} must be below --epochs {}: the warm-up would take the whole run",
                    self.epochs
                )
                .into());
            }
            Some(w) => w,
            None => self.epochs / 10,
        };
        let lr = self.lr.or(r.map(|r| r.lr)).unwrap_or(d.lr);
        let config = TrainConfig {
            epochs: self.epochs,
            batch: self.batch,
            lr,
            lr_head: crate::train::head_lr(method, self.lr_head),
            // The cosine ends at 1e-8 (the recipes' floor), or at the rate itself if lower.
            min_lr: d.min_lr.min(lr),
            warmup_epochs: warmup,
            weight_decay: self
                .wd
                .or(r.map(|r| r.weight_decay))
                .unwrap_or(d.weight_decay),
            weight_decay_head: self
                .wd_head
                .or(r.map(|r| r.weight_decay_head))
                .unwrap_or(d.weight_decay_head),
            size: self.size,
            seed,
            optimizer: match self.optimizer {
                Some(OptimizerArg::Adamw) => Optimizer::AdamW,
                Some(OptimizerArg::Sgd) => Optimizer::Sgd { momentum: 0.9 },
                None => r.map(|r| r.optimizer).unwrap_or(d.optimizer),
            },
            pool: match self.pool {
                Some(PoolArg::Token) => Some(Pool::Token),
                Some(PoolArg::Avg) => Some(Pool::Avg),
                None => r.map(|r| r.pool),
            },
            augment: self.augment,
            crop_scale: self.crop_scale,
        };
        config.validate()?;
        Ok(config)
    }

    pub fn whiten_config(&self) -> WhitenConfig {
        WhitenConfig {
            estimator: match self.whiten {
                EstimatorArg::Centred => Estimator::Centred,
                EstimatorArg::Official => Estimator::Official,
            },
            source: match self.whiten_source {
                SourceArg::BlockInput => Source::BlockInput,
                SourceArg::Norm1 => Source::Norm1,
            },
            views: match self.whiten_views {
                ViewsArg::Train => Views::Train,
                ViewsArg::Eval => Views::Eval,
            },
            side: self.whiten_side,
            epsilon: self.epsilon,
            max_images: self.whiten_images,
        }
    }
}
