// common.wgsl: what the statistics kernels share. WGSL has no includes, so the launcher
// (src/gpu/launch.rs) compiles each kernel as `const WG: u32 = <threads per workgroup>u;`, then
// this file, then the kernel's own source; WG is the host's `WORKGROUP`, so the two cannot differ.

// Every kernel reads its input at binding 0; its parameters (1) and outputs (2) are its own.
@group(0) @binding(0) var<storage, read> values: array<f32>;

// The class of a float, from its bit pattern: WGSL lets an implementation assume that floats are
// finite, so `x != x` and comparisons with infinity may be folded away.
const FINITE: u32 = 0u;
const NAN: u32 = 1u;
const NEG_INF: u32 = 2u;
const POS_INF: u32 = 3u;

fn float_class(x: f32) -> u32 {
    let bits = bitcast<u32>(x);
    if ((bits & 0x7f800000u) != 0x7f800000u) {
        return FINITE;
    }
    if ((bits & 0x007fffffu) != 0u) {
        return NAN;
    }
    if ((bits & 0x80000000u) != 0u) {
        return NEG_INF;
    }
    return POS_INF;
}

// Each thread walks a grid-strided share of the input: i, i + stride, ... while i < len.
// `next_index` ends the walk (END is at least any length) instead of wrapping past u32::MAX.
const END: u32 = 0xffffffffu;

fn next_index(i: u32, stride: u32) -> u32 {
    if (i > END - stride) {
        return END;
    }
    return i + stride;
}
