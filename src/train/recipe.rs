//! The official recipes as presets (docs/method.md, "The official recipes, script by script"):
//! one row per backbone family, read by the command line (`--recipe`), where explicit flags
//! override a preset's values.
//!
//! Sources: WangYZ1608/BPT `script/` (MAE shallow CUB, MoCo v3 shallow CUB, supervised IN-21k
//! CUB; AdamW, 100 epochs with 10 of warm-up, batch 32, cosine to 1e-8) and KMnP/vpt
//! `src/configs/config.py` (SGD, momentum 0.9, base lr 0.01, weight decay 1e-4). The official
//! runs warm up for 10 of 100 epochs; a preset keeps that share of whatever epochs are asked.

use super::optim::Optimizer;
use crate::model::Pool;
use crate::prompt::BInit;

/// One backbone family's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    pub name: &'static str,
    /// Where the values come from.
    pub source: &'static str,
    pub optimizer: Optimizer,
    pub lr: f64,
    /// Weight decay of the prompt factors.
    pub weight_decay: f64,
    /// Weight decay of the head's weight.
    pub weight_decay_head: f64,
    /// Share of the epochs spent warming up.
    pub warmup_share: f64,
    /// m and p of shallow prompts.
    pub prompts: usize,
    pub rank: usize,
    pub b_init: BInit,
    pub pool: Pool,
}

impl Recipe {
    /// Warm-up epochs for a run of `epochs`: the recipe's share, rounded down.
    pub fn warmup_epochs(&self, epochs: usize) -> usize {
        (epochs as f64 * self.warmup_share).floor() as usize
    }
}

pub const RECIPES: [Recipe; 4] = [
    Recipe {
        name: "mae",
        source: "BPT script/MAE, CUB shallow (MAE_bpt_shallow.py: whitening=True)",
        optimizer: Optimizer::AdamW,
        lr: 5e-2,
        weight_decay: 5e-3,
        weight_decay_head: 0.5,
        warmup_share: 0.1,
        prompts: 100,
        rank: 75,
        b_init: BInit::Whiten,
        pool: Pool::Avg,
    },
    Recipe {
        name: "moco",
        source: "BPT script/MoCo-v3, CUB shallow (README: whitening=False for BPT-bilinear)",
        optimizer: Optimizer::AdamW,
        lr: 5e-2,
        weight_decay: 5e-3,
        weight_decay_head: 0.1,
        warmup_share: 0.1,
        prompts: 100,
        rank: 75,
        b_init: BInit::Xavier,
        pool: Pool::Token,
    },
    Recipe {
        name: "supervised",
        source: "BPT script/Sup-IN21K, CUB",
        optimizer: Optimizer::AdamW,
        lr: 5e-3,
        weight_decay: 0.1,
        weight_decay_head: 10.0,
        warmup_share: 0.1,
        prompts: 100,
        rank: 25,
        b_init: BInit::Xavier,
        pool: Pool::Token,
    },
    Recipe {
        name: "vpt",
        source: "KMnP/vpt src/configs/config.py (SGD defaults); BPT's 10 of 100 warm-up epochs",
        optimizer: Optimizer::Sgd { momentum: 0.9 },
        lr: 1e-2,
        weight_decay: 1e-4,
        weight_decay_head: 1e-4,
        warmup_share: 0.1,
        prompts: 100,
        rank: 75,
        b_init: BInit::Whiten,
        pool: Pool::Token,
    },
];

/// The recipe of that name.
pub fn recipe(name: &str) -> Option<&'static Recipe> {
    RECIPES.iter().find(|r| r.name == name)
}

/// The names, for messages.
pub fn names() -> String {
    RECIPES.map(|r| r.name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recipe_is_found_by_name_and_warms_up_a_tenth() {
        for r in RECIPES {
            assert_eq!(recipe(r.name), Some(&r));
            assert_eq!(r.warmup_epochs(100), 10);
            assert_eq!(r.warmup_epochs(9), 0);
        }
        assert!(recipe("mocov3").is_none());
        assert_eq!(names(), "mae, moco, supervised, vpt");
    }
}
