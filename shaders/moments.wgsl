// moments.wgsl: one summary per workgroup of a float array.
//
// Each workgroup reduces a grid-strided share of `values` to a `Partial`: the count of finite
// values, their min, max, mean and M2 (sum of squared deviations from the mean), and the counts
// of NaN and of infinite values, which are excluded from the other fields. Threads run Welford's
// update over their own elements; the workgroup then merges the 256 thread summaries pairwise
// with Chan et al.'s formula, which keeps the mean and M2 accurate in f32 where a plain
// sum of squares would cancel. The host merges the per-workgroup partials in f64.
//
// NaN and infinity are recognised from the bit pattern: WGSL lets an implementation assume that
// floats are finite, so `x != x` may be folded away.
//
// Bindings (group 0):
//   0  values    array<f32>      read        the input
//   1  params    Params          uniform     how many input values are valid
//   2  partials  array<Partial>  read_write  one entry per workgroup
// Workgroup size: WG = 256 threads (the host dispatches with the same constant).

const WG: u32 = 256u;

struct Params {
    len: u32,
}

struct Partial {
    count: u32,
    nan: u32,
    inf: u32,
    pad: u32,
    min: f32,
    max: f32,
    mean: f32,
    m2: f32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> partials: array<Partial>;

var<workgroup> shared_acc: array<Partial, WG>;

const EXP_MASK: u32 = 0x7f800000u;
const MANTISSA_MASK: u32 = 0x007fffffu;

fn empty() -> Partial {
    return Partial(0u, 0u, 0u, 0u, 0.0, 0.0, 0.0, 0.0);
}

// Chan et al.'s pairwise merge of two summaries of disjoint sets.
fn merge(a: Partial, b: Partial) -> Partial {
    var out = a;
    out.nan = a.nan + b.nan;
    out.inf = a.inf + b.inf;
    if (b.count == 0u) {
        return out;
    }
    if (a.count == 0u) {
        var r = b;
        r.nan = out.nan;
        r.inf = out.inf;
        return r;
    }
    let na = f32(a.count);
    let nb = f32(b.count);
    let n = na + nb;
    let delta = b.mean - a.mean;
    out.count = a.count + b.count;
    out.mean = a.mean + delta * (nb / n);
    out.m2 = a.m2 + b.m2 + delta * delta * (na * nb / n);
    out.min = min(a.min, b.min);
    out.max = max(a.max, b.max);
    return out;
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let stride = groups.x * WG;
    var acc = empty();
    var i = wid.x * WG + lid.x;
    loop {
        if (i >= params.len) {
            break;
        }
        let x = values[i];
        let bits = bitcast<u32>(x);
        if ((bits & EXP_MASK) == EXP_MASK) {
            if ((bits & MANTISSA_MASK) != 0u) {
                acc.nan += 1u;
            } else {
                acc.inf += 1u;
            }
        } else if (acc.count == 0u) {
            acc.count = 1u;
            acc.mean = x;
            acc.min = x;
            acc.max = x;
        } else {
            // Welford's update.
            acc.count += 1u;
            let delta = x - acc.mean;
            acc.mean += delta / f32(acc.count);
            acc.m2 += delta * (x - acc.mean);
            acc.min = min(acc.min, x);
            acc.max = max(acc.max, x);
        }
        // Stop before the index wraps past u32::MAX.
        if (i > 0xffffffffu - stride) {
            break;
        }
        i += stride;
    }
    shared_acc[lid.x] = acc;
    workgroupBarrier();

    var width = WG / 2u;
    loop {
        if (width == 0u) {
            break;
        }
        if (lid.x < width) {
            shared_acc[lid.x] = merge(shared_acc[lid.x], shared_acc[lid.x + width]);
        }
        workgroupBarrier();
        width = width / 2u;
    }

    if (lid.x == 0u) {
        partials[wid.x] = shared_acc[0];
    }
}
