// moments.wgsl: one summary per workgroup of a float array.
//
// Each workgroup reduces a grid-strided share of `values` to a `Partial`: the count of finite
// values, their min, max, mean and the central sums M2, M3, M4 (sums of the 2nd, 3rd and 4th
// powers of the deviations from the mean), and the counts of NaN and of infinite values, which
// are excluded from the other fields. Threads run the one-pass update of Welford extended to M3
// and M4 by Pébay (2008); the workgroup then merges the 256 thread summaries pairwise with the
// formulas of Chan et al. (M2) and Pébay (M3, M4), which keep the moments accurate in f32 where
// plain power sums would cancel. The host merges the per-workgroup partials in f64.
//
// Range: M4 is held in f32, so a workgroup's sum of (x - mean)^4 must stay below 3.4e38; with
// at most 2^17 values per workgroup (a 128 MiB binding over 1024 workgroups) that allows
// deviations up to about 7e7.
//
// NaN and infinity are recognised from the bit pattern (`float_class`, common.wgsl).
//
// Bindings (group 0):
//   0  values    array<f32>      read        the input
//   1  params    Params          uniform     how many input values are valid
//   2  partials  array<Partial>  read_write  one entry per workgroup
// The input binding `values`, WG, float_class and next_index come from common.wgsl, which the
// launcher puts first.

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
    m3: f32,
    m4: f32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> partials: array<Partial>;

var<workgroup> shared_acc: array<Partial, WG>;

fn empty() -> Partial {
    return Partial(0u, 0u, 0u, 0u, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
}

// Pairwise merge of two summaries of disjoint sets (Chan et al. 1979 for M2, Pébay 2008 for M3
// and M4), written with the fractions fa = na/n and fb = nb/n so no count is raised to a power.
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
    let fa = na / n;
    let fb = nb / n;
    let delta = b.mean - a.mean;
    let d2 = delta * delta;
    out.count = a.count + b.count;
    out.mean = a.mean + delta * fb;
    out.m2 = a.m2 + b.m2 + d2 * (na * fb);
    out.m3 = a.m3 + b.m3 + d2 * delta * (na * fb) * (fa - fb)
        + 3.0 * delta * (fa * b.m2 - fb * a.m2);
    out.m4 = a.m4 + b.m4 + d2 * d2 * (na * fb) * (fa * fa - fa * fb + fb * fb)
        + 6.0 * d2 * (fa * fa * b.m2 + fb * fb * a.m2)
        + 4.0 * delta * (fa * b.m3 - fb * a.m3);
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
    for (var i = wid.x * WG + lid.x; i < params.len; i = next_index(i, stride)) {
        let x = values[i];
        let kind = float_class(x);
        if (kind == NAN) {
            acc.nan += 1u;
        } else if (kind != FINITE) {
            acc.inf += 1u;
        } else if (acc.count == 0u) {
            acc.count = 1u;
            acc.mean = x;
            acc.min = x;
            acc.max = x;
        } else {
            // Welford's update, extended to M3 and M4 (Pébay 2008, eq. 2.1): the old M2 and M3
            // enter the new M3 and M4, so M4 and M3 are updated first.
            let n1 = f32(acc.count);
            acc.count += 1u;
            let n = f32(acc.count);
            let delta = x - acc.mean;
            let dn = delta / n;
            let dn2 = dn * dn;
            let term = delta * dn * n1;
            acc.m4 += term * dn2 * (n * n - 3.0 * n + 3.0) + 6.0 * dn2 * acc.m2 - 4.0 * dn * acc.m3;
            acc.m3 += term * dn * (n - 2.0) - 3.0 * dn * acc.m2;
            acc.m2 += term;
            acc.mean += dn;
            acc.min = min(acc.min, x);
            acc.max = max(acc.max, x);
        }
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
