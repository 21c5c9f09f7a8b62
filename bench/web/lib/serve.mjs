// One static server on 127.0.0.1 (a secure context, as WebGPU needs) for both pages: BPT Lab's
// built dist/ at /, and for the peer its page at /ort/, its shared modules at /lib/,
// onnxruntime-web's files at /ort-dist/ and the ONNX files at /onnx/.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

// mounts: [[url prefix, folder]], longest prefix first; '/' last.
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
