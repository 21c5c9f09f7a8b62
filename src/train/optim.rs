//! AdamW (BPT's optimiser) and SGD with momentum (VPT's), each with a weight decay per
//! parameter group, and the warm-up + cosine schedule, written out on plain tensors (only the
//! prompt factors and the head have state).

use burn::tensor::Tensor;

/// Decoupled weight decay (Loshchilov and Hutter 2019) with bias-corrected moments.
pub struct AdamW {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    moments: Vec<Option<(Tensor<2>, Tensor<2>)>>,
    steps: Vec<i32>,
}

impl AdamW {
    /// PyTorch's defaults (betas 0.9, 0.999; eps 1e-8) for `slots` parameters.
    pub fn new(slots: usize) -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            moments: vec![None; slots],
            steps: vec![0; slots],
        }
    }

    /// One update of parameter `slot`: returns the new value.
    pub fn update(
        &mut self,
        slot: usize,
        param: Tensor<2>,
        grad: Tensor<2>,
        lr: f64,
        weight_decay: f64,
    ) -> Tensor<2> {
        self.steps[slot] += 1;
        let t = self.steps[slot];
        let (m, v) = match self.moments[slot].take() {
            Some((m, v)) => (
                m * self.beta1 + grad.clone() * (1.0 - self.beta1),
                v * self.beta2 + grad.clone().powi_scalar(2) * (1.0 - self.beta2),
            ),
            None => (
                grad.clone() * (1.0 - self.beta1),
                grad.powi_scalar(2) * (1.0 - self.beta2),
            ),
        };
        let m_hat = m.clone() / (1.0 - self.beta1.powi(t));
        let v_hat = v.clone() / (1.0 - self.beta2.powi(t));
        let step = m_hat / (v_hat.sqrt() + self.eps);
        self.moments[slot] = Some((m, v));
        param * (1.0 - lr * weight_decay) - step * lr
    }
}

/// SGD with heavy-ball momentum and L2 weight decay, as PyTorch's `torch.optim.SGD`
/// (dampening 0, not Nesterov): `b = mu b + (g + wd p)`, `p -= lr b`. VPT's recipe (KMnP/vpt).
pub struct Sgd {
    pub momentum: f64,
    buffers: Vec<Option<Tensor<2>>>,
}

impl Sgd {
    pub fn new(slots: usize, momentum: f64) -> Self {
        Self {
            momentum,
            buffers: vec![None; slots],
        }
    }

    pub fn update(
        &mut self,
        slot: usize,
        param: Tensor<2>,
        grad: Tensor<2>,
        lr: f64,
        weight_decay: f64,
    ) -> Tensor<2> {
        let g = grad + param.clone() * weight_decay;
        let b = match self.buffers[slot].take() {
            Some(b) => b * self.momentum + g,
            None => g,
        };
        self.buffers[slot] = Some(b.clone());
        param - b * lr
    }
}

/// Which optimiser a run uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// AdamW with PyTorch's defaults (BPT's recipe).
    AdamW,
    /// SGD with this momentum (VPT's recipe: 0.9).
    Sgd { momentum: f64 },
}

impl Optimizer {
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::AdamW => "adamw",
            Optimizer::Sgd { .. } => "sgd",
        }
    }

    /// The optimiser with its state for `slots` parameters.
    pub fn init(self, slots: usize) -> OptimState {
        match self {
            Optimizer::AdamW => OptimState::AdamW(AdamW::new(slots)),
            Optimizer::Sgd { momentum } => OptimState::Sgd(Sgd::new(slots, momentum)),
        }
    }
}

/// A running optimiser.
pub enum OptimState {
    AdamW(AdamW),
    Sgd(Sgd),
}

impl OptimState {
    /// One update of parameter `slot`: returns the new value.
    pub fn update(
        &mut self,
        slot: usize,
        param: Tensor<2>,
        grad: Tensor<2>,
        lr: f64,
        weight_decay: f64,
    ) -> Tensor<2> {
        match self {
            OptimState::AdamW(o) => o.update(slot, param, grad, lr, weight_decay),
            OptimState::Sgd(o) => o.update(slot, param, grad, lr, weight_decay),
        }
    }
}

/// Linear warm-up to `lr`, then per-step cosine decay to `min_lr` (the official recipe).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub lr: f64,
    pub min_lr: f64,
    pub warmup_steps: usize,
    pub total_steps: usize,
}

impl Schedule {
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = ((step - self.warmup_steps) as f64 / span as f64).min(1.0);
        self.min_lr
            + (self.lr - self.min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;

    #[test]
    fn the_schedule_warms_up_then_decays_to_the_floor() {
        let s = Schedule {
            lr: 1.0,
            min_lr: 0.01,
            warmup_steps: 4,
            total_steps: 14,
        };
        assert_eq!(s.at(0), 0.25);
        assert_eq!(s.at(3), 1.0);
        assert!((s.at(4) - 1.0).abs() < 1e-12);
        assert!((s.at(9) - 0.505).abs() < 1e-12);
        assert!((s.at(14) - 0.01).abs() < 1e-12);
        assert!((1..14).all(|k| s.at(k) <= s.at(k - 1) + 1e-12 || k < 4));
    }

    #[test]
    fn adamw_matches_a_hand_computed_pair_of_steps() {
        let device = Device::flex();
        let t = |v: f32| Tensor::<2>::from_data(TensorData::new(vec![v], [1, 1]), &device);
        let mut opt = AdamW::new(1);
        let (lr, wd) = (0.1, 0.5);
        let p1 = opt.update(0, t(2.0), t(0.5), lr, wd);
        let p2 = opt.update(0, p1.clone(), t(-1.0), lr, wd);
        let read = |x: Tensor<2>| x.into_data().try_into_vec::<f32>().unwrap()[0] as f64;
        // Step 1: m^ = g, v^ = g^2, so the step is sign(g) (up to eps).
        let want1 = 2.0 * (1.0 - lr * wd) - lr * 0.5 / (0.5 + 1e-8);
        assert!((read(p1) - want1).abs() < 1e-6);
        // Step 2 by the formulas.
        let m = 0.9 * 0.05 - 0.1 * 1.0;
        let v = 0.999 * 0.00025 + 0.001 * 1.0;
        let (mh, vh) = (m / (1.0 - 0.81), v / (1.0 - 0.999f64.powi(2)));
        let want2 = want1 * (1.0 - lr * wd) - lr * mh / (vh.sqrt() + 1e-8);
        assert!((read(p2) - want2).abs() < 1e-5, "{want2}");
    }

    #[test]
    fn sgd_with_momentum_matches_pytorch_s_update_rule() {
        let device = Device::flex();
        let t = |v: f32| Tensor::<2>::from_data(TensorData::new(vec![v], [1, 1]), &device);
        let read = |x: Tensor<2>| x.into_data().try_into_vec::<f32>().unwrap()[0] as f64;
        let mut opt = Sgd::new(1, 0.9);
        let (lr, wd) = (0.1, 0.5);
        let p1 = opt.update(0, t(2.0), t(0.5), lr, wd);
        // b1 = g + wd p = 0.5 + 1.0; p1 = 2 - 0.1 * 1.5.
        assert!((read(p1.clone()) - 1.85).abs() < 1e-6);
        let p2 = opt.update(0, p1, t(-1.0), lr, wd);
        // b2 = 0.9 * 1.5 + (-1 + 0.5 * 1.85) = 1.275; p2 = 1.85 - 0.1275.
        assert!((read(p2) - 1.7225).abs() < 1e-6);
    }
}
