//! The variants of the row kernels (`shaders/rows.wgsl`): LayerNorm and the attention's scaled
//! softmax, each forward and backward, and the WGSL text of each.

use super::wgsl::storage_bindings;

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

/// Invocations (rows) per workgroup.
pub const ROWS_PER_GROUP: usize = 64;
/// Workgroups per grid row (rows beyond them go to the next grid row).
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
        // `c` is LayerNorm's epsilon or the softmax's scale, as f32 bits.
        let mut bindings = String::from("struct Params { rows: u32, d: u32, c: u32, pad: u32 }\n");
        let names = self.inputs().iter().chain(self.outputs()).copied();
        bindings.push_str(&storage_bindings(names, "f32", "params: Params"));
        include_str!("../../shaders/rows.wgsl")
            .replace("{{bindings}}", &bindings)
            .replace("{{helpers}}", self.helpers())
            .replace("{{body}}", self.body())
    }

    fn helpers(self) -> &'static str {
        match self {
            Self::NormForward | Self::NormForwardSaved => NORM_STATS,
            _ => "",
        }
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

const NORM_FORWARD: &str = "let rstd_mean = stats_of(base, d);
    for (var i = 0u; i < d; i++) {
        out[base + i] = (x[base + i] - rstd_mean.y) * rstd_mean.x * gamma[i] + beta[i];
    }";

const NORM_FORWARD_SAVED: &str = "let rstd_mean = stats_of(base, d);
    for (var i = 0u; i < d; i++) {
        out[base + i] = (x[base + i] - rstd_mean.y) * rstd_mean.x * gamma[i] + beta[i];
    }
    stats[2u * row] = rstd_mean.y;
    stats[2u * row + 1u] = rstd_mean.x;";

/// `stats_of(base, d)`: (rstd, mean) of the row at `base`, for the LayerNorm forward variants.
const NORM_STATS: &str = "fn stats_of(base: u32, d: u32) -> vec2<f32> {
    var s = 0.0;
    for (var i = 0u; i < d; i++) { s += x[base + i]; }
    let mean = s / f32(d);
    var q = 0.0;
    for (var i = 0u; i < d; i++) { let c = x[base + i] - mean; q += c * c; }
    return vec2<f32>(inverseSqrt(q / f32(d) + bitcast<f32>(params.c)), mean);
}
";

const NORM_BACKWARD: &str = "let mean = stats[2u * row];
    let rstd = stats[2u * row + 1u];
    var sg = 0.0;
    var sgx = 0.0;
    for (var i = 0u; i < d; i++) {
        let g = dy[base + i] * gamma[i];
        sg += g;
        sgx += g * (x[base + i] - mean) * rstd;
    }
    let mg = sg / f32(d);
    let mgx = sgx / f32(d);
    for (var i = 0u; i < d; i++) {
        let g = dy[base + i] * gamma[i];
        dx[base + i] = rstd * (g - mg - (x[base + i] - mean) * rstd * mgx);
    }";

const SOFTMAX: &str = "let c = bitcast<f32>(params.c);
    var top = -3.0e38;
    for (var i = 0u; i < d; i++) { top = max(top, x[base + i]); }
    var s = 0.0;
    for (var i = 0u; i < d; i++) { s += exp(c * (x[base + i] - top)); }
    let inv = 1.0 / s;
    for (var i = 0u; i < d; i++) { out[base + i] = exp(c * (x[base + i] - top)) * inv; }";

const SOFTMAX_BACKWARD: &str = "let c = bitcast<f32>(params.c);
    var t = 0.0;
    for (var i = 0u; i < d; i++) { t += dy[base + i] * y[base + i]; }
    for (var i = 0u; i < d; i++) { dx[base + i] = c * y[base + i] * (dy[base + i] - t); }";

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
