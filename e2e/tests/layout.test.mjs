// The first screen is the work, not the diagnostics: at 1280 x 800 the pictures and the run
// settings are in view once the GPU is ready, with the GPU, the self-check and the model one
// line each whose details open on demand; a phone-wide page scrolls only down; and a failure
// opens the GPU's details by itself, its message and button in view without a click.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openApp, openDetails } from '../lib/page.mjs';
import { screenshot, SCREENSHOTS } from '../lib/browser.mjs';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// Asserts that `locator` is drawn entirely within the first `height` pixels of the page.
async function assertOnFirstScreen(page, locator, what, height) {
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await locator.boundingBox();
  assert.ok(box, `${what} is drawn`);
  assert.ok(box.y >= 0 && box.y + box.height <= height,
    `${what} is on the first screen: top ${box.y}, bottom ${box.y + box.height}, screen ${height}`);
}

async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const { scrollWidth, clientWidth } = document.documentElement;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > clientWidth + 0.5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    return { scrollWidth, clientWidth, wide: wide.slice(0, 8) };
  });
}

async function viewportShot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

test('the first screen shows the pictures and the run settings; the diagnostics fold into one line', { timeout: 300_000 }, async () => {
  // A choice of f16 weights saved on another GPU: SwiftShader has no shader-f16, so the model
  // must load in f32 all the same, with no error.
  const app = await openApp({ webgpu: true, init: () => localStorage.setItem('bpt-lab.weights', '"f16"') });
  try {
    const { page } = app;
    await page.setViewportSize(DESKTOP);
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="selfcheck-status"]:is([data-state="passed"], [data-state="failed"], [data-state="error"])')
      .waitFor({ timeout: 180_000 });
    assert.equal(await page.getByTestId('selfcheck-status').getAttribute('data-state'), 'passed');

    // All is well: the details are closed, and the line says so.
    const toggle = page.getByTestId('gpu-details-toggle');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.getByTestId('gpu-details').isVisible(), false);
    assert.match(await page.locator('#gpu-heading').locator('..').innerText(), /\(software\)[\s\S]*self-check passed/);

    for (const state of ['right after the self-check', 'once the model is ready']) {
      if (state === 'once the model is ready') {
        await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 240_000 });
      }
      await assertOnFirstScreen(page, page.locator('#data-heading'), `the pictures' heading (${state})`, DESKTOP.height);
      await assertOnFirstScreen(page, page.getByTestId('class-card').first(), `the first class (${state})`, DESKTOP.height);
      await assertOnFirstScreen(page, page.locator('.train-panel .settings'), `the run settings (${state})`, DESKTOP.height);
      await assertOnFirstScreen(page, page.getByTestId('run-start'), `the start button (${state})`, DESKTOP.height);
    }
    await screenshot(page, 'first-screen-1280');
    await viewportShot(page, 'first-screen-1280-viewport');

    // The f16 choice says why it cannot be made here, and the model is in f32.
    await openDetails(page, 'model-change-toggle');
    const f16 = page.getByTestId('f16-weights');
    assert.equal(await f16.isDisabled(), true);
    assert.equal(await f16.isChecked(), false);
    assert.match(await page.getByTestId('f16-note').innerText(), /no shader-f16, so the weights stay in f32/);
    assert.equal(await page.getByTestId('weights-in-use').innerText(), 'f32');
    assert.equal(await page.getByTestId('f16-refused').count(), 0);
    await page.getByTestId('model-change-toggle').click();

    // The details open on demand, and close again.
    await openDetails(page, 'gpu-details-toggle');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await page.getByTestId('adapter-info').waitFor();
    assert.match(await page.getByTestId('adapter-info').innerText(), /Largest storage binding\s+\d+ MiB/);
    await page.locator('#check-heading').waitFor();
    await toggle.click();
    assert.equal(await page.getByTestId('gpu-details').isVisible(), false);

    // A phone: nothing wider than the screen, with the details closed or open.
    await page.setViewportSize(PHONE);
    let overflow = await horizontalOverflow(page);
    assert.ok(overflow.scrollWidth <= PHONE.width, `no horizontal scroll at ${PHONE.width} px: ${JSON.stringify(overflow)}`);
    await screenshot(page, 'first-screen-390');
    await viewportShot(page, 'first-screen-390-viewport');
    await openDetails(page, 'gpu-details-toggle');
    await openDetails(page, 'model-change-toggle');
    overflow = await horizontalOverflow(page);
    assert.ok(overflow.scrollWidth <= PHONE.width, `no horizontal scroll with the details open: ${JSON.stringify(overflow)}`);
    await screenshot(page, 'first-screen-390-details');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('without WebGPU the details open by themselves and the message is on the first screen', { timeout: 60_000 }, async () => {
  const app = await openApp({ webgpu: false });
  try {
    const { page } = app;
    await page.setViewportSize(DESKTOP);
    const notice = page.getByTestId('webgpu-missing');
    await notice.waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="gpu-details-toggle"][aria-expanded="true"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('gpu-details').isVisible(), true);
    await assertOnFirstScreen(page, notice.locator('.notice-title'), 'the message', DESKTOP.height);
    await assertOnFirstScreen(page, notice.getByRole('button', { name: 'Try again' }), 'the Try again button', DESKTOP.height);
    await viewportShot(page, 'first-screen-no-webgpu');
    // Closing the details keeps the message and its button.
    await page.getByTestId('gpu-details-toggle').click();
    assert.equal(await page.getByTestId('gpu-details').isVisible(), false);
    assert.equal(await notice.getByRole('button', { name: 'Try again' }).isVisible(), true);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
