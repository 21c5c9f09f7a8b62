// The browser profile of our forward pass: BPT Lab's page as ?bench&profile, which re-runs the
// pass stage by stage (model::profile) reading a value back after each stage, and prints
// milliseconds per stage with their shares. Environment as run.mjs: BPT_DIST, SIZE (56),
// BATCHES (1), WARMUP (1), ITERS (1), CHROMIUM, TIMEOUT_MIN (30).
import { chromium } from 'playwright-core';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../e2e/lib/serve.mjs';
import { CHROMIUM, chromiumArgs } from '../../e2e/lib/chromium.mjs';

// model::profile::STAGES, in the order of the pass (the page's JSON object sorts its keys).
const STAGES = ['upload + pos-embed', 'patch embed (conv)', 'layernorm x2', 'attn qkv linear',
  'attention (q k^T, softmax, x v)', 'attn proj linear + residual', 'mlp fc1 + gelu', 'mlp fc2 + residual'];
const here = dirname(fileURLToPath(import.meta.url));
const env = (k, d) => process.env[k] ?? d;
const server = await serve([['/', env('BPT_DIST', join(here, '..', '..', 'dist'))]]);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs({ webgpu: true }) });
try {
  const page = await browser.newPage();
  const q = `size=${env('SIZE', '56')}&batches=${env('BATCHES', '1')}&warmup=${env('WARMUP', '1')}&iters=${env('ITERS', '1')}`;
  await page.goto(`${server.url}/?bench&profile&${q}`);
  await page.waitForFunction(() => typeof window.__bptBench === 'string', null, {
    timeout: Number(env('TIMEOUT_MIN', '30')) * 60e3,
    polling: 1000,
  });
  const doc = JSON.parse(await page.evaluate(() => window.__bptBench));
  if (doc.error) throw new Error(doc.error);
  for (const p of doc.profile) {
    const total = Object.values(p.ms_per_stage).reduce((a, b) => a + b, 0);
    console.log(`${doc.size} px, batch ${p.batch}, median of ${p.passes} pass(es): ${total.toFixed(0)} ms (stages synchronised)`);
    console.log('| stage | ms per pass | share |\n| --- | ---: | ---: |');
    for (const name of STAGES) {
      const ms = p.ms_per_stage[name];
      console.log(`| ${name} | ${ms.toFixed(0)} | ${((100 * ms) / total).toFixed(1)} % |`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
