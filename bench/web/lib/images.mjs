// The benchmark's images, shared by the ONNX Runtime Web page and the tests: xorshift32 values
// mapped exactly to [-2, 2), the stream of the Rust `selfcheck_values` that BPT Lab's
// benchmark page feeds its own model (seed 1 + iteration). Works in node and in the browser.

export function values(count, seed) {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    out[i] = (s >>> 8) * (1 / 4194304) - 2;
  }
  return out;
}

// Iteration i's batch of `batch` images of side `size` (3 channels, NCHW).
export function batchImages(batch, size, i) {
  return values(batch * 3 * size * size, 1 + i);
}
