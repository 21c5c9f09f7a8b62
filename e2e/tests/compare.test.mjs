// A comparison on the page, on WebGPU (SwiftShader): the tiny fixture model and two classes of
// generated pictures; one button trains head-only, VPT and BPT-bilinear for two seeds in turn;
// the run list groups the six runs; the chart draws each method's mean held-out accuracy with
// its 95% band, all finite; the verdict line gives BPT minus VPT at the end and after 20% of the
// steps; the comparison comes back after a reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, loadTinyModel } from '../lib/page.mjs';
import { screenshot, panelShot } from '../lib/browser.mjs';
import { png } from '../lib/png.mjs';

const PER_CLASS = 4;

// A picture of one colour with a seeded wave, so the two classes differ by colour.
function picture(hue, seed) {
  return png(36, 36, (x, y) => hue.map((c) => Math.max(0, Math.min(255, c + 40 * Math.sin((x + 3 * seed) / 4) * Math.cos(y / 6)))));
}

const files = (hue, prefix) =>
  Array.from({ length: PER_CLASS }, (_, i) => ({ name: `${prefix}-${i}.png`, mimeType: 'image/png', buffer: picture(hue, i + 1) }));

const numbers = (points) => points.trim().split(/[ ,]/).map(Number);

test('one button compares head-only, VPT and BPT over seeds, with bands and a verdict', { timeout: 900_000 }, async () => {
  const app = await openApp({ webgpu: true });
  try {
    const { page } = app;
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
    await loadTinyModel(page);
    await page.getByTestId('class-files').nth(0).setInputFiles(files([200, 60, 50], 'red'));
    await page.getByTestId('class-files').nth(1).setInputFiles(files([40, 80, 200], 'blue'));
    await page.locator(`[data-testid="class-count"][data-count="${PER_CLASS}"]`).nth(1).waitFor({ timeout: 30_000 });

    // 6 training pictures, batch 4, 2 epochs: 4 steps per run; the early evaluation at step 1.
    const settings = { 'run-m': '4', 'run-p': '4', 'run-epochs': '2', 'run-batch': '4', 'run-size': '32', 'run-lr': '0.01', 'compare-seeds': '2' };
    for (const [id, value] of Object.entries(settings)) {
      await page.getByTestId(id).fill(value);
      await page.getByTestId(id).dispatchEvent('change');
    }
    await page.getByTestId('run-method').selectOption('bpt-bilinear');
    assert.equal(await page.getByTestId('compare-start').innerText(), 'Compare head-only, VPT and BPT-bilinear (2 seeds)');
    await page.getByTestId('compare-start').click({ timeout: 180_000 });
    await page.getByTestId('compare-queue').filter({ hasText: '5 more run(s)' }).waitFor({ timeout: 30_000 });

    // Six runs, one after the other, grouped under one heading.
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="run-row"]')];
      return rows.some((r) => r.dataset.state === 'failed') || (rows.length === 6 && rows.every((r) => r.dataset.state === 'finished'));
    }, null, { timeout: 800_000, polling: 1000 });
    const states = await page.getByTestId('run-row').evaluateAll((rows) => rows.map((r) => r.dataset.state));
    assert.deepEqual(states, Array(6).fill('finished'), await page.locator('section[aria-labelledby="runs-heading"]').innerText());
    assert.match(await page.getByTestId('comparison-row').innerText(), /Comparison 1 · 6 runs/);
    assert.equal(await page.getByTestId('compare-queue').innerText(), '');

    // One band and one mean line per method, every coordinate finite.
    const chart = page.getByTestId('compare-chart');
    const bands = await chart.locator('polygon.chart-band').evaluateAll((ps) => ps.map((p) => p.getAttribute('points')));
    const lines = await chart.locator('polyline').evaluateAll((ps) => ps.map((p) => p.getAttribute('points')));
    assert.equal(bands.length, 3, 'a band per method');
    assert.equal(lines.length, 3, 'a mean curve per method');
    for (const p of [...bands, ...lines]) assert.ok(numbers(p).every(Number.isFinite) && numbers(p).length >= 4, `finite: ${p}`);
    const legend = await chart.locator('.legend li').allInnerTexts();
    assert.deepEqual(legend, ['Head only (2 seeds)', 'VPT (2 seeds)', 'BPT-bilinear (2 seeds)']);
    const verdict = await page.getByTestId('compare-verdict').innerText();
    assert.match(verdict, /^BPT-bilinear minus VPT: [+-]\d+\.\d ± \d+\.\d points at the end, [+-]\d+\.\d ± \d+\.\d after 20% of the steps \(2 seeds\)$/);
    assert.match(await page.getByTestId('compare-baseline').innerText(), /^Against head-only at the end: VPT [+-]\d+\.\d ± \d+\.\d, BPT-bilinear [+-]\d+\.\d ± \d+\.\d points$/);
    await page.getByTestId('comparison').scrollIntoViewIfNeeded();
    await screenshot(page, 'compare-1-done');
    await panelShot(page, 'runs-heading', 'runs-compare');

    // The comparison is saved with its runs and comes back after a reload.
    await page.locator('[data-testid="save-status"][data-state="saved"][data-saving="false"]', { hasText: '6 runs' }).waitFor({ timeout: 60_000 });
    await page.reload();
    await page.locator('[data-testid="save-status"][data-state="saved"]', { hasText: '6 runs' }).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('compare-verdict').innerText(), verdict);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
