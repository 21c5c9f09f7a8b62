//! Resampling the patch position embeddings to another grid, bicubically, as PyTorch's
//! `F.interpolate(mode="bicubic", align_corners=False)` does: HF transformers calls it without
//! antialiasing, timm's `resample_abs_pos_embed` with `antialias=True`.
//!
//! It runs once per input resolution on a table of at most a few thousand rows, so it is plain
//! Rust on the CPU, identical on every backend.
//!
//! - Without antialiasing each output samples four inputs at `(o + 0.5) * in/out - 0.5` with
//!   Keys' cubic kernel, a = -0.75, indices clamped at the border.
//! - With antialiasing (PyTorch's `_upsample_bicubic2d_aa`, like PIL) the kernel has a = -0.5 and
//!   is widened by the scale when shrinking, and its weights are normalised to sum to one.

/// Weights of one output position: the first input index and one weight per input from there.
struct Taps {
    start: usize,
    weights: Vec<f64>,
}

fn keys(x: f64, a: f64) -> f64 {
    let x = x.abs();
    if x <= 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    } else {
        0.0
    }
}

fn taps_plain(input: usize, output: usize) -> Vec<Taps> {
    let scale = input as f64 / output as f64;
    (0..output)
        .map(|o| {
            let src = (o as f64 + 0.5) * scale - 0.5;
            let base = src.floor();
            let t = src - base;
            // Four taps at base-1 .. base+2, clamped into the input; merge repeats.
            let mut weights = vec![0.0; input];
            for (k, w) in [
                keys(t + 1.0, -0.75),
                keys(t, -0.75),
                keys(1.0 - t, -0.75),
                keys(2.0 - t, -0.75),
            ]
            .into_iter()
            .enumerate()
            {
                let idx = (base as i64 - 1 + k as i64).clamp(0, input as i64 - 1) as usize;
                weights[idx] += w;
            }
            compact(weights)
        })
        .collect()
}

fn taps_antialiased(input: usize, output: usize) -> Vec<Taps> {
    let scale = input as f64 / output as f64;
    let support = if scale >= 1.0 { 2.0 * scale } else { 2.0 };
    let inv = if scale >= 1.0 { 1.0 / scale } else { 1.0 };
    (0..output)
        .map(|o| {
            let center = scale * (o as f64 + 0.5);
            let lo = ((center - support + 0.5).floor().max(0.0)) as usize;
            let hi = ((center + support + 0.5).floor() as usize).min(input);
            let raw: Vec<f64> = (lo..hi)
                .map(|j| keys((j as f64 - center + 0.5) * inv, -0.5))
                .collect();
            let total: f64 = raw.iter().sum();
            let mut weights = vec![0.0; input];
            for (j, w) in (lo..hi).zip(raw) {
                weights[j] = if total != 0.0 { w / total } else { 0.0 };
            }
            compact(weights)
        })
        .collect()
}

fn compact(weights: Vec<f64>) -> Taps {
    let start = weights.iter().position(|w| *w != 0.0).unwrap_or(0);
    let end = weights
        .iter()
        .rposition(|w| *w != 0.0)
        .map_or(start, |e| e + 1);
    Taps {
        start,
        weights: weights[start..end].to_vec(),
    }
}

/// Resamples a row-major `[old, old, dim]` grid to `[new_h, new_w, dim]`.
pub fn resample_grid(
    table: &[f32],
    old: usize,
    dim: usize,
    new_h: usize,
    new_w: usize,
    antialias: bool,
) -> Vec<f32> {
    assert_eq!(
        table.len(),
        old * old * dim,
        "position table is not [{old}, {old}, {dim}]"
    );
    if (new_h, new_w) == (old, old) {
        return table.to_vec();
    }
    let taps = |n| {
        if antialias {
            taps_antialiased(old, n)
        } else {
            taps_plain(old, n)
        }
    };
    let (rows, cols) = (taps(new_h), taps(new_w));
    // Separable: first along the columns of each input row, then along the rows.
    let mut wide = vec![0.0f64; old * new_w * dim];
    for r in 0..old {
        for (c, tap) in cols.iter().enumerate() {
            let out = &mut wide[(r * new_w + c) * dim..][..dim];
            for (k, w) in tap.weights.iter().enumerate() {
                let src = &table[(r * old + tap.start + k) * dim..][..dim];
                out.iter_mut()
                    .zip(src)
                    .for_each(|(o, s)| *o += w * *s as f64);
            }
        }
    }
    let mut result = vec![0.0f32; new_h * new_w * dim];
    for (r, tap) in rows.iter().enumerate() {
        for c in 0..new_w {
            let out = &mut result[(r * new_w + c) * dim..][..dim];
            for (k, w) in tap.weights.iter().enumerate() {
                let src = &wide[((tap.start + k) * new_w + c) * dim..][..dim];
                out.iter_mut()
                    .zip(src)
                    .for_each(|(o, s)| *o += (w * s) as f32);
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_grid_is_returned_unchanged() {
        let table: Vec<f32> = (0..3 * 3 * 2).map(|v| v as f32).collect();
        assert_eq!(resample_grid(&table, 3, 2, 3, 3, false), table);
    }

    #[test]
    fn a_constant_grid_stays_constant_both_ways() {
        let table = vec![2.5f32; 7 * 7 * 3];
        for antialias in [false, true] {
            for (h, w) in [(4, 4), (11, 5), (1, 1)] {
                let out = resample_grid(&table, 7, 3, h, w, antialias);
                assert!(
                    out.iter().all(|v| (v - 2.5).abs() < 1e-5),
                    "{antialias} {h}x{w}: {out:?}"
                );
            }
        }
    }

    #[test]
    fn plain_taps_sum_to_one_and_match_keys_at_half_steps() {
        for tap in taps_plain(37, 16) {
            assert!((tap.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // Doubling: output 1 samples input 0.25, t = 0.25 (hand-computed Keys weights, a=-0.75).
        let t = &taps_plain(4, 8)[1];
        let expected = [-0.10546875, 0.87890625, 0.26171875, -0.03515625];
        // Index -1 clamps onto index 0, so the first two weights merge.
        assert_eq!(t.start, 0);
        assert!((t.weights[0] - (expected[0] + expected[1])).abs() < 1e-12);
        assert!((t.weights[1] - expected[2]).abs() < 1e-12);
        assert!((t.weights[2] - expected[3]).abs() < 1e-12);
    }

    #[test]
    fn a_linear_ramp_is_kept_inside_the_grid() {
        // Cubic convolution reproduces linear functions away from the clamped border.
        let old = 12;
        let table: Vec<f32> = (0..old * old).map(|i| (i % old) as f32).collect();
        let out = resample_grid(&table, old, 1, old, 6, false);
        for (c, value) in out.iter().enumerate().take(5).skip(1) {
            let expected = (c as f64 + 0.5) * 2.0 - 0.5;
            assert!((*value as f64 - expected).abs() < 1e-5, "{c}: {value}");
        }
    }
}
