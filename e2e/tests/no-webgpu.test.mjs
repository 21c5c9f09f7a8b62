// Without WebGPU the page says so, names the cause the browser reports, and offers a retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp } from '../lib/page.mjs';
import { screenshot } from '../lib/browser.mjs';

test('without WebGPU the page shows a clear message instead of failing', { timeout: 60_000 }, async () => {
  const app = await openApp({ webgpu: false });
  try {
    const { page } = app;
    const notice = page.locator('[data-testid="webgpu-missing"]');
    await notice.waitFor({ timeout: 30_000 });
    await screenshot(page, 'start-no-webgpu');

    // Ask the browser directly which case applies, and expect the matching message.
    const cause = await page.evaluate(async () => {
      if (!navigator.gpu) return 'no-api';
      return (await navigator.gpu.requestAdapter()) ? 'adapter' : 'no-adapter';
    });
    assert.notEqual(cause, 'adapter', 'this Chromium has WebGPU without the flag: the test cannot run');
    const text = await notice.innerText();
    const expected = cause === 'no-api' ? /does not offer WebGPU/ : /no GPU was granted/;
    assert.match(text, expected);
    assert.match(text, /enable-unsafe-webgpu/);
    await notice.getByRole('button', { name: 'Try again' }).click();
    await page.locator('[data-testid="webgpu-missing"]').waitFor();
    assert.equal(await page.locator('[data-testid="selfcheck-status"]').getAttribute('data-state'), 'waiting');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
