// One page of the built app per test, with page errors and panics collected.
import { serveDist } from './serve.mjs';
import { launch } from './browser.mjs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = process.env.BPT_DIST ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

// `init`, when given, is a function (or a list of them) run in the page before its own scripts
// (Playwright's addInitScript), on every load.
export async function openApp({ webgpu, init }) {
  const server = await serveDist(DIST);
  const browser = await launch({ webgpu });
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
