// Capture data in the browser: the description (meta) plus binary sections, fetched from the server one layer or
// head at a time, or read from the bundle inlined in an offline page. See Data/ViewerData.cs for the sections.

export class CaptureData {
  /** meta: the capture description; loadSection(name) resolves to an ArrayBuffer slice holder or null. */
  constructor(meta, loadSection) {
    this.meta = meta;
    this.loadSection = loadSection;
    this.cache = new Map();
    this.exactCache = new Map();
    /** performance.now() when the data arrived: at once for a bundle, with the first section from a server. */
    this.arrived = null;
  }

  static fromServer(id, meta) {
    const data = new CaptureData(meta, async name => {
      const res = await fetch(`api/data/${encodeURIComponent(id)}/${name}`);
      if (!res.ok) throw new Error(`loading ${name}: HTTP ${res.status}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (data.arrived === null) {
        data.arrived = performance.now();
        performance.mark('attnscope:data-arrived');
      }
      return bytes;
    });
    return data;
  }

  /** Reads the offline page's base64 bundle ("ASVB", header length, JSON header, 8-aligned sections). */
  static fromBundle(base64) {
    const bytes = decodeBase64(base64.trim());
    const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
    if (magic !== 'ASVB') throw new Error('the embedded capture data is damaged');
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    const dataStart = Math.ceil((8 + headerLength) / 8) * 8;
    const data = new CaptureData(header.meta, async name => {
      const entry = header.sections[name];
      if (!entry) return null;
      return bytes.subarray(dataStart + entry[0], dataStart + entry[0] + entry[1]);
    });
    return data;
  }

  stack(name) {
    return this.meta.stacks.find(s => s.name === name);
  }

  queryTokens(stack) { return this.meta[this.stack(stack).queryAxis]; }
  keyTokens(stack) { return this.meta[this.stack(stack).keyAxis]; }

  cached(key, load) {
    if (!this.cache.has(key)) {
      const p = load();
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return this.cache.get(key);
  }

  /** One layer's attention (kind 'att') or norm-based attention (kind 'norm', when the stack has it), 8-bit with a
   *  scale per row (resolved once, then cached). */
  layer(stack, layer, kind = 'att') {
    return this.cached(`${kind}/${stack}/${layer}`, async () => {
      const s = this.stack(stack);
      const bytes = await this.loadSection(`${kind}/${stack}/${layer}`);
      if (!bytes) throw new Error(`this capture has no ${kind === 'norm' ? 'norm-based attention' : 'attention'} for ${stack} layer ${layer}`);
      return new LayerData(s, stack, layer, bytes, kind);
    });
  }

  /** The mean or max (mode) over the heads listed of one layer, as a one-head LayerData (from the 8-bit values). */
  combined(stack, layer, kind, mode, heads) {
    return this.cached(`comb/${kind}/${stack}/${layer}/${mode}/${heads.join(',')}`, async () => {
      const l = await this.layer(stack, layer, kind);
      const n = l.nq * l.nk, out = new Float32Array(n);
      for (const h of heads) {
        for (let q = 0; q < l.nq; q++) {
          const row = h * l.nq + q, f = l.scales[row] / 255, base = row * l.nk, o = q * l.nk;
          if (mode === 'max') for (let k = 0; k < l.nk; k++) { const v = l.values[base + k] * f; if (v > out[o + k]) out[o + k] = v; }
          else for (let k = 0; k < l.nk; k++) out[o + k] += l.values[base + k] * f;
        }
      }
      if (mode === 'mean' && heads.length) for (let i = 0; i < n; i++) out[i] /= heads.length;
      return LayerData.fromFloats(l, out, kind);
    });
  }

  /** The exact mean or max over all heads of a layer (float32 [queries, keys]), or null when the page holds only
   *  8-bit values. The mean is summed in double, as the static views do. */
  combinedExact(stack, layer, kind, mode) {
    if (this.meta.exact === 'none') return Promise.resolve(null);
    return this.cached(`combx/${kind}/${stack}/${layer}/${mode}`, async () => {
      const s = this.stack(stack);
      const heads = await Promise.all(Array.from({ length: s.heads }, (_, h) => this.exactHead(stack, layer, h, kind)));
      if (heads.some(h => !h)) return null;
      const n = s.queries * s.keys, acc = new Float64Array(n);
      if (mode === 'max') acc.fill(-Infinity);
      for (const f of heads) {
        if (mode === 'max') for (let i = 0; i < n; i++) { if (f[i] > acc[i]) acc[i] = f[i]; }
        else for (let i = 0; i < n; i++) acc[i] += f[i];
      }
      if (mode === 'mean') for (let i = 0; i < n; i++) acc[i] /= heads.length;
      return Float32Array.from(acc);
    });
  }

  thumbs(stack, layer) {
    return this.cached(`thumb/${stack}/${layer}`, () => this.loadSection(`thumb/${stack}/${layer}`));
  }

  /** Exact float32 [queries, keys] of one head, or null when the page holds only the 8-bit values. */
  exactHead(stack, layer, head, kind = 'att') {
    if (this.meta.exact === 'none') return Promise.resolve(null);
    const key = `${kind === 'norm' ? 'normx' : 'exact'}/${stack}/${layer}/${head}`;
    return this.cached(key, async () => {
      const b = await this.loadSection(key);
      if (!b) return null;
      const f = floats(b);
      this.exactCache.set(key, f);
      return f;
    });
  }

  /** The exact head if it is already here (for synchronous hover), else undefined. */
  exactHeadNow(stack, layer, head) {
    return this.exactCache.get(`exact/${stack}/${layer}/${head}`);
  }

  /** A rollout ([steps, queries, keys]) or flow (one step) of a stack, 8-bit with a scale per row, read like a
   *  layer whose heads are the steps (see Data/AnalysisData.cs). */
  analysisMatrix(kind, stack, steps) {
    return this.cached(`an/${kind}/${stack}`, async () => {
      const s = this.stack(stack);
      const bytes = await this.loadSection(`an/${kind}/${stack}`);
      return new LayerData({ heads: steps, queries: s.queries, keys: s.keys }, stack, kind, bytes);
    });
  }

  /** The exact float32 [queries, keys] of one step of a rollout or flow, or null when the page holds only 8-bit values. */
  analysisExact(kind, stack, step) {
    if (this.meta.exact === 'none') return Promise.resolve(null);
    const key = `anx/${kind}/${stack}/${step}`;
    return this.cached(key, async () => {
      const b = await this.loadSection(key);
      return b ? floats(b) : null;
    });
  }

  /** Queries [queries, d] and keys [keys, d] of one head, or null when the capture has none. */
  qk(stack, layer, head) {
    const s = this.stack(stack);
    if (!s.headDim) return Promise.resolve(null);
    return this.cached(`qk/${stack}/${layer}/${head}`, async () => {
      const b = await this.loadSection(`qk/${stack}/${layer}/${head}`);
      const f = floats(b);
      return { d: s.headDim, query: f.subarray(0, s.queries * s.headDim), key: f.subarray(s.queries * s.headDim) };
    });
  }
}

export class LayerData {
  /** kind: 'att' (attention, rows sum to 1) or 'norm' (norm-based attention: any scale). */
  constructor(stackInfo, stack, layer, bytes, kind = 'att') {
    this.stack = stack;
    this.layer = layer;
    this.kind = kind;
    this.heads = stackInfo.heads;
    this.nq = stackInfo.queries;
    this.nk = stackInfo.keys;
    const rows = this.heads * this.nq;
    this.scales = floats(bytes.subarray(0, rows * 4));
    this.values = bytes.subarray(rows * 4, rows * 4 + rows * this.nk);
    this.sparseCache = new Map();
    this.maxCache = new Map();
  }

  /** One head's values, [queries, keys] float32, as a one-head LayerData quantised like the server's sections. */
  static fromFloats(like, f, kind) {
    const rows = like.nq, nk = like.nk;
    const bytes = new Uint8Array(rows * 4 + rows * nk);
    const scales = new Float32Array(bytes.buffer, 0, rows);
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let k = 0; k < nk; k++) max = Math.max(max, f[r * nk + k]);
      scales[r] = max;
      const g = max > 0 ? 255 / max : 0, o = rows * 4 + r * nk;
      for (let k = 0; k < nk; k++) bytes[o + k] = Math.min(255, Math.floor(f[r * nk + k] * g + 0.5));
    }
    return new LayerData({ heads: 1, queries: rows, keys: nk }, like.stack, like.layer, bytes, kind);
  }

  /** The factor that brings head h's values to [0, 1] for drawing: 1 for attention, 1 / the head's maximum for norms. */
  unit(h) {
    return this.kind === 'norm' ? 1 / (this.headMax(h) || 1) : 1;
  }

  value(h, q, k) {
    const row = h * this.nq + q;
    return this.values[row * this.nk + k] * this.scales[row] / 255;
  }

  headMax(h) {
    if (!this.maxCache.has(h)) {
      let m = 0;
      for (let q = 0; q < this.nq; q++) m = Math.max(m, this.scales[h * this.nq + q]);
      this.maxCache.set(h, m);
    }
    return this.maxCache.get(h);
  }

  /** Entries of head h with value ≥ min, as parallel arrays (q, k, value); computed once per head. */
  sparse(h, min) {
    const key = `${h}:${min}`;
    if (this.sparseCache.has(key)) return this.sparseCache.get(key);
    const qs = [], ks = [], vs = [];
    for (let q = 0; q < this.nq; q++) {
      const row = h * this.nq + q;
      const scale = this.scales[row];
      if (scale < min) continue;
      const cut = Math.max(1, Math.ceil(min * 255 / scale - 1e-6));
      const base = row * this.nk;
      for (let k = 0; k < this.nk; k++) {
        const b = this.values[base + k];
        if (b >= cut) { qs.push(q); ks.push(k); vs.push(b * scale / 255); }
      }
    }
    const result = { q: Int32Array.from(qs), k: Int32Array.from(ks), v: Float32Array.from(vs) };
    this.sparseCache.set(key, result);
    return result;
  }
}

function floats(bytes) {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new Float32Array(bytes.slice().buffer);
}

function decodeBase64(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
