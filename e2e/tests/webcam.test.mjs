// The camera, with Chromium's fake device (a moving test pattern, no permission prompt):
// a burst and "Hold to record" (mouse and keyboard) put pictures named camera-<n>.png into a
// class, with thumbnails; one stream at a time (a second preview closes the first, and closing
// stops the tracks); after a short run on the tiny fixture model, "Live from the camera"
// updates the probability bars at least twice, each time summing to 1, and stopping it stops
// the camera. A denied, missing, busy or absent camera gives its own message next to the
// button that was pressed, and the page goes on working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, loadTinyModel } from '../lib/page.mjs';
import { screenshot, FAKE_CAMERA } from '../lib/browser.mjs';
import { png } from '../lib/png.mjs';

// Keeps every stream the page opens (to check that closing stops it), and fails the next
// getUserMedia with a DOMException named window.__cameraFailure when that is set.
function watchCamera() {
  window.__streams = [];
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const real = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    if (window.__cameraFailure) throw new DOMException('refused by the test', window.__cameraFailure);
    const stream = await real(constraints);
    window.__streams.push(stream);
    return stream;
  };
}

// For each stream opened so far, whether it still has a live track.
const liveStreams = (page) => page.evaluate(() => window.__streams.map((s) => s.getTracks().some((t) => t.readyState === 'live')));

async function classState(page, i) {
  const card = page.getByTestId('class-card').nth(i);
  return {
    count: Number(await card.getByTestId('class-count').getAttribute('data-count')),
    names: await card.locator('.thumbs img').evaluateAll((imgs) => imgs.map((img) => img.alt)),
  };
}

// Until no file is being decoded.
async function decoded(page) {
  await page.waitForFunction(() => !/decoding/.test(document.querySelector('[data-testid="data-totals"]').textContent), null, { timeout: 60_000 });
}

async function openCamera(page, i) {
  const card = page.getByTestId('class-card').nth(i);
  await card.getByTestId('camera-open').click();
  await card.locator('[data-testid="camera-preview"][data-state="live"]').waitFor({ timeout: 30_000 });
  return card;
}

test('camera pictures join a class, and live prediction follows the camera', { timeout: 900_000 }, async () => {
  const app = await openApp({ webgpu: true, args: FAKE_CAMERA, init: watchCamera });
  try {
    const { page } = app;
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });

    // A burst of 10 into the first class.
    const first = await openCamera(page, 0);
    await first.scrollIntoViewIfNeeded();
    await screenshot(page, 'webcam-1-preview');
    assert.match(await first.getByTestId('camera-burst').innerText(), /Burst of 10/);
    await first.getByTestId('camera-burst').click();
    await first.getByTestId('class-count').and(page.locator('[data-count="10"]')).waitFor({ timeout: 60_000 });
    await decoded(page);
    let one = await classState(page, 0);
    assert.equal(one.count, 10);
    assert.deepEqual(one.names, Array.from({ length: 10 }, (_, k) => `camera-${k + 1}.png`));
    // The thumbnails are drawn: every one loaded, with the frame's size (640x480 shrunk to 512).
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('[data-testid="class-card"]')[0].querySelectorAll('.thumbs img')];
      return imgs.length === 10 && imgs.every((img) => img.complete && img.naturalWidth === 512 && img.naturalHeight === 384);
    }, null, { timeout: 30_000 });

    // The second class's preview takes the camera: the first closes and its stream stops.
    const second = await openCamera(page, 1);
    assert.equal(await first.getByTestId('camera-preview').count(), 0, 'one preview at a time');
    assert.deepEqual(await liveStreams(page), [false, true]);

    // Hold to record with the mouse: a few pictures a second while held, none after.
    const hold = second.getByTestId('camera-hold');
    const box = await hold.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.waitForTimeout(1500);
    await page.mouse.up();
    await decoded(page);
    const afterMouse = (await classState(page, 1)).count;
    assert.ok(afterMouse >= 3 && afterMouse <= 10, `about five pictures a second while held: ${afterMouse}`);
    await page.waitForTimeout(800);
    await decoded(page);
    assert.equal((await classState(page, 1)).count, afterMouse, 'nothing recorded once released');

    // ... and with the keyboard (Space held on the focused button).
    await hold.focus();
    await page.keyboard.down('Space');
    await page.waitForTimeout(1500);
    await page.keyboard.up('Space');
    await decoded(page);
    const two = await classState(page, 1);
    assert.ok(two.count >= afterMouse + 2, `Space held records too: ${afterMouse} then ${two.count}`);
    assert.deepEqual(two.names, Array.from({ length: two.count }, (_, k) => `camera-${k + 1}.png`));
    assert.deepEqual((await classState(page, 0)).names, one.names, 'the first class is unchanged');

    // Closing the preview stops the camera.
    await second.getByTestId('camera-open').click();
    assert.equal(await second.getByTestId('camera-preview').count(), 0);
    assert.deepEqual(await liveStreams(page), [false, false]);

    // A short run on the tiny model.
    await loadTinyModel(page);
    const settings = { 'run-m': '4', 'run-p': '4', 'run-epochs': '1', 'run-batch': '16', 'run-size': '32', 'run-lr': '0.01' };
    for (const [id, value] of Object.entries(settings)) {
      await page.getByTestId(id).fill(value);
      await page.getByTestId(id).dispatchEvent('change');
    }
    await page.getByTestId('run-start').click({ timeout: 180_000 });
    await page.locator('[data-testid="run-status"][data-state="finished"], [data-testid="run-status"][data-state="failed"]').waitFor({ timeout: 400_000 });
    assert.equal(await page.getByTestId('run-status').getAttribute('data-state'), 'finished', await page.getByTestId('run-status').innerText());

    // Live prediction takes the camera from an open preview, and updates the bars.
    await openCamera(page, 0);
    await page.getByTestId('predict-live').click();
    const seen = [];
    const live = page.locator('[data-testid="predict-result"][data-source="camera"]');
    await live.waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('camera-preview').count(), 0, 'the class preview closed');
    while (seen.length < 2) {
      await page.waitForFunction((after) => {
        const el = document.querySelector('[data-testid="predict-result"][data-source="camera"]');
        return el && Number(el.dataset.frames) > after;
      }, seen.at(-1)?.frames ?? 0, { timeout: 60_000, polling: 50 });
      seen.push(await live.evaluate((el) => ({
        frames: Number(el.dataset.frames),
        probs: [...el.querySelectorAll('[data-testid="predict-class"]')].map((r) => Number(r.dataset.p)),
      })));
    }
    for (const { frames, probs } of seen) {
      assert.equal(probs.length, 2, `a probability per class (frame ${frames})`);
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities sum to 1 (frame ${frames}): ${probs}`);
    }
    await screenshot(page, 'webcam-2-live');

    // Stopping stops the camera (every stream opened so far has ended).
    await page.getByTestId('predict-live').click();
    assert.equal(await live.count(), 0);
    assert.ok((await liveStreams(page)).every((l) => !l), 'no camera left running');

    // A busy camera, here for the live toggle: its message beside it.
    await page.evaluate(() => { window.__cameraFailure = 'NotReadableError'; });
    await page.getByTestId('predict-live').click();
    await page.getByTestId('live-error').waitFor({ timeout: 10_000 });
    assert.match(await page.getByTestId('live-error').innerText(), /in use by another app/);
    assert.equal(await page.getByTestId('predict-live').getAttribute('aria-pressed'), 'false');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a denied, missing, busy or absent camera says so beside its button', { timeout: 300_000 }, async () => {
  const app = await openApp({ webgpu: false, args: FAKE_CAMERA, init: watchCamera });
  try {
    const { page } = app;
    const card = page.getByTestId('class-card').nth(0);
    const cases = [
      ['NotAllowedError', /camera access was denied: allow the camera/],
      ['NotFoundError', /no camera was found/],
      ['NotReadableError', /in use by another app or tab/],
      ['TypeError', /could not start: TypeError: refused by the test/],
    ];
    for (const [name, message] of cases) {
      await page.evaluate((n) => { window.__cameraFailure = n; }, name);
      await card.getByTestId('camera-open').click();
      const error = card.getByTestId('camera-error');
      await error.waitFor({ timeout: 10_000 });
      assert.match(await error.innerText(), message, name);
      assert.equal(await card.getByTestId('camera-preview').count(), 0, `${name}: no preview left open`);
      assert.equal(await page.getByTestId('camera-error').count(), 1, `${name}: only beside the button pressed`);
    }
    // No mediaDevices at all (an insecure page, an old browser).
    await page.evaluate(() => Object.defineProperty(navigator, 'mediaDevices', { value: undefined, configurable: true }));
    await card.getByTestId('camera-open').click();
    await card.getByTestId('camera-error').filter({ hasText: /gives the page no camera/ }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'webcam-3-error');

    // The rest of the page works: a picture still joins the class by file.
    const file = { name: 'still.png', mimeType: 'image/png', buffer: png(24, 24, (x, y) => [x * 10, y * 10, 90]) };
    await card.getByTestId('class-files').setInputFiles(file);
    await card.getByTestId('class-count').and(page.locator('[data-count="1"]')).waitFor({ timeout: 30_000 });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
