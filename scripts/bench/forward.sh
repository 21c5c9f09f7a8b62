#!/usr/bin/env bash
# The forward-pass benchmark of BENCHMARKS.md: builds `bpt-lab` in release, runs
# `bpt-lab bench forward` on the CPU backend and on wgpu, runs the same models in PyTorch (timm,
# eager f32, CPU) with scripts/bench/forward_torch.py, and prints one Markdown table with the
# ours/PyTorch ratios. JSON results and the load average land in $OUT (default /tmp/bench-forward).
#
# PyTorch runs with as many threads as the machine has cores (`nproc`), and once more with one
# thread, because burn's CPU backend as this crate builds it runs on one core (see BENCHMARKS.md).
# Needs the venv of forward_torch.py's header (TORCH_PYTHON, default /tmp/torchvenv/bin/python).
#
# Before timing, forward_torch.py --check runs `bpt-lab embed` and timm on one image and stops
# unless the DINOv2-S tokens agree to 1e-3 (the same weights on both sides).
#
# Knobs (environment): ITERS, WARMUP, MAX_SECONDS for ours-cpu and torch (defaults 10, 2, 20);
# WGPU_ITERS, WGPU_WARMUP, WGPU_MAX_SECONDS for wgpu (defaults 3, 1, 30); WGPU_MODELS and
# WGPU_BATCHES restrict the wgpu cases (on a software GPU such as lavapipe a ViT-B batch of 8 takes
# minutes); BACKENDS=cpu skips wgpu altogether. MAX_SECONDS stops a case's timed iterations once
# they add up to that many seconds (at least one runs); the table shows the count that ran.
set -euo pipefail
cd "$(dirname "$0")/../.."

export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
PY="${TORCH_PYTHON:-/tmp/torchvenv/bin/python}"
OUT="${OUT:-/tmp/bench-forward}"
ITERS="${ITERS:-10}" WARMUP="${WARMUP:-2}" MAX_SECONDS="${MAX_SECONDS:-20}"
WGPU_ITERS="${WGPU_ITERS:-3}" WGPU_WARMUP="${WGPU_WARMUP:-1}" WGPU_MAX_SECONDS="${WGPU_MAX_SECONDS:-30}"
WGPU_MODELS="${WGPU_MODELS:-dinov2-s,vit-b16}" WGPU_BATCHES="${WGPU_BATCHES:-1,8}"
BACKENDS="${BACKENDS:-cpu,wgpu}"
THREADS="$(nproc)"
mkdir -p "$OUT"

# The executable's own path: with a shared CARGO_TARGET_DIR, target/release/bpt-lab may be
# another checkout's build. BPT_LAB=path skips the build and uses that binary.
BIN="${BPT_LAB:-}"
if [[ -z "$BIN" ]]; then
  BIN="$(cargo build --release --bin bpt-lab --message-format=json \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m["target"]["name"] == "bpt-lab":
        print(m["executable"])')"
fi
echo "binary: $BIN" >&2

"$PY" scripts/bench/forward_torch.py --model dinov2-s --batch 1 --iters 1 --warmup 0 \
  --check "$BIN" >/dev/null

load() { echo "$1 $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/load.txt"; }
: >"$OUT/load.txt"
load start
ours=()
"$BIN" bench forward --backend cpu --iters "$ITERS" --warmup "$WARMUP" \
  --max-seconds "$MAX_SECONDS" --json >"$OUT/ours-cpu.json"
ours+=("$OUT/ours-cpu.json")
load after-ours-cpu
if [[ ",$BACKENDS," == *",wgpu,"* ]]; then
  "$BIN" bench forward --backend wgpu --model "$WGPU_MODELS" --batch "$WGPU_BATCHES" \
    --iters "$WGPU_ITERS" --warmup "$WGPU_WARMUP" --max-seconds "$WGPU_MAX_SECONDS" \
    --json >"$OUT/ours-wgpu.json" 2> >(grep -v XDG_RUNTIME_DIR >&2)
  ours+=("$OUT/ours-wgpu.json")
  load after-ours-wgpu
fi
for t in "$THREADS" 1; do
  "$PY" scripts/bench/forward_torch.py --threads "$t" --iters "$ITERS" --warmup "$WARMUP" \
    --max-seconds "$MAX_SECONDS" --json >"$OUT/torch-${t}t.json"
  load "after-torch-${t}t"
done

echo "machine: $THREADS cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); torch threads: $THREADS and 1"
echo "load average (1, 5, 15 min):"; sed 's/^/  /' "$OUT/load.txt"
python3 scripts/bench/compare.py "${ours[@]}" -- "$OUT/torch-${THREADS}t.json" "$OUT/torch-1t.json"
