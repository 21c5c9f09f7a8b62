//! The strided products of attention (`shaders/attention.wgsl`): which buffer each operand
//! comes from and with which strides, for the forward pass and the input gradient.
//!
//! qkv is [B, T, 3D] with q, k and v side by side and the heads contiguous inside each
//! (timm's and our layout, see `model::vit`); S, P, dP and dS are [B H, T, T]; O and dO are
//! [B, T, D]; dqkv is laid out like qkv.

use super::wgsl::storage_bindings;

/// One compiled form: whether B is read from A's binding (S = Q K^T, both from qkv).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProductVariant {
    pub shared: bool,
}

impl ProductVariant {
    pub const ALL: [Self; 2] = [Self { shared: true }, Self { shared: false }];

    pub fn wgsl(self) -> String {
        let names: &[&str] = if self.shared {
            &["a", "out"]
        } else {
            &["a", "b", "out"]
        };
        let bindings = storage_bindings(names.iter().copied(), "f32", "dims: Dims");
        include_str!("../../shaders/attention.wgsl")
            .replace("{{bindings}}", &bindings)
            .replace("{{b}}", if self.shared { "a" } else { "b" })
    }
}

/// Where one operand's element (row, column) of batch element b and head h lives:
/// `offset + b * batch + h * head + row * row_stride + col * col_stride`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Operand {
    pub offset: usize,
    pub batch: usize,
    pub head: usize,
    pub row: usize,
    pub col: usize,
}

/// out[b, h](i, j) = sum_k A(i, k) B(k, j), for every batch element and head.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Product {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a: Operand,
    pub b: Operand,
    /// The output's layout; its column stride must be 1.
    pub out: Operand,
}

/// The attention's shapes: batch, tokens, heads and head width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Heads {
    pub batch: usize,
    pub tokens: usize,
    pub heads: usize,
    pub head_dim: usize,
}

impl Heads {
    fn d(&self) -> usize {
        self.heads * self.head_dim
    }

    /// q (part 0), k (1) or v (2) of qkv as a [T, hd] matrix per head; `t` reads it transposed.
    fn qkv(&self, part: usize, t: bool) -> Operand {
        let d = self.d();
        let (row, col) = if t { (1, 3 * d) } else { (3 * d, 1) };
        Operand {
            offset: part * d,
            batch: self.tokens * 3 * d,
            head: self.head_dim,
            row,
            col,
        }
    }

    /// A [B H, T, T] matrix (S, P, dP, dS) per head; `t` reads it transposed.
    fn scores(&self, t: bool) -> Operand {
        let tt = self.tokens * self.tokens;
        let (row, col) = if t {
            (1, self.tokens)
        } else {
            (self.tokens, 1)
        };
        Operand {
            offset: 0,
            batch: self.heads * tt,
            head: tt,
            row,
            col,
        }
    }

    /// A [B, T, D] matrix (O, dO) as [T, hd] per head; `t` reads it transposed.
    fn tokens_by_head(&self, t: bool) -> Operand {
        let d = self.d();
        let (row, col) = if t { (1, d) } else { (d, 1) };
        Operand {
            offset: 0,
            batch: self.tokens * d,
            head: self.head_dim,
            row,
            col,
        }
    }

    fn product(&self, k: usize, n: usize, a: Operand, b: Operand, out: Operand) -> Product {
        Product {
            m: self.tokens,
            k,
            n,
            a,
            b,
            out,
        }
    }

    /// S = Q K^T (unscaled; the softmax applies the scale).
    pub fn scores_product(&self) -> Product {
        let (t, hd) = (self.tokens, self.head_dim);
        self.product(
            hd,
            t,
            self.qkv(0, false),
            self.qkv(1, true),
            self.scores(false),
        )
    }

    /// O = P V, into [B, T, D].
    pub fn output_product(&self) -> Product {
        let (t, hd) = (self.tokens, self.head_dim);
        let out = self.tokens_by_head(false);
        self.product(t, hd, self.scores(false), self.qkv(2, false), out)
    }

    /// dP = dO V^T.
    pub fn probs_grad_product(&self) -> Product {
        let (t, hd) = (self.tokens, self.head_dim);
        self.product(
            hd,
            t,
            self.tokens_by_head(false),
            self.qkv(2, true),
            self.scores(false),
        )
    }

    /// dQ = dS K, dK = dS^T Q and dV = P^T dO (A = dS, dS, P), each into its part of dqkv.
    pub fn qkv_grad_products(&self) -> [Product; 3] {
        let (t, hd) = (self.tokens, self.head_dim);
        let into = |part| self.qkv(part, false);
        [
            self.product(t, hd, self.scores(false), self.qkv(1, false), into(0)),
            self.product(t, hd, self.scores(true), self.qkv(0, false), into(1)),
            self.product(
                t,
                hd,
                self.scores(true),
                self.tokens_by_head(false),
                into(2),
            ),
        ]
    }

    /// The parameter block of `product` for the shader.
    pub fn params(&self, p: &Product) -> [u32; 20] {
        debug_assert_eq!(p.out.col, 1);
        let v = [
            p.m,
            p.k,
            p.n,
            self.heads,
            p.a.offset,
            p.a.batch,
            p.a.head,
            p.a.row,
            p.a.col,
            p.b.offset,
            p.b.batch,
            p.b.head,
            p.b.row,
            p.b.col,
            p.out.offset,
            p.out.batch,
            p.out.head,
            p.out.row,
            0,
            0,
        ];
        v.map(|x| x as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Element (i, j) of `op` for batch b and head h, as a flat index.
    fn at(op: &Operand, b: usize, h: usize, i: usize, j: usize) -> usize {
        op.offset + b * op.batch + h * op.head + i * op.row + j * op.col
    }

    #[test]
    fn the_strides_name_the_right_elements() {
        let s = Heads {
            batch: 2,
            tokens: 5,
            heads: 3,
            head_dim: 4,
        };
        let d = 12;
        // q of batch 1, head 2, token 3, channel 1: qkv[1, 3, 0 * d + 2 * 4 + 1].
        let p = s.scores_product();
        assert_eq!(at(&p.a, 1, 2, 3, 1), (5 + 3) * 3 * d + 9);
        // k read transposed: B(k = channel 1, j = token 4) = qkv[1, 4, d + 2 * 4 + 1].
        assert_eq!(at(&p.b, 1, 2, 1, 4), (5 + 4) * 3 * d + d + 9);
        // The output of O = P V: O[1, token 3, head 2 channel 1] in [B, T, D].
        let o = s.output_product();
        assert_eq!(at(&o.out, 1, 2, 3, 1), (5 + 3) * d + 9);
        // dK = dS^T Q reads dS transposed: A(i = key 4, k = query 2) = dS[b, h, 2, 4].
        let [_, dk, dv] = s.qkv_grad_products();
        assert_eq!(at(&dk.a, 1, 2, 4, 2), (3 + 2) * 25 + 2 * 5 + 4);
        assert_eq!(at(&dk.out, 1, 2, 4, 1), (5 + 4) * 3 * d + d + 9);
        assert_eq!(at(&dv.out, 0, 0, 0, 0), 2 * d);
    }

    #[test]
    fn both_variants_bind_what_they_use() {
        for v in ProductVariant::ALL {
            let text = v.wgsl();
            assert!(!text.contains("{{"));
            assert_eq!(text.contains("var<storage, read_write> b:"), !v.shared);
        }
    }
}
