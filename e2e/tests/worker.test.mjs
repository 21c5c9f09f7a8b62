// Training runs in a worker: the page's thread stays free while a run compiles its kernels and
// steps (long tasks are recorded with a PerformanceObserver), pause and stop reach the worker,
// and a page without workers trains on its own thread instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, loadTinyModel } from '../lib/page.mjs';

async function prepare(page, settings) {
  await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 300_000 });
  await loadTinyModel(page);
  await page.getByTestId('samples-load').click();
  await page.locator('[data-testid="samples-status"][data-state="done"]').waitFor({ timeout: 60_000 });
  for (const [id, value] of Object.entries(settings)) {
    await page.getByTestId(id).fill(value);
    await page.getByTestId(id).dispatchEvent('change');
  }
}

const step = async (page) => Number((await page.getByTestId('run-detail').innerText()).match(/step (\d+) of/)?.[1] ?? 0);

// Records the page's long tasks (over 50 ms) from the start.
function recordLongTasks() {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, ms: e.duration });
  }).observe({ type: 'longtask', buffered: true });
}

test('a run trains in the worker; the page stays responsive; pause and stop reach it', { timeout: 600_000 }, async () => {
  const app = await openApp({ webgpu: true, init: recordLongTasks });
  try {
    const { page } = app;
    // 27 training images, batch 4: 7 steps an epoch, 3 epochs.
    await prepare(page, { 'run-m': '4', 'run-p': '4', 'run-epochs': '3', 'run-batch': '4', 'run-size': '32' });
    const started = await page.evaluate(() => performance.now());
    await page.getByTestId('run-start').click();
    await page.waitForFunction(() => /step [1-9]/.test(document.querySelector('[data-testid="run-detail"]')?.textContent ?? ''), null, { timeout: 300_000 });
    // The first steps compiled the training kernels; none of that ran on the page's thread.
    const longest = await page.evaluate((t0) => Math.max(0, ...window.__longTasks.filter((e) => e.start >= t0).map((e) => e.ms)), started);
    console.log(`# longest task on the page's thread while the run started: ${longest.toFixed(0)} ms`);
    assert.ok(longest < 1000, `the page's thread was blocked for ${longest} ms`);
    assert.ok(app.page.workers().some((w) => w.url().startsWith('blob:')), 'a worker runs');
    assert.doesNotMatch(await page.getByTestId('run-summary').innerText(), /page's thread/);

    await page.getByTestId('run-pause').click();
    await page.locator('[data-testid="run-status"][data-state="paused"]').waitFor({ timeout: 120_000 });
    const paused = await step(page);
    await page.waitForTimeout(3000);
    assert.equal(await step(page), paused, 'no step while paused');
    await page.getByTestId('run-pause').click();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="run-detail"]')?.textContent.match(/step (\d+) of/)?.[1]) > n, paused, { timeout: 120_000 });
    await page.getByTestId('run-stop').click();
    await page.locator('[data-testid="run-status"][data-state="stopped"]').waitFor({ timeout: 120_000 });
    assert.ok((await step(page)) < 21, 'stopped before the end');
    assert.equal(await page.getByTestId('run-export').first().isEnabled(), true, 'a stopped run keeps its prompts');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('without workers, a run trains on the page\'s thread', { timeout: 600_000 }, async () => {
  const app = await openApp({ webgpu: true, init: [() => { delete window.Worker; }, recordLongTasks] });
  try {
    const { page } = app;
    await prepare(page, { 'run-m': '4', 'run-p': '4', 'run-epochs': '1', 'run-batch': '16', 'run-size': '32' });
    const started = await page.evaluate(() => performance.now());
    await page.getByTestId('run-start').click();
    await page.locator('[data-testid="run-status"][data-state="finished"], [data-testid="run-status"][data-state="failed"]').waitFor({ timeout: 300_000 });
    assert.equal(await page.getByTestId('run-status').getAttribute('data-state'), 'finished', await page.getByTestId('run-detail').innerText().catch(() => ''));
    assert.match(await page.getByTestId('run-summary').innerText(), /trained on the page's thread/);
    // For comparison with the worker (not a check: here the kernels compile on the page's thread).
    const longest = await page.evaluate((t0) => Math.max(0, ...window.__longTasks.filter((e) => e.start >= t0).map((e) => e.ms)), started);
    console.log(`# longest task on the page's thread during a run without a worker: ${longest.toFixed(0)} ms`);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
