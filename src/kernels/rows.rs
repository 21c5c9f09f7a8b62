//! The variants of the row kernels (`shaders/rows.wgsl`): LayerNorm and the attention's scaled
//! softmax, each forward and backward, and the WGSL text of each.

/// One compiled form of the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowVariant {
    /// LayerNorm: y from x, gamma, beta.
    NormForward,
    /// LayerNorm: y, and (mean, rstd) per row for the backward pass.
    NormForwardSaved,
    /// LayerNorm: dx from x, gamma, the saved statistics and dy.
    NormBackward,
    /// softmax(scale x) of each row.
    Softmax,
    /// The softmax's input gradient from its output y and dy.
    SoftmaxBackward,
}

/// Workgroups per grid row (rows beyond it go to the next grid row).
pub const MAX_X: usize = 32768;

impl RowVariant {
    pub const ALL: [Self; 5] = [
        Self::NormForward,
        Self::NormForwardSaved,
        Self::NormBackward,
        Self::Softmax,
        Self::SoftmaxBackward,
    ];

    /// The buffers this variant binds, in binding order, before `params`: the inputs, then the
    /// outputs.
    pub fn inputs(self) -> &'static [&'static str] {
        match self {
            Self::NormForward | Self::NormForwardSaved => &["x", "gamma", "beta"],
            Self::NormBackward => &["x", "gamma", "stats", "dy"],
            Self::Softmax => &["x"],
            Self::SoftmaxBackward => &["y", "dy"],
        }
    }

    pub fn outputs(self) -> &'static [&'static str] {
        match self {
            Self::NormForward | Self::Softmax => &["out"],
            Self::NormForwardSaved => &["out", "stats"],
            Self::NormBackward | Self::SoftmaxBackward => &["dx"],
        }
    }

    pub fn wgsl(self) -> String {
        let mut bindings = String::new();
        let names = self.inputs().iter().chain(self.outputs());
        for (i, name) in names.enumerate() {
            bindings.push_str(&format!(
                "@group(0) @binding({i}) var<storage, read_write> {name}: array<f32>;\n"
            ));
        }
        let i = self.inputs().len() + self.outputs().len();
        // `c` is LayerNorm's epsilon or the softmax's scale, as f32 bits.
        bindings.push_str("struct Params { rows: u32, d: u32, c: u32, pad: u32 }\n");
        bindings.push_str(&format!(
            "@group(0) @binding({i}) var<storage, read_write> params: Params;\n"
        ));
        include_str!("../../shaders/rows.wgsl")
            .replace("{{bindings}}", &bindings)
            .replace("{{body}}", self.body())
    }

    fn body(self) -> &'static str {
        match self {
            Self::NormForward => NORM_FORWARD,
            Self::NormForwardSaved => NORM_FORWARD_SAVED,
            Self::NormBackward => NORM_BACKWARD,
            Self::Softmax => SOFTMAX,
            Self::SoftmaxBackward => SOFTMAX_BACKWARD,
        }
    }
}

const NORM_FORWARD: &str = "var s = 0.0;
    for (var i = lid; i < d; i += WG) { s += x[base + i]; }
    part_a[lid] = s;
    part_b[lid] = 0.0;
    let mean = reduce2(lid).x / f32(d);
    var q = 0.0;
    for (var i = lid; i < d; i += WG) { let c = x[base + i] - mean; q += c * c; }
    part_a[lid] = q;
    let rstd = inverseSqrt(reduce2(lid).x / f32(d) + bitcast<f32>(params.c));
    for (var i = lid; i < d; i += WG) {
        out[base + i] = (x[base + i] - mean) * rstd * gamma[i] + beta[i];
    }";

const NORM_FORWARD_SAVED: &str = "var s = 0.0;
    for (var i = lid; i < d; i += WG) { s += x[base + i]; }
    part_a[lid] = s;
    part_b[lid] = 0.0;
    let mean = reduce2(lid).x / f32(d);
    var q = 0.0;
    for (var i = lid; i < d; i += WG) { let c = x[base + i] - mean; q += c * c; }
    part_a[lid] = q;
    let rstd = inverseSqrt(reduce2(lid).x / f32(d) + bitcast<f32>(params.c));
    for (var i = lid; i < d; i += WG) {
        out[base + i] = (x[base + i] - mean) * rstd * gamma[i] + beta[i];
    }
    if (lid == 0u) {
        stats[2u * row] = mean;
        stats[2u * row + 1u] = rstd;
    }";

const NORM_BACKWARD: &str = "let mean = stats[2u * row];
    let rstd = stats[2u * row + 1u];
    var sg = 0.0;
    var sgx = 0.0;
    for (var i = lid; i < d; i += WG) {
        let g = dy[base + i] * gamma[i];
        sg += g;
        sgx += g * (x[base + i] - mean) * rstd;
    }
    part_a[lid] = sg;
    part_b[lid] = sgx;
    let m = reduce2(lid) / f32(d);
    for (var i = lid; i < d; i += WG) {
        let g = dy[base + i] * gamma[i];
        let xh = (x[base + i] - mean) * rstd;
        dx[base + i] = rstd * (g - m.x - xh * m.y);
    }";

const SOFTMAX: &str = "let c = bitcast<f32>(params.c);
    var top = -3.0e38;
    for (var i = lid; i < d; i += WG) { top = max(top, x[base + i]); }
    part_a[lid] = top;
    let m = reduce_max(lid);
    var s = 0.0;
    for (var i = lid; i < d; i += WG) { s += exp(c * (x[base + i] - m)); }
    part_a[lid] = s;
    part_b[lid] = 0.0;
    let total = reduce2(lid).x;
    for (var i = lid; i < d; i += WG) { out[base + i] = exp(c * (x[base + i] - m)) / total; }";

const SOFTMAX_BACKWARD: &str = "let c = bitcast<f32>(params.c);
    var s = 0.0;
    for (var i = lid; i < d; i += WG) { s += dy[base + i] * y[base + i]; }
    part_a[lid] = s;
    part_b[lid] = 0.0;
    let t = reduce2(lid).x;
    for (var i = lid; i < d; i += WG) { dx[base + i] = c * y[base + i] * (dy[base + i] - t); }";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_binds_what_it_uses() {
        for v in RowVariant::ALL {
            let text = v.wgsl();
            assert!(!text.contains("{{"), "{v:?}: a marker is left");
            for name in v.inputs().iter().chain(v.outputs()) {
                assert!(text.contains(&format!("{name}[")), "{v:?}: {name} unused");
            }
        }
    }
}
