//! The prompt factors as plain tensors with their trainability beside them, their
//! initialisation, and the product that turns them into prompt tokens.

use burn::tensor::{Device, Tensor, TensorData};

use super::{BInit, Method, PromptConfig, PromptError};
use crate::model::checkpoint::HostTensor;
use crate::rng::Rng;

/// One named parameter tensor. Frozen factors (fWhiten's W, deep B below the top blocks) are
/// constants of the computation: they get no gradient and no optimiser state.
#[derive(Clone, Debug)]
pub struct Factor {
    /// `p`, `w`, `a` or `b`: the names of docs/method.md, used in exported files.
    pub name: &'static str,
    pub value: Tensor<2>,
    pub trainable: bool,
}

impl Factor {
    pub fn new(
        name: &'static str,
        data: Vec<f32>,
        shape: [usize; 2],
        trainable: bool,
        device: &Device,
    ) -> Self {
        Self {
            name,
            value: Tensor::from_data(TensorData::new(data, shape), device),
            trainable,
        }
    }

    pub fn numel(&self) -> usize {
        self.value.dims().iter().product()
    }

    /// The same factor as an autodiff leaf when trainable (a constant otherwise), for one
    /// forward and backward pass.
    pub fn leaf(&self) -> Self {
        let value = if self.trainable {
            self.value.clone().autodiff().require_grad()
        } else {
            self.value.clone()
        };
        Self {
            value,
            ..self.clone()
        }
    }
}

/// The factors of one prompt set: tokens = `left` or `left right^T`.
#[derive(Clone, Debug)]
pub struct PromptSet {
    pub left: Factor,
    pub right: Option<Factor>,
}

impl PromptSet {
    /// The prompt tokens P~.
    ///
    /// # Shapes
    /// - left: [m, d] or [m, p]; right: [d, d] or [d, p] -> [m, d]
    pub fn tokens(&self) -> Tensor<2> {
        match &self.right {
            None => self.left.value.clone(),
            Some(right) => self
                .left
                .value
                .clone()
                .matmul(right.value.clone().transpose()),
        }
    }

    pub fn factors(&self) -> impl Iterator<Item = &Factor> {
        std::iter::once(&self.left).chain(self.right.as_ref())
    }

    pub fn factors_mut(&mut self) -> impl Iterator<Item = &mut Factor> {
        std::iter::once(&mut self.left).chain(self.right.as_mut())
    }
}

/// All prompt sets of a run: one (shallow) or one per block (deep).
#[derive(Clone, Debug)]
pub struct PromptParams {
    pub config: PromptConfig,
    pub sets: Vec<PromptSet>,
}

impl PromptParams {
    /// Initial prompts for a backbone of width `embed_dim`, `depth` blocks and patches of
    /// `patch_in` = channels x patch x patch inputs.
    ///
    /// `whitening` holds the d x d whitening matrix of each block the prompts enter (block 0 for
    /// shallow prompts); it is needed when [`PromptConfig::needs_whitening`].
    ///
    /// Initialisation (docs/method.md): VPT's P ~ U(-v, v), v = sqrt(6 / (patch_in + d)); BPT's
    /// P and A ~ N(0, 0.02^2); B from p distinct random columns of W, or Xavier uniform.
    pub fn init(
        config: &PromptConfig,
        embed_dim: usize,
        depth: usize,
        patch_in: usize,
        whitening: &[HostTensor],
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self, PromptError> {
        config.validate(embed_dim)?;
        let config = &config.effective();
        let d = embed_dim;
        let m = config.num_prompts;
        let sets = match (config.has_prompts(), config.deep) {
            (false, _) => 0,
            (true, true) => depth,
            (true, false) => 1,
        };
        if config.needs_whitening() && whitening.len() != sets {
            return Err(PromptError::Whitening(format!(
                "{} needs {sets} whitening matrices, got {}",
                config.method.name(),
                whitening.len()
            )));
        }
        if let Some(w) = whitening.iter().find(|w| w.shape != [d, d]) {
            return Err(PromptError::Whitening(format!(
                "a whitening matrix has shape {:?}, the model width is {d}",
                w.shape
            )));
        }
        let vpt_bound = (6.0 / (patch_in + d) as f64).sqrt();
        let mut built = Vec::with_capacity(sets);
        for (block, w) in (0..sets).map(|b| (b, whitening.get(b))) {
            let set = match config.method {
                Method::Head => unreachable!("head-only has no prompt sets"),
                Method::Vpt => PromptSet {
                    left: Factor::new("p", rng.uniform_vec(m * d, vpt_bound), [m, d], true, device),
                    right: None,
                },
                Method::BptFWhiten | Method::BptTWhiten => PromptSet {
                    left: Factor::new("p", rng.normal_vec(m * d, 0.02), [m, d], true, device),
                    right: Some(Factor::new(
                        "w",
                        w.expect("checked above").data.clone(),
                        [d, d],
                        config.method == Method::BptTWhiten,
                        device,
                    )),
                },
                Method::BptBilinear => {
                    let p = config.rank;
                    let b = match config.b_init {
                        BInit::Whiten => random_columns(w.expect("checked above"), p, rng),
                        BInit::Xavier => rng.uniform_vec(d * p, (6.0 / (d + p) as f64).sqrt()),
                    };
                    let train_b = !config.deep || block + config.train_b_top >= depth;
                    PromptSet {
                        left: Factor::new("a", rng.normal_vec(m * p, 0.02), [m, p], true, device),
                        right: Some(Factor::new("b", b, [d, p], train_b, device)),
                    }
                }
            };
            built.push(set);
        }
        Ok(Self {
            config: config.clone(),
            sets: built,
        })
    }

    /// Number of trained values (what the paper's parameter column counts; the head excluded).
    pub fn trainable_count(&self) -> usize {
        self.sets
            .iter()
            .flat_map(PromptSet::factors)
            .filter(|f| f.trainable)
            .map(Factor::numel)
            .sum()
    }

    /// Every factor, in a fixed order (set by set, left before right).
    pub fn factors(&self) -> impl Iterator<Item = &Factor> {
        self.sets.iter().flat_map(PromptSet::factors)
    }

    pub fn factors_mut(&mut self) -> impl Iterator<Item = &mut Factor> {
        self.sets.iter_mut().flat_map(PromptSet::factors_mut)
    }

    /// A copy whose trainable factors are autodiff leaves (see [`Factor::leaf`]).
    pub fn leaves(&self) -> Self {
        let mut out = self.clone();
        out.factors_mut().for_each(|f| *f = f.leaf());
        out
    }
}

/// `p` distinct columns of the d x d matrix `w`, chosen uniformly at random, as a [d, p] matrix.
///
/// The official code gathers a different random set of columns for every row, which mixes
/// entries of different columns; taking whole columns keeps B's columns whitening directions.
fn random_columns(w: &HostTensor, p: usize, rng: &mut Rng) -> Vec<f32> {
    let d = w.shape[0];
    let mut cols: Vec<usize> = (0..d).collect();
    rng.shuffle(&mut cols);
    let cols = &cols[..p];
    let mut out = Vec::with_capacity(d * p);
    for row in 0..d {
        out.extend(cols.iter().map(|&c| w.data[row * d + c]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(d: usize) -> HostTensor {
        let mut data = vec![0.0; d * d];
        for i in 0..d {
            data[i * d + i] = 1.0;
        }
        HostTensor::new(vec![d, d], data)
    }

    fn count(method: Method, deep: bool, rank: usize) -> usize {
        let d = 768;
        let config = PromptConfig {
            rank,
            ..PromptConfig::paper(method, deep)
        };
        let sets = if deep { 12 } else { 1 };
        let whitening = vec![identity(d); sets];
        PromptParams::init(
            &config,
            d,
            12,
            3 * 16 * 16,
            &whitening,
            &mut Rng::new(0),
            &Device::flex(),
        )
        .unwrap()
        .trainable_count()
    }

    #[test]
    fn parameter_counts_match_the_paper_for_vit_b_shallow() {
        // docs/method.md, "Headline results", in units of 1e-2 M: 7.68, 7.68, 66.66, 6.51.
        assert_eq!(count(Method::Vpt, false, 75), 76_800);
        assert_eq!(count(Method::BptFWhiten, false, 75), 76_800);
        assert_eq!(count(Method::BptTWhiten, false, 75), 666_624);
        assert_eq!(count(Method::BptBilinear, false, 75), 65_100);
    }

    #[test]
    fn deep_bilinear_trains_b_only_in_the_top_blocks() {
        // 12 blocks x A (50 x 50) + 4 top blocks x B (768 x 50).
        assert_eq!(
            count(Method::BptBilinear, true, 50),
            12 * 2_500 + 4 * 38_400
        );
        assert_eq!(count(Method::Vpt, true, 50), 12 * 50 * 768);
    }

    #[test]
    fn whitened_b_holds_distinct_columns_of_w() {
        let d = 6;
        let w = HostTensor::new(vec![d, d], (0..d * d).map(|v| v as f32).collect());
        let b = random_columns(&w, 4, &mut Rng::new(5));
        let mut firsts: Vec<f32> = b[..4].to_vec();
        for row in 0..d {
            for k in 0..4 {
                // Column c of w has w[row][c] = row * d + c: same column in every row.
                assert_eq!(b[row * 4 + k] - (row * d) as f32, firsts[k]);
            }
        }
        firsts.sort_by(f32::total_cmp);
        firsts.dedup();
        assert_eq!(firsts.len(), 4);
    }

    #[test]
    fn bpt_needs_its_whitening_and_a_sensible_rank() {
        let config = PromptConfig::paper(Method::BptFWhiten, false);
        let err = PromptParams::init(&config, 8, 2, 12, &[], &mut Rng::new(0), &Device::flex());
        assert!(err.unwrap_err().to_string().contains("whitening"));
        let config = PromptConfig {
            rank: 9,
            ..PromptConfig::paper(Method::BptBilinear, false)
        };
        let err = PromptParams::init(
            &config,
            8,
            2,
            12,
            &[identity(8)],
            &mut Rng::new(0),
            &Device::flex(),
        );
        assert!(err.unwrap_err().to_string().contains("rank"));
    }

    #[test]
    fn tokens_are_the_product_of_the_factors() {
        let config = PromptConfig {
            num_prompts: 3,
            rank: 2,
            ..PromptConfig::paper(Method::BptBilinear, false)
        };
        let p = PromptParams::init(
            &config,
            4,
            1,
            12,
            &[identity(4)],
            &mut Rng::new(2),
            &Device::flex(),
        )
        .unwrap();
        let set = &p.sets[0];
        let a = pollster::block_on(HostTensor::read(set.left.value.clone())).unwrap();
        let b = pollster::block_on(HostTensor::read(set.right.as_ref().unwrap().value.clone()))
            .unwrap();
        let t = pollster::block_on(HostTensor::read(set.tokens())).unwrap();
        for i in 0..3 {
            for j in 0..4 {
                let want: f32 = (0..2).map(|k| a.data[i * 2 + k] * b.data[j * 2 + k]).sum();
                assert!((t.data[i * 4 + j] - want).abs() < 1e-6);
            }
        }
    }
}
