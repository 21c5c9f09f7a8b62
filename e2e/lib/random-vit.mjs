// A random-weight timm ViT checkpoint written at run time (never committed): the tensors a
// timm VisionTransformer has for the config (class token, qkv bias, no LayerScale, no head), in
// f32, values from a seeded xorshift, so a test can load a model of the size users bring.

// The config file's JSON, timm-style.
export function vitConfig({ imgSize = 224, patch = 16, dim = 768, depth = 12, heads = 12 } = {}) {
  return { img_size: imgSize, patch_size: patch, embed_dim: dim, depth, num_heads: heads, num_classes: 0 };
}

function shapes(c) {
  const d = c.embed_dim, h = 4 * d, p = c.patch_size, n = (c.img_size / p) ** 2;
  const list = [
    ['cls_token', [1, 1, d]], ['pos_embed', [1, 1 + n, d]],
    ['patch_embed.proj.weight', [d, 3, p, p]], ['patch_embed.proj.bias', [d]],
    ['norm.weight', [d]], ['norm.bias', [d]],
  ];
  for (let i = 0; i < c.depth; i++) {
    for (const [name, shape] of [
      ['norm1.weight', [d]], ['norm1.bias', [d]], ['attn.qkv.weight', [3 * d, d]], ['attn.qkv.bias', [3 * d]],
      ['attn.proj.weight', [d, d]], ['attn.proj.bias', [d]], ['norm2.weight', [d]], ['norm2.bias', [d]],
      ['mlp.fc1.weight', [h, d]], ['mlp.fc1.bias', [h]], ['mlp.fc2.weight', [d, h]], ['mlp.fc2.bias', [d]],
    ]) list.push([`blocks.${i}.${name}`, shape]);
  }
  return list;
}

// The safetensors bytes (a Buffer) for `config`, and the number of values.
export function randomVit(config, seed = 1) {
  const list = shapes(config);
  const header = {};
  let offset = 0;
  for (const [name, shape] of list) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const out = Buffer.alloc(8 + text.length + offset);
  out.writeBigUInt64LE(BigInt(text.length), 0);
  out.write(text, 8, 'latin1');
  const values = new Float32Array(out.buffer, out.byteOffset + 8 + text.length, offset / 4);
  let s = seed >>> 0 || 1;
  let k = 0;
  for (const [name, shape] of list) {
    const count = shape.reduce((a, b) => a * b, 1);
    const one = /norm[12]?\.weight$/.test(name) ? 1 : 0;
    for (let i = 0; i < count; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      values[k++] = one + ((s / 4294967296) - 0.5) * 0.04;
    }
  }
  return { bytes: out, values: offset / 4 };
}

// A file whose header declares one tensor of `values` f32 values and holds none of them.
export function declaredOnly(values) {
  let text = JSON.stringify({ 'huge.weight': { dtype: 'F32', shape: [values], data_offsets: [0, 4 * values] } });
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const out = Buffer.alloc(8 + text.length);
  out.writeBigUInt64LE(BigInt(text.length), 0);
  out.write(text, 8, 'latin1');
  return out;
}
