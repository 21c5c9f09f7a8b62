#!/usr/bin/env python3
"""Joins the JSON of `bpt-lab bench forward` (one file per backend) and of forward_torch.py (one
file per thread count) into one Markdown table with ours/PyTorch ratios. Standard library only.

    python3 scripts/bench/compare.py ours-cpu.json ours-wgpu.json -- torch-2t.json torch-1t.json
"""

import json
import sys


def load(paths):
    docs = [json.load(open(p)) for p in paths]
    return docs, [r for d in docs for r in d["results"]]


def main():
    split = sys.argv.index("--")
    _, ours = load(sys.argv[1:split])
    torch_docs, _ = load(sys.argv[split + 1:])
    backends = sorted({r["backend"] for r in ours})
    torch_runs = [(d["threads"], {(r["model"], r["batch"]): r for r in d["results"]}) for d in torch_docs]
    cases = sorted({(r["model"], r["batch"]) for r in ours}, key=lambda c: (c[0] != "dinov2-s", c))
    head = ["model", "batch"]
    head += [f"ours {b} img/s (ms/batch, min-max, iters)" for b in backends]
    head += [f"torch {t}T img/s (ms/batch, min-max, iters)" for t, _ in torch_runs]
    head += [f"ours {b} / torch {t}T" for b in backends for t, _ in torch_runs]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    cell = lambda r: (f"{r['images_per_s']:.2f} ({r['ms_per_batch_median']:.0f}, "
                      f"{r['ms_per_batch_min']:.0f}-{r['ms_per_batch_max']:.0f}, {r['iters']})") if r else "-"
    for model, batch in cases:
        mine = {b: next((r for r in ours if (r["model"], r["batch"], r["backend"]) == (model, batch, b)), None)
                for b in backends}
        theirs = [runs.get((model, batch)) for _, runs in torch_runs]
        row = [model, str(batch)] + [cell(mine[b]) for b in backends] + [cell(t) for t in theirs]
        for b in backends:
            for t in theirs:
                row.append(f"{mine[b]['images_per_s'] / t['images_per_s']:.3f}" if mine[b] and t else "-")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
