// The page runs the moments kernel on WebGPU (SwiftShader) and its figures are right: this test
// rebuilds the page's input in JavaScript and checks the GPU figures itself, so a wrong kernel
// fails here even if the page's own comparison were wrong too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp } from '../lib/page.mjs';
import { screenshot } from '../lib/browser.mjs';

const LEN = 1_000_003;
const SEED = 0x9e3779b9;
const MEAN_TOL = 1e-5;
const VARIANCE_TOL = 1e-4;

// xorshift32 mapped to (u >> 8) * 2^-22 - 2, exactly as src/gpu/selfcheck.rs does.
function selfcheckInput() {
  const values = new Float64Array(LEN);
  let s = SEED >>> 0;
  for (let i = 0; i < LEN; i++) {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    values[i] = (s >>> 8) / 4194304 - 2;
  }
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
  let m2 = 0;
  for (const x of values) if (Number.isFinite(x)) m2 += (x - mean) ** 2;
  return { count, nan, inf, min, max, mean, variance: m2 / count };
}

test('the page verifies the moments kernel on WebGPU and its figures are right', { timeout: 180_000 }, async () => {
  const app = await openApp({ webgpu: true });
  try {
    const { page } = app;
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
    const status = page.locator('[data-testid="selfcheck-status"]');
    await page.locator('[data-testid="selfcheck-status"][data-state="passed"], [data-testid="selfcheck-status"][data-state="failed"], [data-testid="selfcheck-status"][data-state="error"]').waitFor({ timeout: 120_000 });
    await screenshot(page, 'start-webgpu');
    assert.equal(await status.getAttribute('data-state'), 'passed', await status.innerText());

    const gpu = JSON.parse(await page.locator('[data-testid="selfcheck-result"]').textContent());
    const ref = reference(selfcheckInput());
    assert.equal(gpu.len, LEN);
    assert.deepEqual([gpu.count, gpu.nan, gpu.inf], [ref.count, ref.nan, ref.inf]);
    // Every input value is exact in f32, so the extremes must match exactly.
    assert.equal(Math.fround(gpu.min), ref.min);
    assert.equal(Math.fround(gpu.max), ref.max);
    const std = Math.sqrt(ref.variance);
    assert.ok(Math.abs(gpu.mean - ref.mean) <= MEAN_TOL * std, `mean ${gpu.mean} vs ${ref.mean}`);
    assert.ok(Math.abs(gpu.variance - ref.variance) <= VARIANCE_TOL * ref.variance, `variance ${gpu.variance} vs ${ref.variance}`);
    assert.ok(gpu.matmul_max_abs_err <= 1e-3, `burn matmul error ${gpu.matmul_max_abs_err}`);

    const adapter = await page.locator('[data-testid="adapter-info"]').innerText();
    assert.match(adapter, /Largest storage binding\s+\d+ MiB/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
