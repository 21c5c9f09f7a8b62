// The page runs the moments, histogram and tail kernels on WebGPU (SwiftShader) and its figures
// are right: this test rebuilds the page's input in JavaScript and checks the GPU figures itself,
// so a wrong kernel fails here even if the page's own comparison were wrong too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, openDetails } from '../lib/page.mjs';
import { screenshot, panelShot } from '../lib/browser.mjs';
import { values as xorshift } from '../../bench/web/lib/images.mjs';

const LEN = 1_000_003;
const SEED = 0x9e3779b9;
const MEAN_TOL = 1e-5;
const VARIANCE_TOL = 1e-4;
// As in src/gpu/moments.rs and src/gpu/tail.rs.
const SKEWNESS_TOL = 1e-5;
const KURTOSIS_TOL = 1e-5;
const POWER_SUM_TOL = 1e-4;
// As kernels::selftest::TOL.
const KERNEL_TOL = 1e-4;
// As SELFCHECK_HISTOGRAM and SELFCHECK_KS in src/gpu/selfcheck.rs.
const HISTOGRAM = { lo: -1.5, hi: 1.75, bins: 100 };
const KS = [0.5, 1.0, 1.5];

// The stream of src/gpu/selfcheck.rs (xorshift32 mapped to (u >> 8) * 2^-22 - 2, exact in f32),
// from the generator the browser benchmark also uses, with the special values the page plants.
function selfcheckInput() {
  const values = Float64Array.from(xorshift(LEN, SEED));
  values[7] = NaN;
  values[11] = Infinity;
  values[13] = -Infinity;
  return values;
}

function reference(values) {
  let count = 0, nan = 0, inf = 0, min = Infinity, max = -Infinity, sum = 0;
  for (const x of values) {
    if (Number.isNaN(x)) nan++;
    else if (!Number.isFinite(x)) inf++;
    else {
      count++;
      sum += x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  const mean = sum / count;
  let m2 = 0, m3 = 0, m4 = 0;
  for (const x of values) {
    if (!Number.isFinite(x)) continue;
    const d = x - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  return {
    count, nan, inf, min, max, mean,
    variance: m2 / count,
    skewness: Math.sqrt(count) * m3 / m2 ** 1.5,
    excessKurtosis: count * m4 / (m2 * m2) - 3,
  };
}

// The bin rule of shaders/histogram.wgsl in f32: every operation is rounded with Math.fround,
// which gives the correctly rounded f32 result for a sum or product of two f32 values.
function histogram(values, { lo, hi, bins }) {
  const scale = Math.fround(bins / Math.fround(hi - lo));
  const counts = new Array(bins).fill(0);
  let underflow = 0, overflow = 0, nan = 0, negInf = 0, posInf = 0;
  for (const x of values) {
    if (Number.isNaN(x)) nan++;
    else if (x === -Infinity) negInf++;
    else if (x === Infinity) posInf++;
    else if (x < lo) underflow++;
    else if (x >= hi) overflow++;
    else counts[Math.min(Math.floor(Math.fround(Math.fround(x - lo) * scale)), bins - 1)]++;
  }
  return { scale, counts, underflow, overflow, nan, negInf, posInf };
}

// Counts of |x - center| > t in f32 for each threshold, and the f64 sum of |x - center|.
function tails(values, center, thresholds) {
  const beyond = thresholds.map(() => 0);
  let finite = 0, absDevSum = 0;
  for (const x of values) {
    if (!Number.isFinite(x)) continue;
    const d = Math.abs(Math.fround(x - center));
    finite++;
    absDevSum += d;
    thresholds.forEach((t, j) => { if (d > t) beyond[j]++; });
  }
  return { finite, beyond, absDevSum };
}

test('the page verifies the moments kernel on WebGPU and its figures are right', { timeout: 180_000 }, async () => {
  const app = await openApp({ webgpu: true });
  try {
    const { page } = app;
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
    const status = page.locator('[data-testid="selfcheck-status"]');
    await page.locator('[data-testid="selfcheck-status"][data-state="passed"], [data-testid="selfcheck-status"][data-state="failed"], [data-testid="selfcheck-status"][data-state="error"]').waitFor({ timeout: 120_000 });
    await screenshot(page, 'start-webgpu');
    // The adapter's facts and the figures are in the GPU card's details, closed when all is well.
    assert.equal(await page.getByTestId('gpu-details').isVisible(), false, 'the details open only on demand');
    await openDetails(page, 'gpu-details-toggle');
    await panelShot(page, 'gpu-heading', 'gpu');
    await panelShot(page, 'check-heading', 'selfcheck');
    assert.equal(await status.getAttribute('data-state'), 'passed', await status.innerText());

    const gpu = JSON.parse(await page.locator('[data-testid="selfcheck-result"]').textContent());
    const input = selfcheckInput();
    const ref = reference(input);
    assert.equal(gpu.len, LEN);
    assert.deepEqual([gpu.count, gpu.nan, gpu.inf], [ref.count, ref.nan, ref.inf]);
    // Every input value is exact in f32, so the extremes must match exactly.
    assert.equal(Math.fround(gpu.min), ref.min);
    assert.equal(Math.fround(gpu.max), ref.max);
    const std = Math.sqrt(ref.variance);
    assert.ok(Math.abs(gpu.mean - ref.mean) <= MEAN_TOL * std, `mean ${gpu.mean} vs ${ref.mean}`);
    assert.ok(Math.abs(gpu.variance - ref.variance) <= VARIANCE_TOL * ref.variance, `variance ${gpu.variance} vs ${ref.variance}`);
    assert.ok(Math.abs(gpu.skewness - ref.skewness) <= SKEWNESS_TOL, `skewness ${gpu.skewness} vs ${ref.skewness}`);
    assert.ok(Math.abs(gpu.excess_kurtosis - ref.excessKurtosis) <= KURTOSIS_TOL * (ref.excessKurtosis + 3),
      `excess kurtosis ${gpu.excess_kurtosis} vs ${ref.excessKurtosis}`);

    // The histogram, recomputed here with the same f32 bin rule: every count must match.
    const h = histogram(input, HISTOGRAM);
    assert.deepEqual([gpu.histogram.lo, gpu.histogram.hi, gpu.histogram.bins], [HISTOGRAM.lo, HISTOGRAM.hi, HISTOGRAM.bins]);
    assert.equal(gpu.histogram.scale, h.scale);
    assert.deepEqual(gpu.histogram.counts, h.counts);
    assert.deepEqual(
      [gpu.histogram.underflow, gpu.histogram.overflow, gpu.histogram.nan, gpu.histogram.neg_inf, gpu.histogram.pos_inf],
      [h.underflow, h.overflow, h.nan, h.negInf, h.posInf]);

    // The tail pass: the page's centre and thresholds are the GPU mean and k * std rounded to
    // f32; check them against the reference, then recount with them exactly.
    const t = gpu.tail;
    assert.deepEqual(t.ks, KS);
    assert.equal(t.center, Math.fround(t.center));
    assert.ok(Math.abs(t.center - ref.mean) <= MEAN_TOL * std + 1e-7, `tail centre ${t.center} vs mean ${ref.mean}`);
    KS.forEach((k, j) => assert.ok(Math.abs(t.thresholds[j] - k * std) <= 1e-5 * k * std, `threshold ${t.thresholds[j]} vs ${k * std}`));
    const tr = tails(input, t.center, t.thresholds);
    assert.equal(t.finite, tr.finite);
    assert.deepEqual(t.beyond, tr.beyond);
    assert.ok(Math.abs(t.abs_dev_sum - tr.absDevSum) <= POWER_SUM_TOL * tr.absDevSum, `sum |x - mean| ${t.abs_dev_sum} vs ${tr.absDevSum}`);

    assert.ok(gpu.matmul_max_abs_err <= 1e-3, `burn matmul error ${gpu.matmul_max_abs_err}`);

    // Our ViT kernels compiled under Chromium's compiler and ran (not burn's ops in their place):
    // 5 shapes x (4 linear functions in both forms, tiled and direct, LayerNorm, softmax, and the
    // gradient of each) and 3 attention shapes (forward and d qkv), each within KERNEL_TOL of the
    // Rust twin.
    const kernels = await page.getByTestId('kernel-check').innerText();
    assert.match(kernels, /^our WGSL kernels: \d+ variants compiled; linear layers (tiled|direct) \(/, kernels);
    assert.equal(gpu.kernels.on, true, 'the kernels are on');
    assert.equal(gpu.kernels.cases.length, 106);
    for (const c of gpu.kernels.cases) assert.ok(c.worst <= KERNEL_TOL, `${c.name}: worst error ${c.worst}`);
    for (const name of ['tiled dX linear+gelu 1x7x5', 'direct dX linear+gelu 1x7x5', 'dX layernorm 37x18x30', 'dX softmax 33x96x100', 'dqkv attention 1x37x3x8']) {
      assert.ok(gpu.kernels.cases.some((c) => c.name === name), `${name} is checked`);
    }

    const adapter = await page.locator('[data-testid="adapter-info"]').innerText();
    assert.match(adapter, /Largest storage binding\s+\d+ MiB/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
