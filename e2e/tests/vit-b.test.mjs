// The size users bring, on WebGPU (SwiftShader): a model whose header declares a tensor larger
// than any GPU binds at once is refused before anything is allocated, and the page goes on; a
// random-weight ViT-B/16 (86 M parameters, 343 MB of f32, written at run time and never
// committed) loads, trains one short VPT run in the worker at 32 px and predicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp, openDetails } from '../lib/page.mjs';
import { png } from '../lib/png.mjs';
import { declaredOnly, randomVit, vitConfig } from '../lib/random-vit.mjs';

const picture = (hue, seed) => png(40, 40, (x, y) => hue.map((c) => Math.max(0, Math.min(255, c + 30 * Math.sin((x + seed) / 3) * Math.cos(y / 5)))));
const files = (hue, prefix) => [1, 2, 3].map((i) => ({ name: `${prefix}-${i}.png`, mimeType: 'image/png', buffer: picture(hue, i) }));

async function loadLocal(page, weights, config) {
  await openDetails(page, 'model-change-toggle');
  await page.locator('details.local-model[open]').count() || await page.locator('summary', { hasText: 'Load a local model' }).click();
  await page.getByTestId('model-file').setInputFiles(weights);
  await page.getByTestId('model-config-file').setInputFiles(config);
  await page.getByTestId('model-load').click();
}

test('a ViT-B loads, trains and predicts; a model beyond the GPU is refused first', { timeout: 900_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bpt-vit-b-'));
  const app = await openApp({ webgpu: true });
  try {
    const { page } = app;
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="model-status"][data-state="ready"], [data-testid="model-status"][data-state="failed"]').waitFor({ timeout: 300_000 });
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify(vitConfig()));

    // 1.1 billion f32 values in one tensor (4.4 GB) exceed WebGPU's largest binding anywhere;
    // the header alone says so (the file holds no data at all).
    const huge = join(dir, 'huge.safetensors');
    await writeFile(huge, declaredOnly(1_100_000_000));
    await loadLocal(page, huge, config);
    await page.locator('[data-testid="model-status"][data-state="failed"]').waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('model-error').innerText(),
      /"huge\.weight" holds 1100000000 values \(4196 MiB as f32\), more than the \d+ MiB this GPU binds at once: it cannot be loaded here/);

    // ViT-B/16 at its real size.
    const { bytes, values } = randomVit(vitConfig());
    assert.equal(values, 85_798_656);
    const weights = join(dir, 'vit-b16-random.safetensors');
    await writeFile(weights, bytes);
    await loadLocal(page, weights, config);
    await page.waitForFunction(() => {
      const state = document.querySelector('[data-testid="model-status"]')?.dataset.state;
      const name = document.querySelector('[data-testid="model-name"]')?.textContent ?? '';
      return state === 'failed' || (state === 'ready' && name.includes('vit-b16-random'));
    }, null, { timeout: 400_000, polling: 500 });
    assert.equal(await page.getByTestId('model-status').getAttribute('data-state'), 'ready', await page.getByTestId('model-status').innerText());

    // One short VPT run in the worker: 4 training pictures, batch 4, 1 epoch.
    await page.getByTestId('class-files').nth(0).setInputFiles(files([200, 60, 50], 'red'));
    await page.getByTestId('class-files').nth(1).setInputFiles(files([40, 80, 200], 'blue'));
    await page.locator('[data-testid="class-count"][data-count="3"]').nth(1).waitFor({ timeout: 30_000 });
    const settings = { 'run-m': '4', 'run-epochs': '1', 'run-batch': '4', 'run-size': '32', 'run-lr': '0.01' };
    for (const [id, value] of Object.entries(settings)) {
      await page.getByTestId(id).fill(value);
      await page.getByTestId(id).dispatchEvent('change');
    }
    await page.getByTestId('run-method').selectOption('vpt');
    await page.getByTestId('run-start').click({ timeout: 120_000 });
    await page.locator('[data-testid="run-status"][data-state="finished"], [data-testid="run-status"][data-state="failed"]').waitFor({ timeout: 600_000 });
    assert.equal(await page.getByTestId('run-status').getAttribute('data-state'), 'finished',
      await page.locator('section[aria-labelledby="runs-heading"]').innerText());
    const losses = await page.$$eval('[data-testid="loss-chart"] polyline', (ls) => ls.map((l) => l.getAttribute('points')));
    assert.ok(losses.length === 1 && losses[0].trim().split(/[ ,]/).map(Number).every(Number.isFinite), `finite loss: ${losses}`);

    // A forward pass on the page: the probabilities of a new picture.
    await page.getByTestId('predict-file').setInputFiles({ name: 'query.png', mimeType: 'image/png', buffer: picture([200, 60, 50], 9) });
    await page.locator('[data-testid="predict-result"], [data-testid="predict-error"]').first().waitFor({ timeout: 300_000 });
    const probs = await page.$$eval('[data-testid="predict-class"]', (rows) => rows.map((r) => Number(r.dataset.p)));
    assert.equal(probs.length, 2, await page.locator('section[aria-labelledby="predict-heading"]').innerText());
    assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities sum to 1: ${probs}`);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
});
