#!/usr/bin/env python3
"""Makes tests/fixtures/torch/run_*: run files exported by our engine (`bpt-lab train`) on the
tiny fixture models, and the logits PyTorch computes from them with bpt_lab_torch.py, so that a
Rust test can check that BPT Lab and PyTorch agree on what a run file means.

Run by hand, not in CI (torch, timm and transformers; see make_torch_fixtures.py for the venv),
after `cargo build --release --bin bpt-lab`:
    path/to/torchvenv/bin/python scripts/torch/make_run_fixtures.py [--bin target/release/bpt-lab]

For each model (timm naming with a head on the class token; timm with mean pooling and fc_norm;
HF Dinov2Model), every method shallow and, but head-only, deep, trains four epochs (lr 0.2) on eight
generated pictures (seed 0) and is exported as `run_{model}_{method}[_deep].safetensors`; its
`.logits.safetensors` holds `pixel_values` (two normalised inputs, seeded) and `logits` from
PyTorch. The models with other prefix tokens than one class token (timm's DINOv2 with registers
at 28 px, distilled DeiT, HF Dinov2WithRegisters, timm's gap model without a class token) get
head-only, VPT and BPT-bilinear, shallow.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpt_lab_torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "torch")
MODELS = {"timm": "timm_vit_ls", "timm_avg": "timm_vit_avg", "dinov2": "hf_dinov2",
          "reg4": "timm_hub_reg4", "distilled": "timm_hub_distilled", "hfreg": "hf_dinov2_registers",
          "gap": "timm_hub_gap"}
# The side each model is trained and checked at (a multiple of its patch).
SIZES = {"reg4": 28}
# Models with prefix tokens beyond the class token: the prompt's place and the pooling are what
# they check, so head-only, VPT and shallow BPT-bilinear suffice.
PREFIX_MODELS = {"reg4", "distilled", "hfreg", "gap"}
METHODS = ["head", "vpt", "bpt-fwhiten", "bpt-twhiten", "bpt-bilinear"]


def pictures(folder):
    """Two classes of four 40 x 36 noise pictures, reddish and bluish."""
    g = torch.Generator().manual_seed(0)
    for label, tint in [("red", (170, 30, 30)), ("blue", (30, 30, 170))]:
        os.makedirs(os.path.join(folder, label), exist_ok=True)
        for i in range(4):
            noise = (torch.rand(36, 40, 1, generator=g) * 70).to(torch.uint8)
            pixels = (torch.tensor(tint, dtype=torch.uint8) + noise).numpy()
            Image.fromarray(pixels).save(os.path.join(folder, label, f"{i}.png"))


def model_dir(case, tmp):
    """A folder with the fixture's model.safetensors and config.json (as bpt-lab reads them)."""
    d = os.path.join(tmp, case)
    os.makedirs(d, exist_ok=True)
    for kind, name in [("model.safetensors", f"{case}.model.safetensors"), ("config.json", f"{case}.config.json")]:
        target = os.path.join(d, kind)
        if not os.path.exists(target):
            os.symlink(os.path.join(FIXTURES, name), target)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "bpt-lab"))
    ap.add_argument("--models", default=",".join(MODELS),
                    help="which models' runs to make (the others' files stay as they are)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        pictures(data)
        for short in args.models.split(","):
            case = MODELS[short]
            d = model_dir(case, tmp)
            backbone = bpt_lab_torch.load_backbone(d)
            size = SIZES.get(short, 32)
            inputs = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(5))
            for method in METHODS:
                for deep in ([False] if method == "head" else [False, True]):
                    if short == "timm_avg" and (deep or method in ("bpt-fwhiten", "bpt-twhiten")):
                        continue  # the pooling is what this model checks
                    if short in PREFIX_MODELS and (deep or method in ("bpt-fwhiten", "bpt-twhiten")):
                        continue
                    name = f"run_{short}_{method.replace('-', '_')}{'_deep' if deep else ''}"
                    out = os.path.join(tmp, name)
                    cmd = [args.bin, "train", "--backend", "cpu", "--model", f"{d}/model.safetensors",
                           "--config", f"{d}/config.json", "--data", data, "--holdout", "0.25",
                           "--method", method, "--epochs", "4", "--batch", "4", "--size", str(size),
                           "--prompts", "3", "--rank", "4", "--whiten-images", "8", "--lr", "0.2",
                           "--seed", "0", "--out", out] + (["--deep"] if deep else [])
                    subprocess.run(cmd, check=True, capture_output=True)
                    run_path = os.path.join(FIXTURES, f"{name}.safetensors")
                    with open(os.path.join(out, "run.safetensors"), "rb") as src, open(run_path, "wb") as dst:
                        dst.write(src.read())
                    run = bpt_lab_torch.load_run(run_path)
                    model = bpt_lab_torch.PromptedViT(backbone, run).eval()
                    with torch.no_grad():
                        logits = model(inputs)
                    save_file({"pixel_values": inputs.contiguous(), "logits": logits.contiguous()},
                              os.path.join(FIXTURES, f"{name}.logits.safetensors"))
                    print(name, tuple(logits.shape), logits[0].tolist())


if __name__ == "__main__":
    main()
