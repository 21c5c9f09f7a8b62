//! The backward passes of the fused linear layers, LayerNorm, the scaled softmax and attention,
//! in burn's autodiff.
//!
//! The backbone is frozen: its weights, biases and LayerScale factors are constants of the
//! graph, so only the gradients of the activations are computed (dX = prologue(dY) W^T, in one
//! kernel) and no weight gradient ever is. A tracked weight reaching these ops is a bug of the
//! caller: [`super::linear`] routes layers with trainable weights to burn's own ops instead.

use burn::backend::Backend;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;

use super::{VitKernels, VitOps};

fn assert_frozen<B: Backend, C: CheckpointStrategy>(weights: &[&FloatTensor<Autodiff<B, C>>]) {
    assert!(
        weights.iter().all(|w| !w.is_tracked()),
        "our fused kernels take frozen weights only"
    );
}

impl<B: Backend + VitOps + VitKernels, C: CheckpointStrategy> VitOps for Autodiff<B, C> {
    fn fused_linear(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LinearBackward;

        impl<B: Backend + VitKernels> Backward<B, 1> for LinearBackward {
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [x] = ops.parents;
                let dy = grads.consume::<B>(&ops.node);
                if let Some(x) = x {
                    grads.register::<B>(x.id, B::linear_input_grad(dy, ops.state));
                }
            }
        }

        assert_frozen::<B, C>(&[&w, &b]);
        let guards = [x.node()];
        let (x, w, b) = (x.into_primitive(), w.into_primitive(), b.into_primitive());
        match LinearBackward
            .prepare::<C>(guards)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(w.clone(), B::fused_linear(x, w, b)),
            OpsKind::UnTracked(prep) => prep.finish(B::fused_linear(x, w, b)),
        }
    }

    fn fused_linear_gelu(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LinearGeluBackward;

        impl<B: Backend + VitKernels> Backward<B, 1> for LinearGeluBackward {
            /// The weight and the pre-activation z = x W + b, kept by the forward pass.
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [x] = ops.parents;
                let dy = grads.consume::<B>(&ops.node);
                let (w, z) = ops.state;
                if let Some(x) = x {
                    grads.register::<B>(x.id, B::linear_gelu_input_grad(dy, z, w));
                }
            }
        }

        assert_frozen::<B, C>(&[&w, &b]);
        let guards = [x.node()];
        let (x, w, b) = (x.into_primitive(), w.into_primitive(), b.into_primitive());
        match LinearGeluBackward
            .prepare::<C>(guards)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (y, z) = B::linear_gelu_saved(x, w.clone(), b);
                prep.finish((w, z), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_linear_gelu(x, w, b)),
        }
    }

    fn fused_linear_residual(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        res: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LinearResidualBackward;

        impl<B: Backend + VitKernels> Backward<B, 2> for LinearResidualBackward {
            /// The weight and the LayerScale factors.
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [x, res] = ops.parents;
                let dy = grads.consume::<B>(&ops.node);
                let (w, gamma) = ops.state;
                if let Some(x) = x {
                    let dx = B::linear_scaled_input_grad(dy.clone(), gamma, w);
                    grads.register::<B>(x.id, dx);
                }
                if let Some(res) = res {
                    grads.register::<B>(res.id, dy);
                }
            }
        }

        assert_frozen::<B, C>(&[&w, &b, &gamma]);
        let guards = [x.node(), res.node()];
        let (x, w, b) = (x.into_primitive(), w.into_primitive(), b.into_primitive());
        let (gamma, res) = (gamma.into_primitive(), res.into_primitive());
        match LinearResidualBackward
            .prepare::<C>(guards)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let state = (w.clone(), gamma.clone());
                prep.finish(state, B::fused_linear_residual(x, w, b, gamma, res))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_linear_residual(x, w, b, gamma, res)),
        }
    }

    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        eps: f64,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LayerNormBackward;

        impl<B: Backend + VitKernels> Backward<B, 1> for LayerNormBackward {
            /// x, gamma and the (mean, rstd) of each row, kept by the forward pass.
            type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [x] = ops.parents;
                let dy = grads.consume::<B>(&ops.node);
                let (xv, gamma, stats) = ops.state;
                if let Some(x) = x {
                    grads.register::<B>(x.id, B::layer_norm_input_grad(xv, gamma, stats, dy));
                }
            }
        }

        assert_frozen::<B, C>(&[&gamma, &beta]);
        let guards = [x.node()];
        let (x, gamma, beta) = (
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
        );
        match LayerNormBackward
            .prepare::<C>(guards)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (y, stats) = B::layer_norm_saved(x.clone(), gamma.clone(), beta, eps);
                prep.finish((x, gamma, stats), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_layer_norm(x, gamma, beta, eps)),
        }
    }

    fn fused_softmax(x: FloatTensor<Self>, scale: f64) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct SoftmaxBackward;

        impl<B: Backend + VitKernels> Backward<B, 1> for SoftmaxBackward {
            /// The probabilities and the scale.
            type State = (FloatTensor<B>, f64);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [x] = ops.parents;
                let dy = grads.consume::<B>(&ops.node);
                let (y, scale) = ops.state;
                if let Some(x) = x {
                    grads.register::<B>(x.id, B::softmax_input_grad(y, dy, scale));
                }
            }
        }

        let guards = [x.node()];
        let x = x.into_primitive();
        match SoftmaxBackward
            .prepare::<C>(guards)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = B::fused_softmax(x, scale);
                prep.finish((y.clone(), scale), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_softmax(x, scale)),
        }
    }

    fn fused_attention(qkv: FloatTensor<Self>, heads: usize, scale: f64) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AttentionBackward;

        impl<B: Backend + VitKernels> Backward<B, 1> for AttentionBackward {
            /// qkv, the probabilities, the head count and the scale.
            type State = (FloatTensor<B>, FloatTensor<B>, usize, f64);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [qkv] = ops.parents;
                let dout = grads.consume::<B>(&ops.node);
                let (x, p, heads, scale) = ops.state;
                if let Some(qkv) = qkv {
                    let dqkv = B::attention_input_grad(x, p, dout, heads, scale);
                    grads.register::<B>(qkv.id, dqkv);
                }
            }
        }

        let guards = [qkv.node()];
        let qkv = qkv.into_primitive();
        match AttentionBackward
            .prepare::<C>(guards)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, p) = B::attention_saved(qkv.clone(), heads, scale);
                prep.finish((qkv, p, heads, scale), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_attention(qkv, heads, scale)),
        }
    }
}
