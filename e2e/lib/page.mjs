// One page of the built app per test, with page errors and panics collected.
import { serveDist } from './serve.mjs';
import { launch } from './browser.mjs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';

const DIST = process.env.BPT_DIST ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

// `init`, when given, is a function (or a list of them) run in the page before its own scripts
// (Playwright's addInitScript), on every load. `args`: extra Chromium flags (see launch).
export async function openApp({ webgpu, init, args }) {
  const server = await serveDist(DIST);
  const browser = await launch({ webgpu, args });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /panicked/.test(m.text())) errors.push(`panic: ${m.text()}`);
  });
  for (const script of [init ?? []].flat()) await page.addInitScript(script);
  await page.goto(server.url);
  return {
    page,
    errors,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

// Opens the details of a card at the top of the page, the GPU's (`gpu-details-toggle`) or the
// model's with its loaders (`model-change-toggle`), unless they are open already.
export async function openDetails(page, toggle) {
  const button = page.getByTestId(toggle);
  if (await button.getAttribute('aria-expanded') !== 'true') await button.click();
}

const TINY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'fixtures', 'torch');

// Loads the tiny timm fixture model (tests/fixtures/torch, 32x32 px, patch 8) from local files
// (opening the model card's loaders) and waits until it is ready.
export async function loadTinyModel(page, { as } = {}) {
  await openDetails(page, 'model-change-toggle');
  await page.locator('details.local-model[open]').count() || await page.locator('summary', { hasText: 'Load a local model' }).click();
  const weights = join(TINY, 'timm_vit_ls.model.safetensors');
  // `as`: the same weights under another file name (so the page names the model differently).
  await page.getByTestId('model-file').setInputFiles(as
    ? { name: `${as}.safetensors`, mimeType: 'application/octet-stream', buffer: await readFile(weights) }
    : weights);
  await page.getByTestId('model-config-file').setInputFiles(join(TINY, 'timm_vit_ls.config.json'));
  await page.getByTestId('model-load').click();
  await page.waitForFunction((expected) => {
    const state = document.querySelector('[data-testid="model-status"]')?.dataset.state;
    const name = document.querySelector('[data-testid="model-name"]')?.textContent ?? '';
    return state === 'failed' || (state === 'ready' && name.includes(expected));
  }, as ?? 'timm_vit_ls', { timeout: 120_000, polling: 250 });
  if (await page.getByTestId('model-status').getAttribute('data-state') !== 'ready') {
    throw new Error(`the tiny model did not load: ${await page.getByTestId('model-status').innerText()}`);
  }
}
