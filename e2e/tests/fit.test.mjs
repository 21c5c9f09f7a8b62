// A run too large for the GPU, on WebGPU (SwiftShader): the tiny model (3 heads, patch 8) at
// 800 px gives 10,005 tokens a picture, whose attention scores (1.1 GiB) exceed SwiftShader's
// largest binding; the run is refused with what to lower before anything is allocated, and the
// next run at 32 px trains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, loadTinyModel } from '../lib/page.mjs';

test('a run whose attention does not fit the GPU is refused first; the next one trains', { timeout: 600_000 }, async () => {
  const app = await openApp({ webgpu: true });
  try {
    const { page } = app;
    await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 300_000 });
    await loadTinyModel(page);
    await page.getByTestId('samples-load').click();
    await page.locator('[data-testid="samples-status"][data-state="done"]').waitFor({ timeout: 60_000 });
    const set = async (settings) => {
      for (const [id, value] of Object.entries(settings)) {
        await page.getByTestId(id).fill(value);
        await page.getByTestId(id).dispatchEvent('change');
      }
    };
    await set({ 'run-m': '4', 'run-epochs': '1', 'run-batch': '16', 'run-size': '800' });
    await page.getByTestId('run-start').click();
    await page.locator('[data-testid="run-status"][data-state="failed"]').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('run-error').innerText(),
      /a batch of 16 pictures of 10005 tokens gives \d+ attention scores per block \(\d+ MiB as f32\), more than the \d+ MiB this GPU binds at once: lower the batch or the image side/);
    await set({ 'run-size': '32' });
    await page.getByTestId('run-start').click();
    await page.locator('[data-testid="run-status"][data-state="finished"], [data-testid="run-status"][data-state="failed"]').waitFor({ timeout: 300_000 });
    assert.equal(await page.getByTestId('run-status').getAttribute('data-state'), 'finished');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
