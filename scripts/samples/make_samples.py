#!/usr/bin/env python3
"""Sample images for the page's "Sample images" button, from Debian's dataset-fashion-mnist
(Zalando's Fashion-MNIST, Expat/MIT licence): the first PER_CLASS test images of a few classes,
written as 28x28 grayscale PNGs with a manifest the page reads.

Writes OUT/manifest.json and OUT/<class>/<n>.png. Standard library only; a second run with the
same settings leaves the folder as it is.

Usage: python3 scripts/samples/make_samples.py [OUT=static/samples] [SOURCE=/usr/share/datasets/fashion-mnist]
"""

import gzip
import json
import os
import shutil
import struct
import sys
import zlib

# Fashion-MNIST label -> (folder, class name); three classes a ViT tells apart in a few steps.
CLASSES = {0: ("t-shirt", "T-shirt"), 1: ("trouser", "Trouser"), 7: ("sneaker", "Sneaker")}
PER_CLASS = 12
FORMAT = 1

SET = {
    "name": "Fashion-MNIST",
    "source": "Debian package dataset-fashion-mnist (test split, first images of each class)",
    "url": "https://github.com/zalandoresearch/fashion-mnist",
    "licence": "MIT (Expat), Copyright 2017 Zalando SE",
}


def read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise SystemExit(f"{path}: not an IDX file of the expected kind (magic {found:#x})")
    dims = struct.unpack(f">{magic & 0xFF}I", data[4 : 4 + 4 * (magic & 0xFF)])
    return dims, data[4 + 4 * len(dims) :]


def png_gray(width, height, pixels):
    """An 8-bit grayscale PNG (no filtering) of `pixels`, row-major bytes."""

    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(b"\0" + pixels[y * width : (y + 1) * width] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "static/samples"
    source = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"
    manifest_path = os.path.join(out, "manifest.json")
    wanted = {"format": FORMAT, "per_class": PER_CLASS, "labels": sorted(CLASSES)}
    try:
        with open(manifest_path) as f:
            if json.load(f).get("made_with") == wanted:
                print(f"{out}: sample images already there")
                return
    except (OSError, ValueError):
        pass

    (n, h, w), images = read_idx(os.path.join(source, "t10k-images-idx3-ubyte.gz"), 0x803)
    (n_labels,), labels = read_idx(os.path.join(source, "t10k-labels-idx1-ubyte.gz"), 0x801)
    if n != n_labels:
        raise SystemExit(f"{source}: {n} images but {n_labels} labels")
    shutil.rmtree(out, ignore_errors=True)
    classes = []
    for label, (folder, name) in CLASSES.items():
        os.makedirs(os.path.join(out, folder))
        picked = [i for i in range(n) if labels[i] == label][:PER_CLASS]
        if len(picked) < PER_CLASS:
            raise SystemExit(f"{source}: only {len(picked)} images of class {name}")
        files = []
        for k, i in enumerate(picked):
            rel = f"{folder}/{k:02d}.png"
            with open(os.path.join(out, rel), "wb") as f:
                f.write(png_gray(w, h, images[i * h * w : (i + 1) * h * w]))
            files.append(rel)
        classes.append({"name": name, "set": 0, "files": files})
    manifest = {"made_with": wanted, "sets": [SET], "classes": classes}
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"{out}: {len(classes)} classes x {PER_CLASS} images from {SET['name']}")


main()
