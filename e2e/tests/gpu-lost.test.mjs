// A lost GPU: the test destroys the page's WebGPU devices (the browser then resolves their
// `lost` promises, as after a driver reset), the page says so and drops what lived on the lost
// device, and "Restart the GPU" gets a new device and runs the self-check; the model (a local
// one here) is chosen again, and the run trained before the loss gets its classifier back from
// the browser's saved copy and predicts again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, loadTinyModel } from '../lib/page.mjs';
import { png } from '../lib/png.mjs';
import { screenshot, panelShot } from '../lib/browser.mjs';

let queries = 0;
async function predictOnce(page) {
  queries += 1;
  const picture = png(28, 28, (x, y) => [(x * 9) % 256, (y * 5) % 256, 120]);
  await page.getByTestId('predict-file').setInputFiles({ name: `query-${queries}.png`, mimeType: 'image/png', buffer: picture });
  await page.locator('[data-testid="predict-result"], [data-testid="predict-error"]').first().waitFor({ timeout: 60_000 });
  return page.$$eval('[data-testid="predict-class"]', (rows) => rows.map((r) => Number(r.dataset.p)));
}

// Keeps every device the page asks for, so the test can destroy them.
function keepDevices() {
  const original = GPUAdapter.prototype.requestDevice;
  window.__devices = [];
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await original.apply(this, args);
    window.__devices.push(device);
    return device;
  };
}

test('a lost GPU is reported; after a restart the model is loaded again and the saved run predicts', { timeout: 600_000 }, async () => {
  const app = await openApp({ webgpu: true, init: keepDevices });
  try {
    const { page } = app;
    await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 300_000 });
    await page.locator('[data-testid="selfcheck-status"][data-state="passed"]').waitFor({ timeout: 300_000 });

    // A run of 2 steps on the tiny model and the sample pictures, saved by the page.
    await loadTinyModel(page);
    await page.getByTestId('samples-load').click();
    await page.locator('[data-testid="samples-status"][data-state="done"]').waitFor({ timeout: 60_000 });
    const settings = { 'run-m': '4', 'run-p': '4', 'run-epochs': '1', 'run-batch': '16', 'run-size': '32' };
    for (const [id, value] of Object.entries(settings)) {
      await page.getByTestId(id).fill(value);
      await page.getByTestId(id).dispatchEvent('change');
    }
    await page.getByTestId('run-start').click({ timeout: 180_000 });
    await page.locator('[data-testid="run-status"][data-state="finished"], [data-testid="run-status"][data-state="failed"]').waitFor({ timeout: 400_000 });
    assert.equal(await page.getByTestId('run-status').getAttribute('data-state'), 'finished');
    await page.locator('[data-testid="save-status"][data-state="saved"][data-saving="false"]').waitFor({ timeout: 60_000 });
    assert.equal((await predictOnce(page)).length, 3);

    assert.ok(await page.evaluate(() => window.__devices.length) >= 1, 'the page asked for a device');
    await page.evaluate(() => window.__devices.forEach((d) => d.destroy()));
    await page.getByTestId('gpu-lost').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('gpu-error').innerText(), /destroyed/);
    assert.equal(await page.getByTestId('model-status').getAttribute('data-state'), 'failed');
    assert.match(await page.getByTestId('model-error').innerText(), /GPU was lost.*files again/s);
    await page.locator('[data-testid="run-export"][disabled]').waitFor({ timeout: 30_000 });
    await screenshot(page, 'gpu-lost');
    await panelShot(page, 'gpu-heading', 'gpu-lost');

    await page.getByTestId('gpu-restart').click();
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="selfcheck-status"][data-state="passed"]').waitFor({ timeout: 300_000 });
    // The local model is chosen again; the run's classifier comes back from its saved file.
    await loadTinyModel(page);
    assert.match(await page.getByTestId('model-name').innerText(), /timm_vit_ls/);
    await page.locator('[data-testid="run-export"]:not([disabled])').waitFor({ timeout: 60_000 });
    const probs = await predictOnce(page);
    assert.equal(probs.length, 3);
    assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities sum to 1: ${probs}`);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
