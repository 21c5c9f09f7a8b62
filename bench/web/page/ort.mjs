// The peer side of the browser benchmark: ONNX Runtime Web on its WebGPU execution provider,
// timed like BPT Lab's ?bench page. Query: model (an ONNX file under /onnx/), size, batches,
// warmup, iters. One iteration = upload a fresh batch (the same xorshift32 images as ours),
// session.run, the output read back to the page (ORT returns CPU tensors); warm-up excluded.
// One session per batch size with its dimensions fixed (freeDimensionOverrides), the most
// favourable set-up for ORT. The result lands in window.__ortBench.
import * as ort from '/ort-dist/ort.webgpu.min.mjs';
import { batchImages } from '/lib/images.mjs';
import { summarize } from '/lib/report.mjs';

const q = new URLSearchParams(location.search);
const model = q.get('model') ?? 'backbone.onnx';
const size = Number(q.get('size') ?? 224);
const batches = (q.get('batches') ?? '1,8').split(',').map(Number);
const warmup = Number(q.get('warmup') ?? 1);
const iters = Number(q.get('iters') ?? 3);
const status = (s) => (document.querySelector('[data-testid=bench-status]').textContent = s);

async function run() {
  ort.env.wasm.wasmPaths = '/ort-dist/';
  ort.env.wasm.numThreads = 1; // no cross-origin isolation here, so no wasm threads anyway
  const bytes = new Uint8Array(await (await fetch(`/onnx/${model}`)).arrayBuffer());
  const forward = [];
  let adapter = null;
  for (const batch of batches) {
    status(`${model}: session for batch ${batch}`);
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['webgpu'],
      freeDimensionOverrides: { batch_size: batch, height: size, width: size },
      graphOptimizationLevel: 'all',
    });
    adapter ??= ort.env.webgpu?.adapter?.info ?? null;
    const input = session.inputNames[0];
    const times = [];
    let firstSum = null;
    for (let i = 0; i < warmup + iters; i++) {
      status(`${model}: batch ${batch}, iteration ${i + 1}`);
      const x = new ort.Tensor('float32', batchImages(batch, size, i), [batch, 3, size, size]);
      const start = performance.now();
      const out = await session.run({ [input]: x });
      const y = out[session.outputNames[0]];
      const data = await y.getData();
      const elapsed = performance.now() - start;
      let sum = 0;
      for (const v of data) sum += v;
      if (!Number.isFinite(sum)) throw new Error(`${model} output sums to ${sum}`);
      firstSum ??= sum;
      if (i >= warmup) times.push(elapsed);
    }
    forward.push({ ...summarize(batch, times), extra: { output_sum_iter0: firstSum } });
    await session.release();
  }
  return {
    runtime: `onnxruntime-web ${ort.env.versions?.web ?? ''}`.trim(),
    provider: 'webgpu',
    adapter: adapter ? `${adapter.vendor} ${adapter.architecture} ${adapter.description}`.trim() : null,
    model,
    size,
    warmup,
    forward,
  };
}

run()
  .catch((e) => ({ error: String(e?.stack ?? e) }))
  .then((doc) => {
    const text = JSON.stringify(doc);
    window.__ortBench = text;
    document.querySelector('[data-testid=bench-result]').textContent = text;
    status('done');
  });
