//! The variants of the tiled linear kernel (`shaders/linear.wgsl`) and the WGSL text of each.
//!
//! One template serves the forward pass of every linear layer (x W + b, with GELU for fc1 and
//! LayerScale plus the residual add for proj and fc2) and the activation gradient of each
//! (dX = prologue(dY) W^T). The text is made here, on the host, so that the launch and the
//! compile check at device set-up ([`super::check`]) compile the very same source.

use super::wgsl::typed_storage_bindings;

/// What is applied to each element of A as it is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prologue {
    None,
    /// `a * gelu'(z)`, z laid out like A: the gradient through fc1's GELU.
    GeluGrad,
    /// `a * s[k]`: the gradient through LayerScale.
    Scale,
}

/// What is done with each accumulated element before it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Epilogue {
    None,
    Bias,
    /// `gelu(acc + bias)`.
    BiasGelu,
    /// `gelu(acc + bias)`, and the pre-activation `acc + bias` written to a second output.
    BiasGeluSaved,
    /// `res + gamma * (acc + bias)`: LayerScale and the residual add.
    Residual,
}

/// One compiled form of the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    /// B is stored as [N, K] (a weight read transposed), not [K, N].
    pub trans_b: bool,
    /// K and N are multiples of 4: every buffer is read and written as vec4.
    pub vec4: bool,
    pub prologue: Prologue,
    pub epilogue: Epilogue,
    /// Operand tiles in workgroup memory (`linear_tiled.wgsl`), or straight from storage
    /// (`linear_direct.wgsl`); see [`super::tune`].
    pub tiled: bool,
    /// B (the weight) is stored in f16 and widened to f32 as it is loaded; everything else,
    /// the accumulation included, stays f32. Needs the adapter's `shader-f16` (see
    /// [`super::half`]).
    pub half_b: bool,
}

/// Workgroup tile of `out` (rows, columns); the workgroup is 8 x 8 invocations.
pub const TILE: usize = 32;

impl Variant {
    /// Every variant the model can launch with f32 weights, for the compile check.
    pub fn all() -> Vec<Self> {
        let mut all = Vec::new();
        for tiled in [true, false] {
            for vec4 in [true, false] {
                for epilogue in [
                    Epilogue::Bias,
                    Epilogue::BiasGelu,
                    Epilogue::BiasGeluSaved,
                    Epilogue::Residual,
                ] {
                    all.push(Self::forward(epilogue, vec4, tiled));
                }
                for prologue in [Prologue::None, Prologue::GeluGrad, Prologue::Scale] {
                    all.push(Self::input_grad(prologue, vec4, tiled));
                }
            }
        }
        all
    }

    /// Every variant with f16 weights (both forms): what the model may launch once its weights
    /// are stored in f16.
    pub fn all_half() -> Vec<Self> {
        Self::all()
            .into_iter()
            .map(|v| v.with_half_b(true))
            .collect()
    }

    /// This variant with B stored in f16 (`half`) or f32.
    pub fn with_half_b(self, half: bool) -> Self {
        Self {
            half_b: half,
            ..self
        }
    }

    /// x [M, K] times W [K, N], then `epilogue`.
    pub fn forward(epilogue: Epilogue, vec4: bool, tiled: bool) -> Self {
        Self {
            trans_b: false,
            vec4,
            prologue: Prologue::None,
            epilogue,
            tiled,
            half_b: false,
        }
    }

    /// prologue(dY) [M, K] times W^T, W stored [N, K]: the gradient of a layer's input.
    pub fn input_grad(prologue: Prologue, vec4: bool, tiled: bool) -> Self {
        Self {
            trans_b: true,
            vec4,
            prologue,
            epilogue: Epilogue::None,
            tiled,
            half_b: false,
        }
    }

    /// The buffers this variant binds, in binding order, before `dims`: the inputs the caller
    /// passes, then the outputs the launch allocates.
    pub fn inputs(&self) -> Vec<&'static str> {
        let mut names = vec!["a", "b"];
        match self.prologue {
            Prologue::None => {}
            Prologue::GeluGrad => names.push("pz"),
            Prologue::Scale => names.push("ps"),
        }
        match self.epilogue {
            Epilogue::None => {}
            Epilogue::Bias | Epilogue::BiasGelu | Epilogue::BiasGeluSaved => names.push("bias"),
            Epilogue::Residual => names.extend(["bias", "gamma", "res"]),
        }
        names
    }

    pub fn outputs(&self) -> Vec<&'static str> {
        match self.epilogue {
            Epilogue::BiasGeluSaved => vec!["out", "z"],
            _ => vec!["out"],
        }
    }

    /// The complete WGSL source.
    pub fn wgsl(&self) -> String {
        let main = if self.tiled {
            include_str!("../../shaders/linear_tiled.wgsl")
                .replace("{{load_b_tile}}", self.load_b_tile())
        } else {
            include_str!("../../shaders/linear_direct.wgsl")
                .replace("{{direct_step}}", self.direct_step())
        };
        // An `enable` directive must come before every declaration.
        let enable = if self.half_b { "enable f16;\n" } else { "" };
        let body = include_str!("../../shaders/linear.wgsl")
            .replace("{{bindings}}", &self.bindings())
            .replace("{{helpers}}", &self.helpers())
            .replace("{{main}}", &main);
        format!("{enable}{body}")
    }

    /// One step of 4 along K in the direct form: four vec4 of B, then each of the four rows of A.
    fn direct_step(&self) -> &'static str {
        if self.trans_b {
            // B stored [N, K]: b_j holds B[col + j, k..k+4], so out[i][j] gains dot(a_i, b_j).
            "let b0 = load_b4(col, k);
        let b1 = load_b4(col + 1u, k);
        let b2 = load_b4(col + 2u, k);
        let b3 = load_b4(col + 3u, k);
        for (var i = 0u; i < 4u; i++) {
            let a = load_a4(row0 + i, k);
            acc[i] += vec4<f32>(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
        }"
        } else {
            // B stored [K, N]: b_j holds B[k + j, col..col+4], so out[i] gains a_i[j] b_j.
            "let b0 = load_b4(k, col);
        let b1 = load_b4(k + 1u, col);
        let b2 = load_b4(k + 2u, col);
        let b3 = load_b4(k + 3u, col);
        for (var i = 0u; i < 4u; i++) {
            let a = load_a4(row0 + i, k);
            acc[i] = fma(vec4<f32>(a.x), b0, fma(vec4<f32>(a.y), b1,
                fma(vec4<f32>(a.z), b2, fma(vec4<f32>(a.w), b3, acc[i]))));
        }"
        }
    }

    fn bindings(&self) -> String {
        let (elem, b_elem) = match (self.vec4, self.half_b) {
            (true, false) => ("vec4<f32>", "vec4<f32>"),
            (true, true) => ("vec4<f32>", "vec4<f16>"),
            (false, false) => ("f32", "f32"),
            (false, true) => ("f32", "f16"),
        };
        let buffers = self
            .inputs()
            .into_iter()
            .chain(self.outputs())
            .map(|name| (name, if name == "b" { b_elem } else { elem }));
        let mut text = String::from("struct Dims { m: u32, k: u32, n: u32, pad: u32 }\n");
        text.push_str(&typed_storage_bindings(buffers, "dims: Dims"));
        text
    }

    fn load_b_tile(&self) -> &'static str {
        if self.trans_b {
            "let n = li / 2u;
            let kk = half + j * 4u;
            let v = load_b4(col0 + n, k0 + kk);
            b_tile[kk][n] = v.x;
            b_tile[kk + 1u][n] = v.y;
            b_tile[kk + 2u][n] = v.z;
            b_tile[kk + 3u][n] = v.w;"
        } else {
            "let r = li / 2u;
            let nn = half + j * 4u;
            let v = load_b4(k0 + r, col0 + nn);
            b_tile[r][nn] = v.x;
            b_tile[r][nn + 1u] = v.y;
            b_tile[r][nn + 2u] = v.z;
            b_tile[r][nn + 3u] = v.w;"
        }
    }

    fn helpers(&self) -> String {
        let mut text = String::new();
        text.push_str(&self.load_a());
        text.push_str(&self.load_b());
        text.push_str(&self.store());
        text
    }

    /// `load_a4(row, k)`: A[row, k..k+4] after the prologue, zero outside A.
    fn load_a(&self) -> String {
        if self.vec4 {
            let value = match self.prologue {
                Prologue::None => "a[i]",
                Prologue::GeluGrad => "a[i] * gelu_grad4(pz[i])",
                Prologue::Scale => "a[i] * ps[k / 4u]",
            };
            format!(
                "fn load_a4(row: u32, k: u32) -> vec4<f32> {{
    if (row >= dims.m || k >= dims.k) {{ return vec4<f32>(0.0); }}
    let i = (row * dims.k + k) / 4u;
    return {value};
}}
"
            )
        } else {
            let value = match self.prologue {
                Prologue::None => "a[i]",
                Prologue::GeluGrad => "a[i] * gelu_grad4(vec4<f32>(pz[i])).x",
                Prologue::Scale => "a[i] * ps[k + c]",
            };
            format!(
                "fn load_a4(row: u32, k: u32) -> vec4<f32> {{
    var v = vec4<f32>(0.0);
    if (row < dims.m) {{
        for (var c = 0u; c < 4u; c++) {{
            if (k + c < dims.k) {{
                let i = row * dims.k + k + c;
                v[c] = {value};
            }}
        }}
    }}
    return v;
}}
"
            )
        }
    }

    /// `load_b4`: four consecutive elements of B along its stored rows, zero outside B. For
    /// B as stored, `(k, n)` reads B[k, n..n+4]; for B transposed, `(n, k)` reads B[n, k..k+4].
    /// f16 elements are widened to f32 here, so the rest of the kernel is the same.
    fn load_b(&self) -> String {
        let (widen4, widen) = if self.half_b {
            ("vec4<f32>", "f32")
        } else {
            ("", "")
        };
        let (first, second, first_len, row_len) = if self.trans_b {
            ("n", "k", "dims.n", "dims.k")
        } else {
            ("k", "n", "dims.k", "dims.n")
        };
        if self.vec4 {
            format!(
                "fn load_b4({first}: u32, {second}: u32) -> vec4<f32> {{
    if ({first} >= {first_len} || {second} >= {row_len}) {{ return vec4<f32>(0.0); }}
    return {widen4}(b[({first} * {row_len} + {second}) / 4u]);
}}
"
            )
        } else {
            format!(
                "fn load_b4({first}: u32, {second}: u32) -> vec4<f32> {{
    var v = vec4<f32>(0.0);
    if ({first} < {first_len}) {{
        for (var c = 0u; c < 4u; c++) {{
            if ({second} + c < {row_len}) {{
                v[c] = {widen}(b[{first} * {row_len} + {second} + c]);
            }}
        }}
    }}
    return v;
}}
"
            )
        }
    }

    /// `store4(row, col, acc)`: out[row, col..col+4] from the accumulators, through the epilogue.
    fn store(&self) -> String {
        let gelu = if self.vec4 {
            "gelu4(ZZ)"
        } else {
            "gelu4(vec4<f32>(ZZ)).x"
        };
        let write = match self.epilogue {
            Epilogue::None => "out[i] = v;".to_string(),
            Epilogue::Bias => "out[i] = v + bias[j];".to_string(),
            Epilogue::BiasGelu => format!(
                "let zz = v + bias[j];\n        out[i] = {};",
                gelu.replace("ZZ", "zz")
            ),
            Epilogue::BiasGeluSaved => format!(
                "let zz = v + bias[j];\n        z[i] = zz;\n        out[i] = {};",
                gelu.replace("ZZ", "zz")
            ),
            Epilogue::Residual => "out[i] = res[i] + gamma[j] * (v + bias[j]);".to_string(),
        };
        if self.vec4 {
            format!(
                "fn store4(row: u32, col: u32, v: vec4<f32>) {{
    if (row >= dims.m || col >= dims.n) {{ return; }}
    let i = (row * dims.n + col) / 4u;
    let j = col / 4u;
    {write}
}}
"
            )
        } else {
            format!(
                "fn store4(row: u32, col: u32, acc: vec4<f32>) {{
    if (row >= dims.m) {{ return; }}
    for (var c = 0u; c < 4u; c++) {{
        let j = col + c;
        if (j < dims.n) {{
            let i = row * dims.n + j;
            let v = acc[c];
            {write}
        }}
    }}
}}
"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_binds_what_it_uses_and_nothing_else() {
        let half = Variant::all_half();
        for v in Variant::all().into_iter().chain(half) {
            let text = v.wgsl();
            assert!(!text.contains("{{"), "{v:?}: a marker is left");
            let names: Vec<_> = v.inputs().into_iter().chain(v.outputs()).collect();
            assert!(
                names.len() < 8,
                "{v:?}: with dims, more than 8 storage buffers"
            );
            for name in names {
                let declared = format!("var<storage, read_write> {name}:");
                assert_eq!(
                    text.matches(&declared).count(),
                    1,
                    "{v:?}: {name} declared once"
                );
                let uses = text.matches(&format!("{name}[")).count();
                assert!(
                    uses >= 1,
                    "{v:?}: {name} is bound but never read or written"
                );
            }
        }
    }

    #[test]
    fn variants_are_distinct() {
        let mut all = Variant::all();
        all.extend(Variant::all_half());
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.wgsl(), b.wgsl(), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn half_variants_store_only_the_weight_in_f16() {
        for v in Variant::all_half() {
            assert!(v.half_b);
            let text = v.wgsl();
            assert!(text.starts_with("enable f16;\n"), "{v:?}");
            let elem = if v.vec4 { "vec4<f16>" } else { "f16" };
            assert_eq!(
                text.matches(&format!("> b: array<{elem}>;")).count(),
                1,
                "{v:?}"
            );
            // The directive and b's binding: no other buffer is f16.
            assert_eq!(text.matches("f16").count(), 2, "{v:?}");
        }
        assert!(Variant::all().iter().all(|v| !v.wgsl().contains("f16")));
        assert_eq!(Variant::all_half().len(), Variant::all().len());
    }
}
