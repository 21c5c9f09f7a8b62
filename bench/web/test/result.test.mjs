import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resultMarkdown, resultSummary } from '../lib/result.mjs';
import { summarize } from '../lib/report.mjs';

const page = (forward, train) => ({ adapter: 'SwiftShader', forward: forward.map(([b, t]) => summarize(b, [t])), train_step: train });

test('the summary pairs every case with its peers by batch and states how many times faster we are', () => {
  const ours = page([[1, 100], [8, 400]], summarize(1, [1000]));
  const ort = page([[8, 800], [1, 150]], null);
  const before = page([[1, 300]], summarize(1, [5000]));
  const s = resultSummary({ date: 'd', commit: 'c', beforeCommit: 'b', chromium: 'x', size: 112, warmup: 1, iters: 1, ours, burnOps: null, before, ort });
  assert.deepEqual(s.cases.map((c) => c.case), ['forward', 'forward', 'train_step']);
  assert.deepEqual(s.cases.map((c) => c.ours_ms), [100, 400, 1000]);
  assert.deepEqual([s.cases[0].ort_ms, s.cases[1].ort_ms], [150, 800]);
  assert.deepEqual([s.cases[0].vs_ort, s.cases[1].vs_ort], [1.5, 2]);
  assert.equal(s.cases[0].vs_before, 3);
  assert.equal(s.cases[1].before_ms, null, 'no before figure for batch 8');
  assert.equal(s.cases[2].before_ms, 5000);
  assert.equal(s.cases[2].vs_before, 5);
  assert.equal(s.device, 'SwiftShader');
  assert.match(resultMarkdown(s), /\| VPT training step, batch 1 \| 1000 \| - \| 5000 \| - \| - \| 5.00x \|/);
});

test('a failed training step keeps its error and has no time', () => {
  const ours = page([[1, 100]], { batch: 1, error: 'lost' });
  const s = resultSummary({ date: 'd', commit: 'c', beforeCommit: null, chromium: 'x', size: 112, warmup: 1, iters: 1, ours, burnOps: null, before: null, ort: null });
  assert.deepEqual(s.cases[1], { case: 'train_step', batch: 1, ours_ms: null, before_ms: null, burn_ops_ms: null, vs_before: null, error: 'lost' });
});
