#!/usr/bin/env bash
# Installs what is missing, then runs every check: format, clippy (native and wasm32), the native
# tests (CPU backend and wgpu on lavapipe), the scripts' own tests, the release web build, and the
# browser tests.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_apt mesa-vulkan-drivers libvulkan1
ensure_rust
ensure_e2e_deps
ensure_default_model
ensure_samples

# Installing trunk, wasm-bindgen and leptosfmt (a fresh machine only) overlaps the native steps: cargo
# leaves cores idle while single crates compile, and the two fill each other's gaps.
tools_log=$(mktemp)
ensure_test_tools >"$tools_log" 2>&1 &
tools_pid=$!
trap 'kill "$tools_pid" 2>/dev/null || true' EXIT
wait_for_web_tools() {
  if ! wait "$tools_pid"; then
    cat "$tools_log"
    echo "installing the web build tools failed (log above)" >&2
    exit 1
  fi
  cat "$tools_log"
}

# Native wgpu tests run on Vulkan (lavapipe when there is no GPU).
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

timings=()
step() {
  local name=$1 start=$SECONDS
  shift
  log "$name"
  "$@"
  timings+=("$(printf '%-22s %4ds' "$name" $((SECONDS - start)))")
}

step "format" cargo fmt --check
step "clippy (native)" cargo clippy --locked --all-targets -- -D warnings
step "clippy (wasm32)" cargo clippy --locked --target wasm32-unknown-unknown --lib --bin bpt-lab-web -- -D warnings
step "native tests" cargo test --locked
python_tests() {
  for dir in scripts/pretrain scripts/bench; do python3 -m unittest discover -s "$dir" -p 'test_*.py'; done
}
step "script tests" python_tests
step "web tools" wait_for_web_tools
step "format (view!)" leptosfmt --check --quiet src/app
step "web build" trunk build --release
step "browser tests" npm --prefix e2e test
step "benchmark report (node)" node --test bench/web/test/

log "timings"
printf '  %s\n' "${timings[@]}"
