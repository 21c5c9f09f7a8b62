import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, summarize, ratio, forwardRows, markdown } from '../lib/report.mjs';
import { values } from '../lib/images.mjs';

test('the median takes the middle value or the mean of the middle two', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.throws(() => median([]));
});

test('images per second come from the median batch time', () => {
  const s = summarize(8, [400, 100, 200]);
  assert.equal(s.ms_median, 200);
  assert.equal(s.images_per_s, 40);
  assert.deepEqual([s.ms_min, s.ms_max, s.iters], [100, 400, 3]);
});

test('the ratio is ours over the peer and refuses missing or zero speeds', () => {
  assert.equal(ratio(30, 20), 1.5);
  assert.equal(ratio(30, 0), null);
  assert.equal(ratio(30, undefined), null);
});

test('forward rows pair each of our batches with the peer of the same batch', () => {
  const ours = { forward: [summarize(1, [100]), summarize(8, [400])] };
  const backbone = { forward: [summarize(8, [200]), summarize(1, [50])] };
  const rows = forwardRows(ours, backbone, null);
  assert.deepEqual(rows.map((r) => r.ratioBackbone), [0.5, 0.5]);
  assert.equal(rows[0].ratioFull, null);
  assert.match(markdown(rows, null), /\| forward, batch 8 \| 20\.0 \(400, 400-400, 1\)/);
});

test('a failed training step is shown as such, not as a number', () => {
  const rows = forwardRows({ forward: [summarize(1, [100])] }, null, null);
  assert.match(markdown(rows, { batch: 1, error: 'the loss is NaN' }), /failed: the loss is NaN/);
});

test('the images are the xorshift32 stream of the Rust selfcheck_values', () => {
  // First values of seed 1, computed from the Rust formula by hand:
  // xorshift32(1) = 270369, >> 8 = 1056, * 2^-22 - 2.
  const v = values(2, 1);
  assert.equal(v[0], Math.fround(1056 / 4194304 - 2));
  assert.ok(v.every((x) => x >= -2 && x < 2));
});
