#!/usr/bin/env python3
"""Pretrain a small ViT on the 60,000 training images of Fashion-MNIST, as an MAE (self-supervised,
no labels) or as its supervised twin (the same network, the same budget, with labels), and save it as
timm's `save_for_hf` does, so BPT Lab loads it like any timm checkpoint.

The encoder is timm's own `VisionTransformer` (`vit_tiny_patch16_224` with `model_args` for the size:
28 px, patch 4, width 192, 6 blocks, 3 heads, `global_pool='avg'` with `fc_norm`, as timm's MAE
fine-tuning models pool). Both modes share it, its fixed 2-D sine-cosine position table (MAE's), the
augmentation (a random crop with 2 px padding, one offset per batch; horizontal flips) and the
optimiser; only the objective differs.

MAE, after He et al. 2022 ("Masked Autoencoders Are Scalable Vision Learners", arXiv:2111.06377,
and facebookresearch/mae's main_pretrain.py / models_mae.py), scaled down:
- 75% of the patches masked at random per image; the encoder sees the rest and the class token;
- a light decoder (width 128, 2 blocks, 4 heads; theirs 512, 8, 16) with a learned mask token and
  its own fixed sine-cosine table, predicting the masked patches' pixels;
- the loss on the masked patches only, on per-patch normalised pixels (`norm_pix_loss`);
- AdamW, betas (0.9, 0.95), weight decay 0.05 except norms, biases, the class token and tables;
  linear warm-up then cosine decay to 0 per step.
- Changed for a run of minutes, not days: batch 256 (theirs 4096), rate 1e-3 (their 1.5e-4 per 256
  is for 800 epochs), warm-up 1 epoch (theirs 40), crop-with-padding instead of RandomResizedCrop
  (0.2, 1) on 28 px pictures. The encoder's last LayerNorm, which feeds the decoder, is saved as
  `fc_norm`: timm applies it to the mean of the patch tokens, where MAE's fine-tuning starts a new
  one.

Supervised: the same encoder with a linear head over the pooled features, cross-entropy with label
smoothing 0.1 (DeiT's), the same optimiser and schedule. The head is not shipped (num_classes 0).

Pictures are grey; the network takes RGB (the grey channel three times), normalised by the training
set's mean and standard deviation, which the config records for the loader.

Output (OUT): model.safetensors, config.json, log.json (loss per epoch, wall time, the test split's
loss or accuracy, the command), features.json (a fixed input and the pooled features the saved
weights give, for the loader's test) and, for MAE, reconstruction.png. They are written to a fresh
folder beside OUT and moved into place at the end, so a stopped run leaves no half-written
checkpoint and the previous OUT untouched.

Usage (from the repository root; needs torch, timm, safetensors and pillow):
    python3 scripts/pretrain/fashion_mnist_vit.py --mode mae --epochs N --out static/models/fmnist-vit-mae
    python3 scripts/pretrain/fashion_mnist_vit.py --mode supervised --epochs N \\
        --out static/models/fmnist-vit-sup
Reads Debian's dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`) or `--data DIR` with
the four idx files.
"""

import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "repro"))
from fashion_mnist import DATA, read_idx  # noqa: E402

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's 60,000 training pixels, in [0, 1]
SIDE, PATCH = 28, 4
IDX = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def idx_paths(data):
    """The four idx files under `data` (gzipped or not), or a message naming what is missing."""
    found, missing = {}, []
    for name in IDX:
        for cand in (f"{data}/{name}.gz", f"{data}/{name}"):
            if os.path.isfile(cand):
                found[name] = cand
                break
        else:
            missing.append(name)
    if missing:
        return None, (f"{data} holds no Fashion-MNIST images: {', '.join(missing)} (.gz or not) missing; "
                      "apt-get install dataset-fashion-mnist, or pass --data with the four idx files")
    return found, None


def write_atomically(out, write):
    """Calls write(folder) on a fresh folder beside `out`, then swaps it in. If write raises or the
    process is stopped, `out` keeps its previous contents and the fresh folder is removed (or, on a
    kill, left under a name ending in .partial-PID, never as `out`)."""
    parent = os.path.dirname(os.path.abspath(out)) or "."
    os.makedirs(parent, exist_ok=True)
    fresh = f"{os.path.abspath(out)}.partial-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    os.makedirs(fresh)
    try:
        write(fresh)
        old = f"{os.path.abspath(out)}.old-{os.getpid()}"
        if os.path.exists(out):
            os.replace(out, old)
        os.replace(fresh, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["mae", "supervised"], required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--width", type=int, default=192)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup-epochs", type=float, default=1.0)
    ap.add_argument("--mask-ratio", type=float, default=0.75)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (a timing trial)")
    args = ap.parse_args()
    paths, problem = idx_paths(args.data)
    if problem:
        sys.exit(problem)
    if args.epochs < 1:
        sys.exit("--epochs must be at least 1")
    import train  # torch is needed from here on only
    train.run(args, paths, write_atomically, read_idx, (MEAN, STD, SIDE, PATCH), sys.argv)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
