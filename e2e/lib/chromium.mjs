// Debian's Chromium (never a downloaded browser) and the flags every headless launch here uses,
// for the browser tests and the browser benchmark (bench/web). No dependencies, so both
// packages can import it. SwiftShader provides WebGPU without a GPU once --enable-unsafe-webgpu
// is given.
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const QUIET = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export function chromiumArgs({ webgpu }) {
  return webgpu ? [...QUIET, '--enable-unsafe-webgpu'] : [...QUIET];
}
