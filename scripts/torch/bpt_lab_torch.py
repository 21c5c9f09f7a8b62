#!/usr/bin/env python3
"""Use a BPT Lab run file in PyTorch: the learned prompts and head on a timm
`VisionTransformer` (distilled DeiT and registers included) or a transformers `ViTModel` /
`Dinov2Model` / `Dinov2WithRegistersModel` with the same weights.

A run file (`bpt-lab train`'s run.safetensors, or one the page exports) holds `prompt.{k}.tokens`
(the prompt tokens P~ of set k: one set for shallow prompts, one per block for deep ones; none
for a head-only run), `head.weight` [classes, D] and `head.bias`, and in its metadata (`bpt_lab`)
the method, the class names, the input size, the normalisation, the evaluation crop and the
pooling. The forward pass here is BPT Lab's:

- shallow prompts are inserted after the prefix tokens (class, distillation, registers), before
  block 0;
- deep prompts: before every block k the previous block's prompt outputs are replaced by set k;
- the head reads the class token after the final norm (`pool: token`; for distilled DeiT the
  mean of the class and distillation tokens), or the mean of every token after the prefix,
  prompts included, after one norm (`fc_norm` when the model has it, else the final norm;
  `pool: avg`); a model without a class token (timm's gap) averages its final-norm tokens.

In Python:

    import timm, torch
    from bpt_lab_torch import PromptedViT, load_run, preprocess
    run = load_run("run.safetensors")
    model = PromptedViT(timm.create_model("vit_small_patch16_224.augreg_in21k", pretrained=True), run)
    x = preprocess(run, "photo.jpg")[None]          # [1, 3, size, size]
    probs = model(x).softmax(-1)                    # [1, classes], in run["classes"] order

From the shell:

    python scripts/torch/bpt_lab_torch.py predict --run R --model-dir D IMAGE...

where D holds `model.safetensors` and `config.json` (timm or HF naming, as BPT Lab reads them).
Needs torch, numpy, safetensors, pillow, and timm or transformers for the model.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file


def load_run(path):
    """The run's tensors and settings: a dict with `tokens` (list of [m, D] tensors), `head_weight`,
    `head_bias` and the metadata's fields (`classes`, `size`, `mean`, `std`, `pool`, ...)."""
    tensors = load_file(path)
    with safe_open(path, framework="pt") as f:
        meta = json.loads(f.metadata()["bpt_lab"])
    sets = sorted(int(k.split(".")[1]) for k in tensors if k.startswith("prompt.") and k.endswith(".tokens"))
    meta["tokens"] = [tensors[f"prompt.{k}.tokens"] for k in sets]
    meta["head_weight"], meta["head_bias"] = tensors["head.weight"], tensors["head.bias"]
    return meta


def preprocess(run, image):
    """The run's evaluation view of a PIL image or a path: resize the shorter side to
    floor(size / crop_pct), centre crop, normalise. [3, size, size]."""
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        image = Image.open(image)
    image = image.convert("RGB")
    size = run["size"]
    short = max(size, math.floor(size / run.get("crop_pct", 0.875)))
    w, h = image.size
    new = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
    filt = Image.BILINEAR if run.get("interpolation") == "bilinear" else Image.BICUBIC
    image = image.resize(new, filt)
    left, top = round((new[0] - size) / 2), round((new[1] - size) / 2)
    image = image.crop((left, top, left + size, top + size))
    x = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1) / 255
    mean, std = torch.tensor(run["mean"]).view(3, 1, 1), torch.tensor(run["std"]).view(3, 1, 1)
    return (x - mean) / std


class PromptedViT(torch.nn.Module):
    """A frozen ViT with a run's prompts and head. `backbone` is a timm VisionTransformer, or a
    transformers ViTModel, Dinov2Model, Dinov2WithRegistersModel or ViTForImageClassification
    (its `.vit` is used)."""

    def __init__(self, backbone, run):
        super().__init__()
        self.backbone = getattr(backbone, "vit", backbone)
        self.tokens = [t.float() for t in run["tokens"]]
        self.deep = bool(run["deep"]) and len(self.tokens) > 1
        self.pool = run["pool"]
        self.head = torch.nn.Linear(run["head_weight"].shape[1], run["head_weight"].shape[0])
        with torch.no_grad():
            self.head.weight.copy_(run["head_weight"])
            self.head.bias.copy_(run["head_bias"])
        self.timm = hasattr(self.backbone, "patch_embed")
        if self.timm:
            self.class_token = self.backbone.cls_token is not None
            self.prefix = self.backbone.num_prefix_tokens
            self.class_tokens = 2 if getattr(self.backbone, "dist_token", None) is not None else 1
        else:
            self.class_token = True
            self.prefix = 1 + getattr(self.backbone.config, "num_register_tokens", 0)
            self.class_tokens = 1

    def _embed_and_blocks(self, x):
        b = self.backbone
        if self.timm:
            x = b._pos_embed(b.patch_embed(x))
            x = b.norm_pre(x)
            blocks = list(b.blocks)
        else:
            x = b.embeddings(x)
            blocks = list(b.encoder.layer)
        prefix = self.prefix
        current = 0
        for i, blk in enumerate(blocks):
            if self.tokens and (i == 0 or self.deep):
                p = self.tokens[i if self.deep else 0].to(x.dtype).expand(x.shape[0], -1, -1)
                x = torch.cat([x[:, :prefix], p, x[:, prefix + current:]], dim=1)
                current = p.shape[1]
            out = blk(x)
            x = out[0] if isinstance(out, tuple) else out
        return x

    def _norms(self):
        b = self.backbone
        if self.timm:
            norm = None if isinstance(b.norm, torch.nn.Identity) else b.norm
            fc = None if isinstance(b.fc_norm, torch.nn.Identity) else b.fc_norm
            return norm, fc
        return b.layernorm, None

    def features(self, x):
        """The pooled features the head reads: [B, D]."""
        x = self._embed_and_blocks(x)
        norm, fc = self._norms()
        if self.pool == "avg" and not self.class_token:
            # A model without a class token (timm's gap) pools its final-norm tokens.
            x = norm(x) if norm is not None else x
            pooled = x[:, self.prefix:].mean(dim=1)
            return fc(pooled) if fc is not None else pooled
        if self.pool == "avg":
            pooled = x[:, self.prefix:].mean(dim=1)
            pooled = fc(pooled) if fc is not None else (norm(pooled) if norm is not None else pooled)
            return pooled
        x = norm(x) if norm is not None else x
        pooled = x[:, :self.class_tokens].mean(dim=1)
        return fc(pooled) if fc is not None else pooled

    def forward(self, x):
        """Logits [B, classes] of normalised images [B, 3, size, size]."""
        return self.head(self.features(x))


def load_backbone(model_dir):
    """The model in `model_dir` (model.safetensors + config.json), built by timm for a timm
    config and by transformers for an HF one, with the weights loaded strictly."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    state = load_file(os.path.join(model_dir, "model.safetensors"))
    if "hidden_size" in config:
        import transformers

        cls = {"dinov2": transformers.Dinov2Model,
               "dinov2_with_registers": transformers.Dinov2WithRegistersModel}.get(
            config.get("model_type"), transformers.ViTModel)
        if any(k.startswith("vit.") for k in state):
            cls = transformers.ViTForImageClassification
        model = cls(cls.config_class(**config))
    else:
        import timm

        if "architecture" in config:  # as timm's save_for_hf writes it for the Hub
            model = timm.create_model(config["architecture"], pretrained=False, dynamic_img_size=True,
                                      **config.get("model_args", {}))
        else:  # VisionTransformer's own arguments
            args = dict(config)
            args.pop("pretrained_cfg", None)
            model = timm.models.vision_transformer.VisionTransformer(**args, dynamic_img_size=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description="BPT Lab run files in PyTorch")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="class probabilities of images")
    p.add_argument("--run", required=True)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--top", type=int, default=3)
    p.add_argument("images", nargs="+")
    args = ap.parse_args()
    run = load_run(args.run)
    model = PromptedViT(load_backbone(args.model_dir), run).eval()
    with torch.no_grad():
        x = torch.stack([preprocess(run, path) for path in args.images])
        probs = model(x).softmax(-1)
    for path, row in zip(args.images, probs):
        top = row.topk(min(args.top, len(run["classes"])))
        shown = ", ".join(f"{run['classes'][i]} {100 * v:.1f}%" for v, i in zip(top.values.tolist(), top.indices.tolist()))
        print(f"{path}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
