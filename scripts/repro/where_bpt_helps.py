#!/usr/bin/env python3
"""The backbones side by side: burstiness at block 0 (from `bpt-lab analyse`), the linear probe's
strength (head-only's held-out accuracy) and BPT's gains over VPT and over head-only, at 20% of the
steps and at the end, with their 95% intervals and the training loss's (from `bpt-lab compare`'s
main grid). Writes a Markdown table and one plot: BPT's gain at the end against X~'s kurtosis.

Usage (standard library only):
    python3 scripts/repro/where_bpt_helps.py --out docs/repro/where-bpt-helps \\
        --backbone "DINOv2-S" docs/repro/fmnist112-main/compare.json docs/repro/analysis-dinov2.json \\
        --backbone "MAE (ours)" ... --backbone "Supervised (ours)" ...
"""

import argparse
import json
import os

METHODS = [("bpt-fwhiten", "BPT-fWhiten", "#c0392b"), ("bpt-bilinear", "BPT-bilinear", "#2c6fbb"),
           ("bpt-bilinear:b-init=xavier", "BPT-bilinear, Xavier B", "#7a4fb0")]


def estimate(e, scale=100.0, digits=1):
    if not e:
        return "n/a"
    return f"{e['mean'] * scale:+.{digits}f} ± {e['half_width'] * scale:.{digits}f}"


def kurtosis(analysis, key):
    return analysis[key]["excess_kurtosis"]


def rows(backbones):
    burst = ["| Backbone | X | W_q W_k^T | X~ | X~ whitened (held out) | head-only accuracy, 20% / end |",
             "|---|---|---|---|---|---|"]
    gains = ["| Backbone | Method | minus VPT, 20% | minus VPT, end | minus head-only, 20% | "
             "minus head-only, end | loss minus VPT, 20% | loss minus VPT, end |",
             "|---|---|---|---|---|---|---|---|"]
    for label, report, analysis in backbones:
        by = {m["method"]: m for m in report["summary"]["methods"]}
        head = by["head"]
        held = analysis.get("x_tilde_whitened_held_out", analysis["x_tilde_whitened"])
        burst.append(f"| {label} | {kurtosis(analysis, 'x'):.1f} | {kurtosis(analysis, 'wq_wk'):.1f} | "
                     f"{kurtosis(analysis, 'x_tilde'):.1f} | {held['excess_kurtosis']:.1f} | "
                     f"{head['early']['mean'] * 100:.1f} / {head['last']['mean'] * 100:.1f}% |")
        for key, name, _ in METHODS:
            m = by.get(key)
            if not m:
                continue
            vpt, hd, loss = m.get("minus_vpt") or {}, m.get("minus_head") or {}, m.get("loss_minus_vpt") or {}
            gains.append(f"| {label} | {name} | {estimate(vpt.get('early'))} | {estimate(vpt.get('last'))} | "
                         f"{estimate(hd.get('early'))} | {estimate(hd.get('last'))} | "
                         f"{estimate(loss.get('early'), 1, 3)} | {estimate(loss.get('last'), 1, 3)} |")
    return "\n".join(burst) + "\n\nAccuracy differences in points, 95% intervals over the (draw, seed) " \
        "pairs; excess kurtosis (0 for a Gaussian).\n\n" + "\n".join(gains) + "\n"


def plot(backbones, path):
    """Two panels (minus VPT, minus head-only), BPT's gain at the end in points against X~'s
    excess kurtosis, with the intervals as bars."""
    points = []
    for label, report, analysis in backbones:
        by = {m["method"]: m for m in report["summary"]["methods"]}
        k = kurtosis(analysis, "x_tilde")
        for key, _, colour in METHODS:
            m = by.get(key)
            if m:
                points.append((label, k, colour, m.get("minus_vpt"), m.get("minus_head")))
    w, h, pad, gap = 360, 270, 48, 40
    xs = [p[1] for p in points]
    x0, x1 = min(xs) - 0.5, max(xs) + 0.5
    ys = [v * 100 for p in points for d in (p[3], p[4]) if d for v in
          (d["last"]["mean"] - d["last"]["half_width"], d["last"]["mean"] + d["last"]["half_width"])] + [0.0]
    y0, y1 = min(ys) - 1, max(ys) + 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w + gap}" height="{h + 30}" '
           f'font-family="sans-serif" font-size="11">']
    for panel, (title, which) in enumerate([("BPT minus VPT at the end (points)", 3),
                                            ("BPT minus head-only at the end (points)", 4)]):
        ox = panel * (w + gap)
        sx = lambda x: ox + pad + (x - x0) / (x1 - x0) * (w - pad - 10)  # noqa: E731
        sy = lambda y: 20 + (y1 - y) / (y1 - y0) * (h - 50)  # noqa: E731
        out.append(f'<text x="{ox + pad}" y="12" font-weight="bold">{title}</text>')
        out.append(f'<line x1="{sx(x0)}" x2="{sx(x1)}" y1="{sy(0)}" y2="{sy(0)}" stroke="#888" '
                   f'stroke-dasharray="3,3"/>')
        out.append(f'<line x1="{sx(x0)}" x2="{sx(x0)}" y1="{sy(y1)}" y2="{sy(y0)}" stroke="#333"/>')
        for t in range(int(y0), int(y1) + 1):
            if t % max(1, int((y1 - y0) // 6)) == 0:
                out.append(f'<text x="{sx(x0) - 4}" y="{sy(t) + 4}" text-anchor="end">{t}</text>')
        out.append(f'<text x="{ox + pad + (w - pad) / 2}" y="{h - 8}" text-anchor="middle">'
                   f'excess kurtosis of X~ at block 0</text>')
        seen = set()
        for i, (label, k, colour, vpt, head) in enumerate(points):
            d = (vpt, head)[which - 3]
            if not d:
                continue
            jitter = (i % 3 - 1) * 0.06 * (x1 - x0)
            mean, half = d["last"]["mean"] * 100, d["last"]["half_width"] * 100
            x = sx(k + jitter)
            out.append(f'<line x1="{x}" x2="{x}" y1="{sy(mean - half)}" y2="{sy(mean + half)}" stroke="{colour}"/>')
            out.append(f'<circle cx="{x}" cy="{sy(mean)}" r="3.5" fill="{colour}"/>')
            if label not in seen:
                seen.add(label)
                # Backbones with close kurtoses: their labels on alternate lines.
                out.append(f'<text x="{sx(k)}" y="{sy(y0) + 14 + 12 * (len(seen) % 2)}" '
                           f'text-anchor="middle">{label} ({k:.1f})</text>')
    for i, (_, name, colour) in enumerate(METHODS):
        out.append(f'<circle cx="{pad + i * 150}" cy="{h + 20}" r="4" fill="{colour}"/>'
                   f'<text x="{pad + i * 150 + 8}" y="{h + 24}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbone", nargs=3, action="append", required=True,
                    metavar=("LABEL", "COMPARE_JSON", "ANALYSIS_JSON"))
    ap.add_argument("--out", required=True, help="writes OUT.md and OUT.svg")
    args = ap.parse_args()
    backbones = []
    for label, report, analysis in args.backbone:
        with open(report) as f, open(analysis) as g:
            backbones.append((label, json.load(f), json.load(g)))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(f"{args.out}.md", "w") as f:
        f.write(rows(backbones))
    plot(backbones, f"{args.out}.svg")
    print(open(f"{args.out}.md").read())


if __name__ == "__main__":
    main()
