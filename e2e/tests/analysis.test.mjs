// The distributions run in the training worker, on WebGPU (SwiftShader): the page says how far
// the pictures are ("Picture 3 of 16"), its thread never blocks for 200 ms or more (long tasks
// are recorded with a PerformanceObserver), a stop ends the analysis with a note and the next
// analysis works; predictions are made in the worker too; without workers the same analysis
// runs on the page's thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, loadTinyModel } from '../lib/page.mjs';
import { png } from '../lib/png.mjs';

function recordLongTasks() {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, ms: e.duration });
  }).observe({ type: 'longtask', buffered: true });
}

async function prepare(page) {
  await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 300_000 });
  // The start-up self-check is still running on the page's thread when the model is ready (for
  // about 15 s on SwiftShader), with tasks of its own of up to 170 ms (measured with Chromium's
  // CPU profiler: the browser's own work, not a frame of ours). The long tasks measured below
  // are the analysis' and the predictions' own, so they begin after it.
  await page.locator('[data-testid="selfcheck-status"]:is([data-state="passed"], [data-state="failed"], [data-state="error"])')
    .waitFor({ timeout: 180_000 });
  await loadTinyModel(page);
  await page.getByTestId('samples-load').click();
  await page.locator('[data-testid="samples-status"][data-state="done"]').waitFor({ timeout: 60_000 });
}

const finished = '[data-testid="dist-status"][data-state="done"], [data-testid="dist-status"][data-state="failed"], [data-testid="dist-status"][data-state="stopped"]';

test('the distributions run in the worker with progress, a stop, and no long task', { timeout: 600_000 }, async () => {
  const app = await openApp({ webgpu: true, init: recordLongTasks });
  try {
    const { page } = app;
    await prepare(page);
    // Progress, seen as it goes: every text the status line shows while working.
    await page.evaluate(() => {
      window.__progress = [];
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid="dist-status"][data-state="working"]');
        if (el && window.__progress.at(-1) !== el.textContent) window.__progress.push(el.textContent);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const started = await page.evaluate(() => performance.now());
    await page.getByTestId('dist-analyse').click();
    await page.locator(finished).waitFor({ timeout: 300_000 });
    assert.equal(await page.getByTestId('dist-status').getAttribute('data-state'), 'done', await page.getByTestId('dist-status').innerText());
    const seen = await page.evaluate(() => window.__progress);
    assert.ok(seen.some((t) => /^Picture \d+ of 16 through the model/.test(t)), `progress shown: ${JSON.stringify(seen)}`);
    const longest = await page.evaluate((t0) => Math.max(0, ...window.__longTasks.filter((e) => e.start >= t0).map((e) => e.ms)), started);
    console.log(`# longest task on the page's thread during the analysis: ${longest.toFixed(0)} ms`);
    assert.ok(longest < 200, `the page's thread was blocked for ${longest} ms`);
    assert.ok(app.page.workers().some((w) => w.url().startsWith('blob:')), 'a worker runs');
    for (const key of ['x', 'wq_wk', 'x_tilde', 'x_tilde_whitened', 'x_tilde_whitened_held_out']) {
      const kurtosis = Number(await page.getByTestId(`dist-${key}`).getAttribute('data-kurtosis'));
      assert.ok(Number.isFinite(kurtosis), `${key}: kurtosis ${kurtosis}`);
    }

    // A stop as soon as the analysis has begun: it ends with a note, and the next one works.
    // The Stop button is clicked the moment it is enabled (a DOM observer, not a timer): on our
    // own kernels 16 pictures of the tiny model take less time than a timer's round trip.
    await page.evaluate(() => new Promise((done) => {
      const tryStop = () => {
        const stop = document.querySelector('[data-testid="dist-stop"]');
        if (!stop || stop.disabled) return;
        observer.disconnect();
        stop.click();
        done();
      };
      const observer = new MutationObserver(tryStop);
      observer.observe(document.body, { subtree: true, childList: true, attributes: true });
      document.querySelector('[data-testid="dist-analyse"]').click();
      tryStop();
    }));
    await page.locator(finished).waitFor({ timeout: 300_000 });
    assert.equal(await page.getByTestId('dist-status').getAttribute('data-state'), 'stopped', await page.getByTestId('dist-status').innerText());
    await page.getByTestId('dist-source').selectOption('norm1');
    await page.getByTestId('dist-analyse').click();
    await page.locator(finished).waitFor({ timeout: 300_000 });
    assert.match(await page.getByTestId('dist-status').innerText(), /norm1/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('predictions are made in the worker and the page never waits on them', { timeout: 600_000 }, async () => {
  const app = await openApp({ webgpu: true, init: recordLongTasks });
  try {
    const { page } = app;
    await prepare(page);
    for (const [id, value] of Object.entries({ 'run-m': '4', 'run-epochs': '1', 'run-batch': '16', 'run-size': '32' })) {
      await page.getByTestId(id).fill(value);
      await page.getByTestId(id).dispatchEvent('change');
    }
    await page.getByTestId('run-start').click();
    await page.locator('[data-testid="run-status"][data-state="finished"]').waitFor({ timeout: 300_000 });
    // The finished run's prompt maps (its file read back, the statistics kernels on the page).
    const finished = await page.evaluate(() => performance.now());
    await page.locator('[data-testid="prompt-status"][data-state="done"]').waitFor({ timeout: 120_000 });
    const longest = (t0) => page.evaluate((t0) => Math.max(0, ...window.__longTasks.filter((e) => e.start >= t0).map((e) => e.ms)), t0);
    const maps = await longest(finished);
    console.log(`# longest task on the page's thread while the prompt maps are drawn: ${maps.toFixed(0)} ms`);
    assert.ok(maps < 200, `the page's thread was blocked for ${maps} ms`);
    for (const [i, colour] of [[1, [200, 40, 40]], [2, [40, 40, 200]]]) {
      const started = await page.evaluate(() => performance.now());
      await page.getByTestId('predict-file').setInputFiles({ name: `query-${i}.png`, mimeType: 'image/png', buffer: png(30, 30, () => colour) });
      await page.locator(`[data-testid="predict-result"]:has-text("query-${i}.png"), [data-testid="predict-error"]`).first().waitFor({ timeout: 120_000 });
      const probs = await page.$$eval('[data-testid="predict-class"]', (rows) => rows.map((r) => Number(r.dataset.p)));
      assert.ok(probs.length === 3 && Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities: ${probs}`);
      const ms = await longest(started);
      console.log(`# longest task on the page's thread during prediction ${i}: ${ms.toFixed(0)} ms`);
      assert.ok(ms < 200, `the page's thread was blocked for ${ms} ms`);
    }
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('without workers, the distributions run on the page\'s thread', { timeout: 600_000 }, async () => {
  const app = await openApp({ webgpu: true, init: () => { delete window.Worker; } });
  try {
    const { page } = app;
    await prepare(page);
    await page.getByTestId('dist-analyse').click();
    await page.locator(finished).waitFor({ timeout: 300_000 });
    assert.equal(await page.getByTestId('dist-status').getAttribute('data-state'), 'done', await page.getByTestId('dist-status').innerText());
    assert.equal(app.page.workers().length, 0, 'no worker');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
