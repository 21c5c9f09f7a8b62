#!/usr/bin/env bash
# Installs what is missing, then runs every check: format, clippy (native and wasm32), the native
# tests (CPU backend and wgpu on lavapipe), the release web build, and the browser tests.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_apt mesa-vulkan-drivers libvulkan1
ensure_web_tools
ensure_e2e_deps

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
step "web build" trunk build --release
step "browser tests" npm --prefix e2e test

log "timings"
printf '  %s\n' "${timings[@]}"
