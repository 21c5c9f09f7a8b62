// Static file servers on 127.0.0.1 and a free port (WebGPU needs a secure context, which
// http://127.0.0.1 is): the built page (dist/) for the browser tests, and several folders under
// URL prefixes for the browser benchmark (bench/web), which imports this file.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.json': 'application/json',
  '.safetensors': 'application/octet-stream',
};

// mounts: [[url prefix, folder]], longest prefix first; '/' last. A path ending in '/' serves
// that folder's index.html.
export async function serve(mounts) {
  const roots = mounts.map(([prefix, dir]) => [prefix, resolve(dir)]);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [prefix, base] = roots.find(([p]) => path.startsWith(p)) ?? [];
    if (!base) return res.writeHead(404).end();
    const rest = path.slice(prefix.length);
    const file = normalize(join(base, rest === '' || rest.endsWith('/') ? `${rest}index.html` : rest));
    if (!file.startsWith(base)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

// The built page at /.
export async function serveDist(root) {
  const base = resolve(root);
  await stat(join(base, 'index.html')).catch(() => {
    throw new Error(`${base}/index.html is missing: run \`trunk build --release\` first`);
  });
  const server = await serve([['/', base]]);
  return { ...server, url: `${server.url}/` };
}
