#!/usr/bin/env python3
"""The table of scripts/bench/gpu.sh: ours (wgpu) against PyTorch (CUDA, eager f32) and both as a
fraction of the GPU's f32 peak. Standard library only.

Inputs are the JSON outputs of `bpt-lab bench forward --json`, `bpt-lab bench train-step --json`
(one document per line), `forward_torch.py --json` and `train_step_torch.py --json`.

FLOPs (2 per multiply-add, matmuls and the patch convolution only):
- forward: the backbone on 1 + N tokens (N = (size / patch)^2), as `bpt-lab bench forward`
  computes `gflop_per_image`;
- training step: the forward pass on 1 + m + N tokens (m prompts) plus the backward pass, counted
  as one more forward pass: the backbone is frozen, so only the activations' gradients are
  computed (one matmul per forward matmul), not the weights'. The head and optimiser are
  negligible.
"""

import argparse
import json
import os
import sys

# f32 peaks (non-tensor-core FMA throughput) in TFLOP/s, from NVIDIA's data sheets. Matched in
# order against the lower-cased `nvidia-smi --query-gpu=name` (more specific names first).
F32_PEAK_TFLOPS = [
    ("h100 pcie", 51.0),
    ("h100 nvl", 60.0),
    ("h100", 67.0),  # SXM5 ("NVIDIA H100 80GB HBM3")
    ("h200 nvl", 60.0),
    ("h200", 67.0),
    ("gh200", 67.0),
    ("b200", 80.0),
    ("a100", 19.5),
    ("a10g", 31.2),
    ("a10", 31.2),
    ("l40s", 91.6),
    ("l40", 90.5),
    ("l4", 30.3),
    ("rtx 4090", 82.6),
    ("rtx 4080", 48.7),
    ("rtx 3090", 35.6),
    ("rtx a6000", 38.7),
    ("rtx 6000 ada", 91.1),
    ("v100", 15.7),
    ("t4", 8.1),
]


def f32_peak_tflops(gpu_name, override=None):
    """(TFLOP/s, where it came from), or (None, reason) for an unknown GPU without override."""
    if override:
        return float(override), "GPU_F32_TFLOPS"
    name = (gpu_name or "").lower()
    for key, peak in F32_PEAK_TFLOPS:
        if key in name:
            return peak, f"table ({key})"
    return None, f"unknown GPU {gpu_name!r}: set GPU_F32_TFLOPS"


def vit_gflop(config, size, extra_tokens=0):
    """Forward matmul + patch-conv GFLOP per image of a ViT `config` (timm keys, or the HF keys
    of our config.json) at `size` px with `extra_tokens` prompt tokens."""
    key = lambda timm, hf, default=None: config.get(timm, config.get(hf, default))
    d = key("embed_dim", "hidden_size")
    depth = key("depth", "num_hidden_layers")
    hidden = int(d * config.get("mlp_ratio", 4.0))
    p = config["patch_size"]
    c = key("in_chans", "num_channels", 3)
    n = (size // p) ** 2
    t = n + (1 if config.get("class_token", True) else 0) + extra_tokens
    patch = 2 * n * d * c * p * p
    linear = 2 * t * (4 * d * d + 2 * d * hidden)
    attention = 2 * 2 * t * t * d
    return (patch + depth * (linear + attention)) / 1e9


def train_step_gflop(config, size, prompts):
    return 2 * vit_gflop(config, size, prompts)


def ratio(ours, theirs):
    return ours / theirs if ours and theirs else None


def rows(ours_fwd, torch_fwd, ours_train, torch_train, config, peak):
    """Rows (case, ours img/s, torch img/s, ours/torch, ours % of peak, torch % of peak)."""
    out = []
    torch_by_batch = {r["batch"]: r for r in torch_fwd["results"] if r["model"] == "dinov2-s"}
    for r in ours_fwd["results"]:
        if r["model"] != "dinov2-s":
            continue
        t = torch_by_batch.get(r["batch"])
        g = r["gflop_per_image"]
        ti = t["images_per_s"] if t else None
        out.append((f"forward {r['size']} px, batch {r['batch']}", r["images_per_s"], ti, g))
    for o, t in zip(ours_train, torch_train):
        g = train_step_gflop(config, o["size"], o["prompts"])
        out.append((f"train step {o['method']} {o['size']} px, batch {o['batch']}",
                    o["images_per_s"], t["images_per_s"], g))
    table = []
    for case, ours, theirs, g in out:
        frac = (lambda ips: ips * g / (peak * 1e3) if peak and ips else None)
        table.append(dict(case=case, gflop_per_image=g, ours=ours, torch=theirs,
                          ratio=ratio(ours, theirs), ours_peak=frac(ours), torch_peak=frac(theirs)))
    return table


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="folder with ours-forward.json, torch-forward.json, "
                    "ours-train.jsonl, torch-train.jsonl")
    ap.add_argument("--config", required=True, help="the model's config.json")
    ap.add_argument("--gpu", default="", help="the GPU's name (nvidia-smi)")
    args = ap.parse_args()
    load = lambda name: json.load(open(os.path.join(args.dir, name)))
    lines = lambda name: [json.loads(l) for l in open(os.path.join(args.dir, name)) if l.strip()]
    config = json.load(open(args.config))
    peak, source = f32_peak_tflops(args.gpu, os.environ.get("GPU_F32_TFLOPS"))
    ours_fwd, torch_fwd = load("ours-forward.json"), load("torch-forward.json")
    table = rows(ours_fwd, torch_fwd, lines("ours-train.jsonl"), lines("torch-train.jsonl"), config, peak)
    adapter = ", ".join(f"{k}: {v}" for k, v in ours_fwd.get("adapters", {}).items())
    print(f"GPU: {args.gpu or '?'}; f32 peak {fmt(peak, '.1f')} TFLOP/s ({source})")
    print(f"ours: bpt-lab wgpu ({adapter}); PyTorch {torch_fwd.get('torch')} {torch_fwd.get('device')}, "
          "eager f32, TF32 off")
    print()
    print("| case | GFLOP/image | ours img/s | PyTorch img/s | ours / PyTorch | ours % of f32 peak | PyTorch % of f32 peak |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in table:
        pct = lambda x: fmt(x * 100 if x is not None else None, ".1f")
        print(f"| {r['case']} | {r['gflop_per_image']:.2f} | {fmt(r['ours'], '.1f')} | {fmt(r['torch'], '.1f')} "
              f"| {fmt(r['ratio'], '.3f')} | {pct(r['ours_peak'])} | {pct(r['torch_peak'])} |")
    json.dump(table, open(os.path.join(args.dir, "table.json"), "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
