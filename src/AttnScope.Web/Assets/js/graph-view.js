// 3D graph view: attention flow through the layers as a graph. Each layer's tokens are a row of nodes; the rows are
// stacked along the depth axis (level 0: the input tokens, level l + 1: the output of layer l), and each node of
// level l + 1 is joined to the keys it attends to most in layer l (its top-k, mean of the heads or one head, or the
// capture's rollout when it has one), so 512 tokens × 12 layers stay a few tens of thousands of edges. Drag or the
// arrow keys rotate, the wheel or + and − zoom, the level range slices the stack, and clicking a node (or hovering)
// highlights every path through the kept edges that reaches it from below and leaves it upwards. Drawn on a 2D canvas
// through the 3D view's orbit camera (CPU projection: picking is the nearest projected node).
import { el, formatValue } from './format.js';
import { keyboardCanvas } from './keyboard.js';
import { OrbitCamera } from './orbit-camera.js';
import { theme } from './theme.js';

const WIDTH = 2.4, DEPTH = 2.4, ROT = Math.PI / 18, PICK_PX = 10;

export class GraphView {
  constructor(viewer) {
    this.viewer = viewer;
    this.element = el('div', 'as-view as-graph-view');
    this.note = el('p', 'as-note', 'Attention flow as a 3D graph: one row of token nodes per layer (inputs at the front), each node joined to the tokens it attends to most in the layer below. ' +
      'Drag (or the arrow keys) to rotate, the wheel (or + and −) to zoom; hover a node to highlight its paths, click to keep it, Escape releases.');
    this.controls = el('div', 'as-toolbar as-graph-controls');
    this.canvas = el('canvas', 'as-graph-canvas');
    this.caption = el('div', 'as-graph-caption');
    this.caption.setAttribute('aria-live', 'polite');
    this.element.append(this.note, this.controls, this.canvas, this.caption);
    this.camera = new OrbitCamera();
    this.opts = { source: 'mean', topk: 3, first: 0, last: null };
    this.picked = null; this.pinned = false; this.key = null;
    this.timings = { renders: [] };
    this.bindInput();
  }

  buildControls(info) {
    const c = this.controls;
    c.replaceChildren();
    const wrap = (label, node) => { const w = el('label', 'as-control'); w.append(el('span', 'as-control-label', label), node); c.append(w); };
    const src = el('select', 'as-select');
    src.dataset.control = 'graph-source';
    const opt = (v, t) => { const o = el('option', '', t); o.value = v; return o; };
    src.append(opt('mean', 'attention, mean of heads'), ...Array.from({ length: info.heads }, (_, h) => opt(String(h), `attention, head ${h}`)));
    const an = this.viewer.data.meta.analyses;
    this.rollout = an && (an.rollout || []).find(r => r.stack === this.viewer.state.stack && r.steps === info.layers && (r.startLayer || 0) === 0);
    if (this.rollout) src.append(opt('rollout', 'rollout (to the inputs)'));
    src.value = this.opts.source;
    src.addEventListener('change', () => { this.opts.source = src.value; this.viewer.refresh(); });
    wrap('edges', src);
    const k = el('select', 'as-select');
    k.dataset.control = 'graph-topk';
    for (const n of [1, 2, 3, 5, 8]) k.append(opt(String(n), `top ${n} per node`));
    k.value = String(this.opts.topk);
    k.addEventListener('change', () => { this.opts.topk = Number(k.value); this.viewer.refresh(); });
    wrap('keep', k);
    const levels = info.layers + 1;
    const num = (name, value, on) => {
      const i = el('input', 'as-graph-level');
      Object.assign(i, { type: 'number', min: '0', max: String(levels - 1), step: '1' });
      i.value = String(value);
      i.dataset.control = name;
      i.addEventListener('change', () => on(Math.max(0, Math.min(levels - 1, Math.round(Number(i.value) || 0)))));
      return i;
    };
    wrap('from level', num('graph-first', this.opts.first, v => { this.opts.first = Math.min(v, this.opts.last); this.unpick(); this.render(); }));
    wrap('to level', num('graph-last', this.opts.last, v => { this.opts.last = Math.max(v, this.opts.first); this.unpick(); this.render(); }));
  }

  async update() {
    const v = this.viewer, s = v.state, info = v.data.stack(s.stack);
    if (info.queryAxis !== info.keyAxis) throw new Error('the 3D graph joins a layer’s tokens to the same tokens below; this stack’s queries and keys are different tokens (cross attention)');
    if (this.stackName !== s.stack) {
      this.stackName = s.stack; this.info = info;
      this.opts.first = 0; this.opts.last = info.layers; this.opts.source = 'mean';
      this.buildControls(info);
    }
    const key = `${s.stack}|${this.opts.source}|${this.opts.topk}`;
    if (this.key !== key) {
      this.edges = await this.buildEdges(info);
      this.key = key;
      this.unpick();
    }
    this.labels = v.data.queryTokens(s.stack);
    this.size();
    this.render();
  }

  /** Weights [queries, keys] of layer l for the chosen source: exact float32 where the page has them. */
  async weights(info, l) {
    const d = this.viewer.data, s = this.stackName, n = info.queries * info.keys;
    if (this.opts.source === 'rollout') {
      const exact = await d.analysisExact('rollout', s, l);
      if (exact) return exact;
      const m = await d.analysisMatrix('rollout', s, this.rollout.steps), out = new Float32Array(n);
      for (let q = 0; q < info.queries; q++) for (let k = 0; k < info.keys; k++) out[q * info.keys + k] = m.value(l, q, k);
      return out;
    }
    const head = this.opts.source === 'mean' ? null : Number(this.opts.source);
    const exact = head === null ? await d.combinedExact(s, l, 'att', 'mean') : await d.exactHead(s, l, head);
    if (exact) return exact;
    const layer = await d.layer(s, l), out = new Float32Array(n);
    const heads = head === null ? Array.from({ length: info.heads }, (_, h) => h) : [head];
    for (const h of heads) for (let q = 0; q < info.queries; q++) for (let k = 0; k < info.keys; k++) out[q * info.keys + k] += layer.value(h, q, k) / heads.length;
    return out;
  }

  /** Per layer l: for each query q (node of level l + 1), its top-k keys (nodes of level l) and weights. For the
   *  rollout the edges of level l + 1 go to the input tokens (level 0) of the rollout after layer l. */
  async buildEdges(info) {
    const nq = info.queries, nk = info.keys, kk = Math.min(this.opts.topk, nk), out = [];
    for (let l = 0; l < info.layers; l++) {
      const w = await this.weights(info, l);
      const keys = new Int32Array(nq * kk), vals = new Float32Array(nq * kk);
      let max = 0;
      for (let q = 0; q < nq; q++) {
        const row = w.subarray(q * nk, q * nk + nk);
        const idx = Array.from({ length: nk }, (_, k) => k).sort((a, b) => row[b] - row[a] || a - b).slice(0, kk);
        idx.forEach((k, j) => { keys[q * kk + j] = k; vals[q * kk + j] = row[k]; max = Math.max(max, row[k]); });
      }
      out.push({ keys, vals, max, k: kk, to: this.opts.source === 'rollout' ? 0 : l });
    }
    return out;
  }

  size() {
    const dpr = window.devicePixelRatio || 1;
    const avail = this.viewer.root.clientWidth || 900;
    this.cssW = Math.max(320, Math.min(1100, avail - 4));
    this.cssH = Math.max(320, Math.min(720, Math.round(window.innerHeight - Math.max(0, this.canvas.getBoundingClientRect().top) - 40)));
    this.camera.fit(Math.hypot(WIDTH, DEPTH) / 2 * 1.15, this.cssW / this.cssH);
    this.canvas.width = Math.round(this.cssW * dpr); this.canvas.height = Math.round(this.cssH * dpr);
    this.canvas.style.width = `${this.cssW}px`; this.canvas.style.height = `${this.cssH}px`;
    this.dpr = dpr;
  }

  /** World position of node i of level lv: tokens along x, levels along the depth axis (z), a slight rise in y. */
  node(lv, i) {
    const n = this.info.queries, first = this.opts.first, span = Math.max(1, this.opts.last - first);
    const x = n > 1 ? -WIDTH / 2 + WIDTH * i / (n - 1) : 0;
    const t = (lv - first) / span;
    return [x, (t - 0.5) * 0.6, DEPTH / 2 - DEPTH * t];
  }

  /** Projected canvas point (CSS px) of node (level, i), or null. */
  nodePoint(lv, i) { return this.camera.project(this.node(lv, i), this.cssW, this.cssH); }

  /** The kept edges that lie on a path through the picked node: [{ l, q, j }] (edge j of query q in layer l). */
  paths() {
    const p = this.picked, set = [];
    if (!p) return set;
    const e = this.edges;
    // Down: from the node through the layers below (the rollout joins straight to the inputs).
    let front = new Set([p.i]);
    for (let lv = p.level; lv > this.opts.first && front.size; lv--) {
      const E = e[lv - 1], next = new Set();
      for (const q of front) for (let j = 0; j < E.k; j++) { set.push({ l: lv - 1, q, j }); next.add(E.keys[q * E.k + j]); }
      if (E.to === 0) break;
      front = next;
    }
    // Up: every node above whose kept edges reach the node.
    if (this.opts.source !== 'rollout') {
      front = new Set([p.i]);
      for (let lv = p.level + 1; lv <= this.opts.last && front.size; lv++) {
        const E = e[lv - 1], next = new Set();
        for (let q = 0; q < this.info.queries; q++) for (let j = 0; j < E.k; j++)
          if (front.has(E.keys[q * E.k + j])) { set.push({ l: lv - 1, q, j }); next.add(q); }
        front = next;
      }
    }
    return set;
  }

  render() {
    if (!this.edges || !this.info) return;
    const start = performance.now();
    const ctx = this.canvas.getContext('2d'), W = this.cssW, H = this.cssH, d = this.dpr;
    ctx.setTransform(d, 0, 0, d, 0, 0);
    ctx.fillStyle = theme.dark ? '#17191e' : '#ffffff';
    ctx.fillRect(0, 0, W, H);
    const n = this.info.queries, first = this.opts.first, last = this.opts.last;
    const pts = [];
    for (let lv = first; lv <= last; lv++) pts[lv] = Array.from({ length: n }, (_, i) => this.nodePoint(lv, i));
    // Edges, in 8 alpha buckets (one stroke each) so that 50 000 edges draw in a few milliseconds.
    const buckets = Array.from({ length: 8 }, () => new Path2D());
    let drawn = 0;
    for (let lv = Math.max(1, first + 1); lv <= last; lv++) {
      const E = this.edges[lv - 1], to = E.to === 0 ? 0 : lv - 1;
      if (to < first) continue;
      for (let q = 0; q < n; q++) {
        const a = pts[lv][q];
        if (!a) continue;
        for (let j = 0; j < E.k; j++) {
          const b = pts[to][E.keys[q * E.k + j]];
          if (!b) continue;
          const t = E.max > 0 ? E.vals[q * E.k + j] / E.max : 0;
          const path = buckets[Math.min(7, Math.floor(t * 8))];
          path.moveTo(a.x, a.y); path.lineTo(b.x, b.y);
          drawn++;
        }
      }
    }
    ctx.lineWidth = 1;
    const ink = theme.dark ? '120,170,255' : '21,88,176';
    buckets.forEach((p, b) => { ctx.strokeStyle = `rgba(${ink},${(0.05 + 0.6 * (b + 1) / 8).toFixed(3)})`; ctx.stroke(p); });
    // Highlighted paths through the picked node.
    const hl = this.paths();
    if (hl.length) {
      const p = new Path2D();
      for (const { l, q, j } of hl) {
        const E = this.edges[l], to = E.to === 0 ? 0 : l;
        const a = pts[l + 1] && pts[l + 1][q], b = pts[to] && pts[to][E.keys[q * E.k + j]];
        if (a && b) { p.moveTo(a.x, a.y); p.lineTo(b.x, b.y); }
      }
      ctx.lineWidth = 2.5; ctx.strokeStyle = '#e6194b'; ctx.stroke(p);
    }
    // Nodes, and level numbers at the left end of each row.
    const r = n > 128 ? 1.2 : n > 32 ? 2 : 3.5;
    ctx.fillStyle = theme.dark ? '#d0d4da' : '#333333';
    for (let lv = first; lv <= last; lv++) for (const a of pts[lv]) if (a) { ctx.beginPath(); ctx.arc(a.x, a.y, r, 0, 2 * Math.PI); ctx.fill(); }
    ctx.font = '12px system-ui, sans-serif';
    for (let lv = first; lv <= last; lv++) {
      const a = pts[lv][0];
      if (a) ctx.fillText(lv === 0 ? 'inputs' : `layer ${lv - 1}`, a.x - 58, a.y + 4);
    }
    if (this.picked) {
      const a = pts[this.picked.level] && pts[this.picked.level][this.picked.i];
      if (a) { ctx.beginPath(); ctx.arc(a.x, a.y, r + 4, 0, 2 * Math.PI); ctx.lineWidth = 2; ctx.strokeStyle = '#e6194b'; ctx.stroke(); }
    }
    this.stats = { edges: drawn, highlighted: hl.length, levels: last - first + 1, nodes: (last - first + 1) * n };
    this.canvas.dataset.edges = String(drawn);
    this.canvas.dataset.highlighted = String(hl.length);
    this.canvas.dataset.picked = this.picked ? `${this.picked.level}/${this.picked.i}` : '';
    this.timings.renders.push(performance.now() - start);
    if (this.timings.renders.length > 1000) this.timings.renders.splice(0, 500);
  }

  exportSize() { return { width: this.cssW || 640, height: (this.cssH || 480) + 24 }; }

  exportPaint(p) {
    this.render();
    p.image(0, 0, this.cssW, this.cssH, this.canvas);
    p.text(8, this.cssH + 16, this.caption.textContent, { size: 12, color: theme.dark ? '#e8e8e8' : '#222222' });
  }

  pick(x, y) {
    let best = null, bd = PICK_PX * PICK_PX;
    for (let lv = this.opts.first; lv <= this.opts.last; lv++)
      for (let i = 0; i < this.info.queries; i++) {
        const a = this.nodePoint(lv, i);
        if (!a) continue;
        const dd = (a.x - x) ** 2 + (a.y - y) ** 2;
        if (dd < bd) { bd = dd; best = { level: lv, i }; }
      }
    return best;
  }

  setPicked(p) {
    this.picked = p;
    if (!p) { this.caption.textContent = ''; this.render(); return; }
    const t = this.labels[p.i], where = p.level === 0 ? 'input' : `output of layer ${p.level - 1}`;
    let text = `${t.label} (#${p.i}, ${where})${this.pinned ? ', kept' : ''}`;
    if (p.level > 0) {
      const E = this.edges[p.level - 1];
      text += ' → ' + Array.from({ length: E.k }, (_, j) => `${this.labels[E.keys[p.i * E.k + j]].label} ${formatValue(E.vals[p.i * E.k + j])}`).join(', ');
    }
    this.caption.textContent = text;
    this.render();
  }

  unpick() { this.pinned = false; this.picked = null; this.caption.textContent = ''; }

  bindInput() {
    const c = this.canvas;
    let drag = null;
    const local = e => { const b = c.getBoundingClientRect(); return { x: e.clientX - b.left, y: e.clientY - b.top }; };
    c.addEventListener('pointerdown', e => { if (e.button === 0) { drag = { x: e.clientX, y: e.clientY, moved: 0 }; c.setPointerCapture(e.pointerId); } });
    c.addEventListener('pointermove', e => {
      if (drag) {
        const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        drag.x = e.clientX; drag.y = e.clientY; drag.moved += Math.abs(dx) + Math.abs(dy);
        if (drag.moved > 3) { this.camera.rotate(-dx * 0.008, dy * 0.008); this.render(); }
        return;
      }
      if (this.pinned || !this.info) return;
      const p = local(e), hit = this.pick(p.x, p.y);
      if ((hit && this.picked && hit.level === this.picked.level && hit.i === this.picked.i) || (!hit && !this.picked)) return;
      this.setPicked(hit);
    });
    const end = e => {
      if (!drag) return;
      const click = drag.moved <= 3;
      drag = null;
      if (c.hasPointerCapture(e.pointerId)) c.releasePointerCapture(e.pointerId);
      if (click && e.type === 'pointerup' && this.info) {
        const p = local(e), hit = this.pick(p.x, p.y);
        this.pinned = !!hit && !(this.pinned && this.picked && hit.level === this.picked.level && hit.i === this.picked.i);
        this.setPicked(this.pinned ? hit : null);
      }
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('wheel', e => { e.preventDefault(); this.camera.zoom(Math.exp(Math.sign(e.deltaY) * Math.min(Math.abs(e.deltaY), 200) * 0.0015)); this.render(); }, { passive: false });
    keyboardCanvas(c, '3D graph: token nodes per layer joined by their strongest attention. Arrow keys rotate, plus and minus zoom, Home resets, Escape releases a kept node.', key => {
      if (key === 'Home') this.camera.reset();
      else if (key === 'Escape') this.unpick();
      else if (key === 'ArrowLeft' || key === 'ArrowRight') this.camera.rotate(key === 'ArrowLeft' ? ROT : -ROT, 0);
      else if (key === 'ArrowUp' || key === 'ArrowDown') this.camera.rotate(0, key === 'ArrowUp' ? ROT : -ROT);
      else return false;
      this.render();
      return true;
    });
    c.addEventListener('keydown', e => {
      if (e.altKey || e.ctrlKey || e.metaKey || !['+', '=', '-'].includes(e.key)) return;
      e.preventDefault();
      this.camera.zoom(e.key === '-' ? 1.15 : 1 / 1.15);
      this.render();
    });
  }
}
