// The committed summary of the browser benchmark (bench/results/browser.json): per case the
// median milliseconds per batch of ours, of ONNX Runtime Web on backbone.onnx (forward) and of
// our build before the kernels (training step, and forward where measured), with the ratios.

const ms = (doc, batch) => doc?.forward?.find((c) => c.batch === batch)?.ms_median ?? null;
const trainMs = (doc) => (doc?.train_step && !doc.train_step.error ? doc.train_step.ms_median : null);
// How many times faster `ours` is than `other` (both in ms): above 1 means we are faster.
const speedup = (other, ours) => (other > 0 && ours > 0 ? other / ours : null);

export function resultSummary({ date, commit, beforeCommit, chromium, device, size, warmup, iters, ours, burnOps, before, ort }) {
  const cases = ours.forward.map((c) => ({
    case: 'forward',
    batch: c.batch,
    ours_ms: c.ms_median,
    ort_ms: ms(ort, c.batch),
    before_ms: ms(before, c.batch),
    burn_ops_ms: ms(burnOps, c.batch),
    vs_ort: speedup(ms(ort, c.batch), c.ms_median),
    vs_before: speedup(ms(before, c.batch), c.ms_median),
  }));
  if (ours.train_step) {
    const t = ours.train_step;
    cases.push({
      case: 'train_step',
      batch: t.batch,
      ours_ms: trainMs(ours),
      before_ms: trainMs(before),
      burn_ops_ms: trainMs(burnOps),
      vs_before: speedup(trainMs(before), trainMs(ours)),
      ...(t.error ? { error: t.error } : {}),
    });
  }
  return {
    date,
    commit,
    before_commit: beforeCommit,
    device: device || ours.adapter || null,
    chromium,
    ort_runtime: ort?.runtime ?? null,
    kernels: ours.kernels ?? null,
    size,
    warmup,
    iters,
    cases,
  };
}

const msCell = (x) => (x == null ? '-' : Math.round(x).toString());
const times = (x) => (x == null ? '-' : `${x.toFixed(2)}x`);

export function resultMarkdown(summary) {
  const lines = [
    '| case | ours (ms) | ORT Web, backbone.onnx (ms) | ours before (ms) | ours, burn ops (ms) | ours vs ORT | ours vs before |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const c of summary.cases) {
    const name = c.case === 'forward' ? `forward, batch ${c.batch}` : `VPT training step, batch ${c.batch}`;
    lines.push(
      `| ${name} | ${msCell(c.ours_ms)} | ${msCell(c.ort_ms)} | ${msCell(c.before_ms)} | ${msCell(c.burn_ops_ms)} | ${times(c.vs_ort)} | ${times(c.vs_before)} |`,
    );
  }
  return lines.join('\n');
}
