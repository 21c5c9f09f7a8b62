#!/usr/bin/env python3
"""Makes tests/fixtures/torch/: tiny random-weight ViTs built by timm and transformers, with their
inputs and outputs, so our loaders and forward pass are checked against the real libraries.

Run by hand, not in CI (PyTorch is a 3 GB install):
    python3 -m venv path/to/torchvenv && path/to/torchvenv/bin/pip install torch timm transformers safetensors
    path/to/torchvenv/bin/python scripts/model/make_torch_fixtures.py [CASE...]

Each case writes CASE.model.safetensors (the state dict, as the library names it),
CASE.config.json (timm VisionTransformer arguments, the config.json timm's `save_for_hf` writes for
a Hub repository, or an HF config) and CASE.io.safetensors
(`pixel_values_HxW`, `tokens_HxW` = final-norm tokens, and `logits_HxW` where there is a head).
Weights are drawn at random (seeded) at a larger scale than the libraries' init, so that every
parameter, LayerScale included, changes the output.
"""

import json
import os
import sys
import tempfile

import timm
import torch
import transformers
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "torch")


def randomise(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 1.0 if p.ndim == 1 and ("norm" in name or "layernorm" in name) else 0.2
            base = 1.0 if scale == 1.0 and name.endswith("weight") else 0.0
            p.copy_(base + scale * torch.randn(p.shape, generator=generator) * (0.5 if base else 1.0))
    return model.eval()


def images(seed, shapes):
    generator = torch.Generator().manual_seed(seed)
    return {f"{b}x{h}x{w}": torch.randn(b, 3, h, w, generator=generator) for b, h, w in shapes}


def save(case, state, config, io):
    save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(OUT, f"{case}.model.safetensors"))
    with open(os.path.join(OUT, f"{case}.config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(OUT, f"{case}.io.safetensors"))
    print(case, {k: tuple(v.shape) for k, v in io.items()})


def timm_case():
    args = dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, mlp_ratio=2.0,
                init_values=0.1, num_classes=5, global_pool="token")
    model = randomise(timm.models.vision_transformer.VisionTransformer(**args, dynamic_img_size=True), 1)
    io = {}
    # 32x32 is the trained grid; 24x40 resamples the 4x4 position grid to 3x5 (antialiased).
    for key, x in images(2, [(2, 32, 32), (1, 24, 40)]).items():
        size = "x".join(key.split("x")[1:])
        with torch.no_grad():
            tokens = model.forward_features(x)
            logits = model.forward_head(tokens)
        io[f"pixel_values_{size}"], io[f"tokens_{size}"], io[f"logits_{size}"] = x, tokens, logits
    save("timm_vit_ls", model.state_dict(), args, io)


def timm_avg_case():
    """Mean pooling as timm does it for global_pool='avg': no final `norm`, an `fc_norm` applied
    after averaging the non-class tokens. `pre_logits` is the pooled, normalised feature."""
    args = dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, mlp_ratio=2.0,
                num_classes=4, global_pool="avg")
    model = randomise(timm.models.vision_transformer.VisionTransformer(**args, dynamic_img_size=True), 7)
    assert "fc_norm.weight" in model.state_dict() and "norm.weight" not in model.state_dict()
    io = {}
    for key, x in images(8, [(2, 32, 32)]).items():
        size = "x".join(key.split("x")[1:])
        with torch.no_grad():
            tokens = model.forward_features(x)
            io[f"pre_logits_{size}"] = model.forward_head(tokens, pre_logits=True)
            logits = model.forward_head(tokens)
        io[f"pixel_values_{size}"], io[f"tokens_{size}"], io[f"logits_{size}"] = x, tokens, logits
    save("timm_vit_avg", model.state_dict(), args, io)


def dinov2_case():
    config = transformers.Dinov2Config(hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
                                       mlp_ratio=4, patch_size=8, image_size=32, layerscale_value=0.1,
                                       layer_norm_eps=1e-6)
    model = randomise(transformers.Dinov2Model(config), 3)
    io = {}
    for key, x in images(4, [(2, 32, 32), (1, 24, 40)]).items():
        size = "x".join(key.split("x")[1:])
        with torch.no_grad():
            tokens = model(pixel_values=x).last_hidden_state
        io[f"pixel_values_{size}"], io[f"tokens_{size}"] = x, tokens
    save("hf_dinov2", model.state_dict(), json.loads(config.to_json_string()), io)


def hf_vit_case():
    config = transformers.ViTConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
                                    intermediate_size=96, patch_size=8, image_size=32, num_labels=4)
    model = randomise(transformers.ViTForImageClassification(config), 5)
    io = {}
    for key, x in images(6, [(2, 32, 32)]).items():
        size = "x".join(key.split("x")[1:])
        with torch.no_grad():
            tokens = model.vit(pixel_values=x).last_hidden_state
            logits = model(pixel_values=x).logits
        io[f"pixel_values_{size}"], io[f"tokens_{size}"], io[f"logits_{size}"] = x, tokens, logits
    save("hf_vit_classifier", model.state_dict(), json.loads(config.to_json_string()), io)


def timm_hub_case(case, name, args, seed, sizes):
    """A timm model by its Hub name, saved as `save_for_hf` writes it for the Hub: the config
    holds the architecture's name, `model_args` for what we shrank (width, depth, heads, side)
    and `pretrained_cfg`. Outputs at a side other than the native one come from the same weights
    in a model built with `dynamic_img_size=True` (timm's antialiased resampling)."""
    model = randomise(timm.create_model(name, pretrained=False, **args), seed)
    with tempfile.TemporaryDirectory() as d:
        timm.models.save_for_hf(model, d, safe_serialization=True)
        with open(os.path.join(d, "config.json")) as f:
            config = json.load(f)
    dynamic = timm.create_model(name, pretrained=False, dynamic_img_size=True, **args).eval()
    dynamic.load_state_dict(model.state_dict())
    io = {}
    for key, x in images(seed + 1, sizes).items():
        size = "x".join(key.split("x")[1:])
        net = model if x.shape[-1] == args["img_size"] and x.shape[-2] == args["img_size"] else dynamic
        with torch.no_grad():
            tokens = net.forward_features(x)
            if net.num_classes:
                io[f"logits_{size}"] = net.forward_head(tokens)
            # What a prompt-tuning head reads: the checkpoint's head before its linear layer.
            io[f"pre_logits_{size}"] = net.forward_head(tokens, pre_logits=True).clone()
        io[f"pixel_values_{size}"], io[f"tokens_{size}"] = x, tokens
    save(case, model.state_dict(), config, io)


HUB_CASES = {
    # DINOv2 in timm: patch 14, LayerScale, a 518 px name shrunk to 56 px; 42 px resamples 4x4 to 3x3.
    "timm_hub_dinov2": ("vit_small_patch14_dinov2.lvd142m", 11, [(2, 56, 56), (1, 42, 42)]),
    # Patch 32 at a 384 px name shrunk to 64 px, with the in1k head.
    "timm_hub_patch32": ("vit_small_patch32_384.augreg_in21k_ft_in1k", 13, [(2, 64, 64), (1, 32, 64)]),
    # MAE weights as timm publishes them: a plain ViT-B name, no head.
    "timm_hub_mae": ("vit_base_patch16_224.mae", 15, [(2, 48, 48)]),
    # DeiT (not distilled): timm's VisionTransformer under another family name.
    "timm_hub_deit": ("deit_small_patch16_224.fb_in1k", 17, [(2, 48, 48), (1, 32, 48)]),
    # DINOv2 with 4 registers: no position rows for the prefix tokens (no_embed_class).
    "timm_hub_reg4": ("vit_small_patch14_reg4_dinov2.lvd142m", 21, [(2, 56, 56), (1, 42, 56)]),
    # No class token: the head reads the mean of the final-norm patch tokens.
    "timm_hub_gap": ("vit_medium_patch16_gap_256", 27, [(2, 64, 64), (1, 48, 64)]),
    # Distilled DeiT: class and distillation tokens, logits the mean of head and head_dist.
    "timm_hub_distilled": ("deit_small_distilled_patch16_224.fb_in1k", 23, [(2, 48, 48), (1, 32, 48)]),
}


def hf_published_case(case, model, seed, sizes):
    """An HF model's tokens at `sizes`, saved with the config.json `save_pretrained` writes."""
    io = {}
    for key, x in images(seed, sizes).items():
        size = "x".join(key.split("x")[1:])
        with torch.no_grad():
            tokens = model(pixel_values=x).last_hidden_state
        io[f"pixel_values_{size}"], io[f"tokens_{size}"] = x, tokens
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        with open(os.path.join(d, "config.json")) as f:
            saved = json.load(f)
    save(case, model.state_dict(), saved, io)


def hf_vit_pooler_case():
    """HF ViTModel with its pooler (`pooler.dense`), which prompt tuning does not use: the
    loader skips and lists it."""
    config = transformers.ViTConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
                                    intermediate_size=96, patch_size=8, image_size=32)
    model = randomise(transformers.ViTModel(config, add_pooling_layer=True), 19)
    assert "pooler.dense.weight" in model.state_dict()
    hf_published_case("hf_vit_pooler", model, 20, [(2, 32, 32)])


def hf_dinov2_registers_case():
    """HF Dinov2WithRegistersModel: the position table covers the class token and the patches;
    the registers come after the class token, with no position."""
    config = transformers.Dinov2WithRegistersConfig(hidden_size=48, num_hidden_layers=2,
                                                    num_attention_heads=3, mlp_ratio=4, patch_size=8,
                                                    image_size=32, layerscale_value=0.1,
                                                    num_register_tokens=4)
    model = randomise(transformers.Dinov2WithRegistersModel(config), 25)
    hf_published_case("hf_dinov2_registers", model, 26, [(2, 32, 32), (1, 24, 40)])


def hf_vit_mae_case():
    """HF ViTMAEForPreTraining as save_pretrained writes it: the encoder under `vit.` (fixed
    sine-cosine positions) and the decoder beside it, which the loader skips. The reference tokens
    are the encoder's with nothing masked and the patches in order (mask_ratio 0, noise rising)."""
    config = transformers.ViTMAEConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
                                       intermediate_size=96, patch_size=8, image_size=32, mask_ratio=0.0,
                                       decoder_hidden_size=32, decoder_num_hidden_layers=1,
                                       decoder_num_attention_heads=2, decoder_intermediate_size=64)
    model = randomise(transformers.ViTMAEForPreTraining(config), 27)
    io = {}
    x = images(28, [(2, 32, 32)])["2x32x32"]
    noise = torch.arange(16, dtype=torch.float32).repeat(2, 1)
    with torch.no_grad():
        io["pixel_values_32x32"] = x
        io["tokens_32x32"] = model.vit(pixel_values=x, noise=noise).last_hidden_state
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        with open(os.path.join(d, "config.json")) as f:
            saved = json.load(f)
    save("hf_vit_mae", model.state_dict(), saved, io)


def main():
    os.makedirs(OUT, exist_ok=True)
    print(f"torch {torch.__version__}, timm {timm.__version__}, transformers {transformers.__version__}")
    cases = {"timm_vit_ls": timm_case, "timm_vit_avg": timm_avg_case, "hf_dinov2": dinov2_case,
             "hf_vit_classifier": hf_vit_case, "hf_vit_pooler": hf_vit_pooler_case,
             "hf_dinov2_registers": hf_dinov2_registers_case, "hf_vit_mae": hf_vit_mae_case}
    shrunk = dict(embed_dim=48, depth=2, num_heads=3)
    for case, (name, seed, sizes) in HUB_CASES.items():
        cases[case] = (lambda case=case, name=name, seed=seed, sizes=sizes:
                       timm_hub_case(case, name, dict(shrunk, img_size=sizes[0][1]), seed, sizes))
    # Names on the command line make only those cases (the others' files stay as they are).
    for name in sys.argv[1:] or cases:
        cases[name]()


if __name__ == "__main__":
    main()
