#!/usr/bin/env python3
"""Makes tests/fixtures/torch/preprocess.{png,safetensors}: one photo-like PNG and the evaluation
tensors that timm and transformers make of it from a model's preprocessing config, so our
normalisation, crop and filter are checked against the libraries'.

Run by hand, not in CI (see make_torch_fixtures.py for the venv):
    /tmp/torchvenv/bin/python scripts/model/make_preprocess_fixture.py

Cases:
- `timm_*`: timm's eval transform (`resolve_data_config` + `create_transform`) for the
  pretrained_cfg of timm/vit_small_patch16_224.augreg_in21k (mean and std 0.5, crop_pct 0.9,
  bicubic) at 32 px; the config is stored as `timm_config` in the metadata.
- `hf_*`: transformers' BitImageProcessor as facebook/dinov2-small configures it (resize the
  shorter side to 36, centre crop 32, bicubic, ImageNet mean and std); the processor's JSON is
  stored as `hf_preprocessor`.
The picture itself is tests/fixtures/torch/preprocess.png.
"""

import io
import json
import os

import numpy as np
import timm
import timm.data
import transformers
from PIL import Image
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "torch", "preprocess.safetensors")


def photo():
    """A 75 x 61 RGB picture with smooth gradients and sharp edges (so filters differ)."""
    y, x = np.mgrid[0:61, 0:75]
    r = 255 * (x / 74)
    g = 255 * (0.5 + 0.5 * np.sin(y / 5.0))
    b = np.where((x // 9 + y // 7) % 2 == 0, 230, 20)
    img = np.stack([r, g, b], axis=-1).round().clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def main():
    png = photo()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    timm_config = {"architecture": "vit_small_patch16_224", "img_size": 32,
                   "pretrained_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "crop_pct": 0.9,
                                      "interpolation": "bicubic", "input_size": [3, 32, 32]}}
    data_cfg = timm.data.resolve_data_config(pretrained_cfg=timm_config["pretrained_cfg"])
    transform = timm.data.create_transform(**data_cfg, is_training=False)
    timm_tensor = transform(image)

    hf = {"crop_size": {"height": 32, "width": 32}, "do_center_crop": True, "do_normalize": True,
          "do_rescale": True, "do_resize": True, "image_mean": [0.485, 0.456, 0.406],
          "image_std": [0.229, 0.224, 0.225], "resample": 3, "rescale_factor": 1 / 255,
          "size": {"shortest_edge": 36}}
    processor = transformers.BitImageProcessor(**hf)
    hf_tensor = processor(images=image, return_tensors="pt")["pixel_values"][0]

    with open(OUT.replace(".safetensors", ".png"), "wb") as f:
        f.write(png)
    tensors = {
        "timm_pixel_values": timm_tensor.contiguous(),
        "hf_pixel_values": hf_tensor.contiguous(),
    }
    meta = {"timm_config": json.dumps(timm_config), "hf_preprocessor": json.dumps(hf),
            "versions": f"timm {timm.__version__}, transformers {transformers.__version__}"}
    save_file(tensors, OUT, metadata=meta)
    print(OUT, {k: tuple(v.shape) for k, v in tensors.items()}, data_cfg)


if __name__ == "__main__":
    main()
