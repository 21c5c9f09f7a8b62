// tail.wgsl: tail counts and a power sum of the deviations d = |x - center| of a float array.
//
// For each finite x, d = abs(x - center) in f32; the kernel counts, for each of up to 8
// thresholds t_j, the values with d > t_j (strictly), and sums d^power. With center = mean and
// t_j = k_j * std this gives the tail mass beyond k_j standard deviations; with power = 1 and
// center = median it gives the Laplace scale; with power = beta the generalised Gaussian one.
// NaN and infinities are skipped (recognised from the bit pattern, `float_class` in
// common.wgsl); `finite` counts the values that were used.
//
// The counts are exact: the subtraction and abs are correctly rounded in f32 and the thresholds
// are f32 values chosen on the host, so src/gpu/tail.rs gets the same counts on the CPU. The
// power sum is rounded: pow has the accuracy of exp2/log2 (a few ulps), and the sums are f32 per
// thread and per workgroup, then f64 on the host. power = 1 and power = 2 avoid pow.
//
// Bindings (group 0):
//   0  values    array<f32>      read        the input
//   1  params    Params          uniform     length, number of thresholds, center, power, t_j
//   2  partials  array<Partial>  read_write  one entry per workgroup
// The input binding `values`, WG, float_class and next_index come from common.wgsl, which the
// launcher puts first.

const MAX_THRESHOLDS: u32 = 8u;

struct Params {
    len: u32,
    thresholds: u32,
    center: f32,
    power: f32,
    t: array<vec4<f32>, 2>,
}

struct Partial {
    beyond: array<u32, 8>,
    finite: u32,
    power_sum: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> partials: array<Partial>;

var<workgroup> beyond: array<atomic<u32>, MAX_THRESHOLDS>;
var<workgroup> finite: atomic<u32>;
var<workgroup> sums: array<f32, WG>;

fn threshold(j: u32) -> f32 {
    return params.t[j / 4u][j % 4u];
}

fn power_of(d: f32) -> f32 {
    if (params.power == 1.0) {
        return d;
    }
    if (params.power == 2.0) {
        return d * d;
    }
    if (d == 0.0) {
        return 0.0;
    }
    return pow(d, params.power);
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let stride = groups.x * WG;
    var counts = array<u32, 8>(0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
    var used = 0u;
    var sum = 0.0;
    for (var i = wid.x * WG + lid.x; i < params.len; i = next_index(i, stride)) {
        let x = values[i];
        if (float_class(x) == FINITE) {
            let d = abs(x - params.center);
            used += 1u;
            sum += power_of(d);
            for (var j = 0u; j < params.thresholds; j++) {
                if (d > threshold(j)) {
                    counts[j] += 1u;
                }
            }
        }
    }
    for (var j = 0u; j < params.thresholds; j++) {
        if (counts[j] != 0u) {
            atomicAdd(&beyond[j], counts[j]);
        }
    }
    if (used != 0u) {
        atomicAdd(&finite, used);
    }
    sums[lid.x] = sum;
    workgroupBarrier();

    var width = WG / 2u;
    loop {
        if (width == 0u) {
            break;
        }
        if (lid.x < width) {
            sums[lid.x] += sums[lid.x + width];
        }
        workgroupBarrier();
        width = width / 2u;
    }

    if (lid.x == 0u) {
        var out: Partial;
        for (var j = 0u; j < MAX_THRESHOLDS; j++) {
            out.beyond[j] = atomicLoad(&beyond[j]);
        }
        out.finite = atomicLoad(&finite);
        out.power_sum = sums[0];
        out.pad0 = 0u;
        out.pad1 = 0u;
        partials[wid.x] = out;
    }
}
