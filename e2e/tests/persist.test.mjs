// Sample images and keeping data across reloads (IndexedDB; the run settings in localStorage), on
// WebGPU (SwiftShader):
// "Sample images" fills three classes; a rename, a held-out share and a short run on the tiny
// fixture model survive a reload; the restored run predicts once its model's weights are loaded
// again (under another name: runs follow the weights' hash); a
// corrupt file is still refused by name; "Clear saved data" empties the page and the store.
// Without IndexedDB, with a full store or with saved data it cannot read, the page says so
// once and works in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApp, loadTinyModel } from '../lib/page.mjs';
import { screenshot } from '../lib/browser.mjs';
import { png } from '../lib/png.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SAMPLES = join(ROOT, 'static', 'samples');

async function classes(page) {
  const names = await page.getByTestId('class-name').evaluateAll((inputs) => inputs.map((i) => i.value));
  const counts = await page.getByTestId('class-count').evaluateAll((ps) => ps.map((p) => Number(p.dataset.count)));
  const thumbs = await page.getByTestId('thumbs').evaluateAll((uls) => uls.map((ul) => ul.querySelectorAll('img').length));
  return { names, counts, thumbs };
}

async function waitSaved(page, pattern) {
  // data-saving: no save scheduled or under way, so the store holds what the page shows.
  const status = page.locator('[data-testid="save-status"][data-state="saved"][data-saving="false"]', { hasText: pattern });
  await status.waitFor({ timeout: 30_000 }).catch(async () => {
    assert.fail(`not saved as expected (${pattern}): ${await page.getByTestId('save-status').innerText()}`);
  });
}

// Puts one record straight into the page's store, reads one, or lists its keys (fn: 'put',
// 'get' or 'keys').
function store(page, fn, key, value) {
  return page.evaluate(([fn, key, value]) => new Promise((ok, fail) => {
    const req = indexedDB.open('bpt-lab', 1);
    req.onerror = () => fail(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction('records', fn === 'put' ? 'readwrite' : 'readonly');
      const records = tx.objectStore('records');
      const op = fn === 'put' ? records.put(value, key) : fn === 'get' ? records.get(key) : records.getAllKeys();
      tx.oncomplete = () => { db.close(); ok(op.result); };
      tx.onerror = () => fail(tx.error);
    };
  }), [fn, key, value]);
}

test('sample images, class edits, the held-out share and a run survive a reload', { timeout: 900_000 }, async () => {
  const manifest = JSON.parse(await readFile(join(SAMPLES, 'manifest.json'), 'utf8'));
  const sampleNames = manifest.classes.map((c) => c.name);
  const perClass = manifest.classes.map((c) => c.files.length);
  assert.equal(sampleNames.length, 3, 'the set-up makes three sample classes');

  const app = await openApp({ webgpu: true });
  try {
    const { page } = app;
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
    await waitSaved(page, /0 images and 0 runs/);

    // The samples fill the classes, thumbnails included.
    await page.getByTestId('samples-load').click();
    await page.locator('[data-testid="samples-status"][data-state="done"], [data-testid="samples-status"][data-state="failed"]').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('samples-status').getAttribute('data-state'), 'done', await page.getByTestId('samples-status').innerText());
    assert.match(await page.getByTestId('samples-status').innerText(), /Fashion-MNIST \(MIT/);
    let now = await classes(page);
    assert.deepEqual(now.names, sampleNames);
    assert.deepEqual(now.counts, perClass);
    assert.deepEqual(now.thumbs, perClass);

    // Edits: a rename and a held-out share of 50%.
    await page.getByTestId('class-name').nth(0).fill('tee');
    await page.getByTestId('holdout').fill('50');
    await page.getByTestId('holdout').dispatchEvent('change');
    await page.locator('[data-testid="class-count"]', { hasText: `${perClass[0] / 2} to train on, ${perClass[0] / 2} held out` }).first().waitFor();

    // A short run on the tiny model: 18 training images, batch 16, one epoch = 2 steps.
    await loadTinyModel(page);
    const settings = { 'run-m': '4', 'run-p': '4', 'run-epochs': '1', 'run-batch': '16', 'run-size': '32', 'run-lr': '0.01' };
    for (const [id, value] of Object.entries(settings)) {
      await page.getByTestId(id).fill(value);
      await page.getByTestId(id).dispatchEvent('change');
    }
    await page.getByTestId('run-method').selectOption('bpt-bilinear');
    await page.getByTestId('run-start').click({ timeout: 180_000 });
    await page.locator('[data-testid="run-status"][data-state="finished"], [data-testid="run-status"][data-state="failed"]').waitFor({ timeout: 400_000 });
    assert.equal(await page.getByTestId('run-status').getAttribute('data-state'), 'finished');

    // A class added after the run, left empty, and renamed.
    await page.getByTestId('add-class').click();
    await page.getByTestId('class-name').nth(3).fill('empty one');
    const total = perClass.reduce((a, b) => a + b, 0);
    await waitSaved(page, new RegExp(`${total} images and 1 run\\b`));
    const before = await classes(page);
    const lossBefore = await page.$$eval('[data-testid="loss-chart"] polyline', (ls) => ls.map((l) => l.getAttribute('points')));
    await screenshot(page, 'persist-1-before-reload');

    await page.reload();
    await waitSaved(page, new RegExp(`${total} images and 1 run\\b`));
    now = await classes(page);
    assert.deepEqual(now, before, 'the same classes, names, counts and thumbnails');
    assert.deepEqual(now.names, ['tee', ...sampleNames.slice(1), 'empty one']);
    assert.equal(await page.getByTestId('holdout').inputValue(), '50');
    // The run settings form is back as it was left (localStorage).
    for (const [id, value] of Object.entries(settings)) assert.equal(await page.getByTestId(id).inputValue(), value, id);
    assert.equal(await page.getByTestId('run-method').inputValue(), 'bpt-bilinear');
    assert.match(await page.getByTestId('class-count').nth(1).innerText(), new RegExp(`${perClass[1] / 2} to train on, ${perClass[1] / 2} held out`));
    assert.match(await page.getByTestId('data-totals').innerText(), new RegExp(`4 classes . ${total / 2} to train on . ${total / 2} held out`));

    // The run is back with its curve; it predicts once its model is loaded again, found by its
    // weights' hash: the same weights under another file name (so another model name).
    assert.equal(await page.getByTestId('run-row').count(), 1);
    assert.equal(await page.getByTestId('run-row').getAttribute('data-state'), 'finished');
    const lossAfter = await page.$$eval('[data-testid="loss-chart"] polyline', (ls) => ls.map((l) => l.getAttribute('points')));
    assert.deepEqual(lossAfter, lossBefore, 'the same loss curve');
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
    await loadTinyModel(page, { as: 'same-weights-renamed' });
    await page.locator('[data-testid="run-export"]:not([disabled])').waitFor({ timeout: 30_000 });
    const query = await readFile(join(SAMPLES, manifest.classes[2].files[0]));
    await page.getByTestId('predict-file').setInputFiles({ name: 'query.png', mimeType: 'image/png', buffer: query });
    await page.locator('[data-testid="predict-result"], [data-testid="predict-error"]').first().waitFor({ timeout: 60_000 });
    const probs = await page.$$eval('[data-testid="predict-class"]', (rows) => rows.map((r) => Number(r.dataset.p)));
    assert.equal(probs.length, 3, 'a probability per class');
    assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities sum to 1: ${probs}`);

    // A corrupt file is still refused by name, and nothing else changes.
    const broken = { name: 'broken-photo.png', mimeType: 'image/png', buffer: Buffer.from('this is not a picture') };
    await page.getByTestId('class-files').nth(3).setInputFiles(broken);
    await page.getByTestId('data-errors').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('data-errors').innerText(), /broken-photo\.png/);
    assert.deepEqual((await classes(page)).counts, [...perClass, 0]);
    await screenshot(page, 'persist-2-after-reload');

    // Clearing empties the page and the store.
    page.once('dialog', (d) => d.accept());
    await page.getByTestId('save-clear').click();
    await waitSaved(page, /0 images and 0 runs/);
    await page.reload();
    await waitSaved(page, /0 images and 0 runs/);
    now = await classes(page);
    assert.deepEqual(now.counts, [0, 0]);
    assert.equal(await page.getByTestId('run-row').count(), 0);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('without IndexedDB the page says so and keeps working in memory', { timeout: 300_000 }, async () => {
  const init = () => {
    Object.defineProperty(window, 'indexedDB', {
      get() {
        throw new Error('IndexedDB is switched off in this test');
      },
    });
  };
  const app = await openApp({ webgpu: false, init });
  try {
    const { page } = app;
    const status = page.locator('[data-testid="save-status"][data-state="off"]');
    await status.waitFor({ timeout: 30_000 });
    assert.match(await status.innerText(), /Not saved.*switched off in this test.*reload starts empty/s);
    assert.equal(await page.getByTestId('save-status').count(), 1, 'one message');
    assert.ok(await page.getByTestId('save-clear').isDisabled());

    const picture = (seed) => png(30, 30, (x, y) => [(x * seed) % 256, (y * 7) % 256, 90]);
    await page.getByTestId('class-files').nth(0).setInputFiles([
      { name: 'a.png', mimeType: 'image/png', buffer: picture(3) },
      { name: 'b.png', mimeType: 'image/png', buffer: picture(5) },
    ]);
    await page.locator('[data-testid="class-count"][data-count="2"]').waitFor({ timeout: 30_000 });

    // A page served without the samples says what to run, and keeps the classes.
    await page.route('**/samples/manifest.json', (route) => route.fulfill({ status: 404, body: 'not found' }));
    await page.getByTestId('samples-load').click();
    await page.locator('[data-testid="samples-status"][data-state="failed"]').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('samples-status').innerText(), /not on this server.*404.*serve\.sh/s);
    assert.deepEqual((await classes(page)).counts, [2, 0]);
    await page.unroute('**/samples/manifest.json');

    // The samples replace classes that hold pictures only after a confirmation.
    page.once('dialog', (d) => d.dismiss());
    await page.getByTestId('samples-load').click();
    await page.waitForTimeout(500);
    assert.deepEqual((await classes(page)).counts, [2, 0], 'declining keeps the classes');
    page.once('dialog', (d) => d.accept());
    await page.getByTestId('samples-load').click();
    await page.locator('[data-testid="samples-status"][data-state="done"]').waitFor({ timeout: 60_000 });
    assert.equal((await classes(page)).names.length, 3);
    assert.equal(await page.getByTestId('save-status').getAttribute('data-state'), 'off');
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a full store and unreadable saved data each give one message; the page goes on', { timeout: 300_000 }, async () => {
  // Writes of image files fail as a full store does, until the test lifts the limit.
  const init = () => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (value, key) {
      if (!window.__roomy && typeof key === 'string' && key.startsWith('image/')) {
        throw new DOMException('no room in this test', 'QuotaExceededError');
      }
      return put.call(this, value, key);
    };
  };
  const app = await openApp({ webgpu: false, init });
  try {
    const { page } = app;
    await waitSaved(page, /0 images and 0 runs/);
    const picture = (seed) => png(30, 30, (x, y) => [(x * seed) % 256, (y * 11) % 256, 40]);
    await page.getByTestId('class-files').nth(1).setInputFiles([
      { name: 'c.png', mimeType: 'image/png', buffer: picture(3) },
      { name: 'd.png', mimeType: 'image/png', buffer: picture(7) },
    ]);
    const failed = page.locator('[data-testid="save-status"][data-state="failed"]');
    await failed.waitFor({ timeout: 30_000 });
    assert.match(await failed.innerText(), /not saved.*storage for this page is full.*no room in this test/s);
    assert.deepEqual((await classes(page)).counts, [0, 2], 'the pictures stay on the page');

    // With room again, the next change saves everything, and a reload finds it.
    await page.evaluate(() => { window.__roomy = true; });
    await page.getByTestId('class-name').nth(1).fill('dots');
    await waitSaved(page, /2 images and 0 runs/);
    // A file an interrupted save would leave behind is removed at the next start.
    await store(page, 'put', 'image/999', 'left over');
    await page.reload();
    await waitSaved(page, /2 images and 0 runs/);
    assert.deepEqual(await classes(page), { names: ['Class 1', 'dots'], counts: [0, 2], thumbs: [0, 2] });
    assert.deepEqual((await store(page, 'keys')).sort(), ['image/0', 'image/1', 'index']);

    // A tampered record (a picture's record number the last u64, which has no next) is left out
    // with one message naming it; the rest loads.
    const index = JSON.parse(await store(page, 'get', 'index'));
    index.classes[1].images[0].file = 'LAST';
    const tampered = JSON.stringify(index).replace('"LAST"', '18446744073709551615');
    await store(page, 'put', 'index', tampered);
    await page.reload();
    const partial = page.locator('[data-testid="save-status"][data-state="partial"]');
    await partial.waitFor({ timeout: 30_000 });
    assert.match(await partial.innerText(), /1 saved record could not be read and was left out: a picture of class "dots".*18446744073709551615 is outside the record numbers/s);
    assert.deepEqual((await classes(page)).counts, [0, 1], 'the other picture loads');

    // An index this page cannot read is left alone until cleared.
    await store(page, 'put', 'index', '{"format": 99}');
    await page.reload();
    const unreadable = page.locator('[data-testid="save-status"][data-state="unreadable"]');
    await unreadable.waitFor({ timeout: 30_000 });
    assert.match(await unreadable.innerText(), /format 99/);
    page.once('dialog', (d) => d.accept());
    await page.getByTestId('save-clear').click();
    await waitSaved(page, /0 images and 0 runs/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
