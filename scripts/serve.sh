#!/usr/bin/env bash
# Installs what is missing, builds the page in release mode and serves it on
# http://127.0.0.1:8080 (open it in a WebGPU browser). Extra arguments go to `trunk serve`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_web_tools
ensure_default_model
ensure_samples
log "trunk serve --release: the first build takes a while; then open http://127.0.0.1:8080"
exec trunk serve --release "$@"
