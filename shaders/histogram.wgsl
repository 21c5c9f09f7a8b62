// histogram.wgsl: counts of a float array in N equal bins over [lo, hi), with underflow,
// overflow and NaN counted apart.
//
// Bin rule (src/gpu/histogram.rs applies the same one in f32 on the CPU):
//   NaN                       -> nan
//   -inf, +inf                -> neg_inf, pos_inf
//   finite x < lo             -> underflow
//   finite x >= hi            -> overflow (a value exactly at hi overflows)
//   otherwise                 -> bin min(floor((x - lo) * scale), N - 1)
// where scale = N / (hi - lo) is rounded to f32 once on the host. The subtraction and the
// product are single correctly rounded f32 operations in WGSL (no division, nothing to fuse into
// an FMA), so the CPU gets the same index bit for bit. Rounding can push t = (x - lo) * scale to
// N for x just below hi; the min keeps such values in the last bin. x - lo >= 0 whenever x >= lo,
// so the index is never negative. NaN and infinity are recognised from the bit pattern
// (`float_class`, common.wgsl).
//
// Each workgroup counts into workgroup-local atomics (MAX_BINS of them, 16 KiB, the WebGPU
// default limit of workgroup storage; WGSL zero-initialises workgroup memory), then adds its
// non-zero bins to the global counts with one atomic each. The five special counts stay in
// registers until the end.
//
// Bindings (group 0):
//   0  values  array<f32>          read        the input
//   1  params  Params              uniform     length, N, lo, hi, scale
//   2  counts  array<atomic<u32>>  read_write  N bins, then underflow, overflow, nan, neg_inf,
//                                              pos_inf (zeroed by the host)
// The input binding `values`, WG, float_class and next_index come from common.wgsl, which the
// launcher puts first.

const MAX_BINS: u32 = 4096u;

struct Params {
    len: u32,
    bins: u32,
    lo: f32,
    hi: f32,
    scale: f32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;

var<workgroup> local_counts: array<atomic<u32>, MAX_BINS>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let stride = groups.x * WG;
    let last = f32(params.bins - 1u);
    var under = 0u;
    var over = 0u;
    var nan = 0u;
    var neg_inf = 0u;
    var pos_inf = 0u;
    for (var i = wid.x * WG + lid.x; i < params.len; i = next_index(i, stride)) {
        let x = values[i];
        let kind = float_class(x);
        if (kind == NAN) {
            nan += 1u;
        } else if (kind == NEG_INF) {
            neg_inf += 1u;
        } else if (kind == POS_INF) {
            pos_inf += 1u;
        } else if (x < params.lo) {
            under += 1u;
        } else if (x >= params.hi) {
            over += 1u;
        } else {
            let t = floor((x - params.lo) * params.scale);
            atomicAdd(&local_counts[u32(min(t, last))], 1u);
        }
    }
    workgroupBarrier();

    for (var b = lid.x; b < params.bins; b += WG) {
        let c = atomicLoad(&local_counts[b]);
        if (c != 0u) {
            atomicAdd(&counts[b], c);
        }
    }
    if (under != 0u) {
        atomicAdd(&counts[params.bins], under);
    }
    if (over != 0u) {
        atomicAdd(&counts[params.bins + 1u], over);
    }
    if (nan != 0u) {
        atomicAdd(&counts[params.bins + 2u], nan);
    }
    if (neg_inf != 0u) {
        atomicAdd(&counts[params.bins + 3u], neg_inf);
    }
    if (pos_inf != 0u) {
        atomicAdd(&counts[params.bins + 4u], pos_inf);
    }
}
