// 3D view: the layers of a stack as sheets stacked bottom (layer 0) to top, each sheet one layer's queries × keys
// weights (one head, or the mean of the heads) drawn with WebGL 2. Drag or the arrow keys rotate it, the wheel or
// + and − zoom, the slice controls keep a range of layers, queries and keys, and hovering a cell names its layer,
// query and key tokens and its weight (found by casting the pointer's ray onto the sheets on the CPU: exact).
import { el, formatValue, headName, shortLabel } from './format.js';
import { lutBytes, lutCss } from './colors.js';
import { FONT_FAMILY } from './painter.js';
import { keyboardCanvas } from './keyboard.js';
import { OrbitCamera } from './orbit-camera.js';
import { NoWebGlError, StackRenderer } from './stack-renderer.js';
import { vec3Add, vec3Scale } from './mat4.js';

/** Sheets fill a square this wide (world units); the stack is about as tall. */
const SHEET_SIZE = 2.4;
const STACK_HEIGHT = 2.4;
/** The most cells (layers × queries × keys) the view uploads: 64 Mi bytes of textures. */
const MAX_3D_CELLS = 1 << 26;
/** Token labels are drawn along the top sheet's edges up to this many tokens. */
const LABELLED_TOKENS = 64;
const KEY_ROTATE_STEP = Math.PI / 18;

export class ThreeDView {
  constructor(viewer) {
    this.viewer = viewer;
    this.element = el('div', 'as-view as-3d-view');
    this.note = el('p', 'as-note', 'Layers are stacked from layer 0 at the bottom; each sheet is one layer’s queries × keys matrix, query 0 and key 0 at its back-left corner. ' +
      'Drag (or use the arrow keys) to rotate, the wheel (or + and −) to zoom, Home to reset; hover a cell for its weight, click to keep it.');
    this.controls = el('div', 'as-toolbar as-3d-controls');
    this.holder = el('div', 'as-3d-stage');
    this.canvas = el('canvas', 'as-3d-canvas');
    this.overlay = el('canvas', 'as-3d-overlay');
    this.overlay.setAttribute('aria-hidden', 'true');
    this.holder.append(this.canvas, this.overlay);
    this.fallback = el('p', 'as-3d-fallback');
    this.fallback.setAttribute('role', 'status');
    this.fallback.hidden = true;
    this.element.append(this.note, this.controls, this.fallback, this.holder);
    this.camera = new OrbitCamera();
    this.opts = { head: 'mean', scale: 'layer', threshold: 0.05, opacity: 0.9 };
    this.slice = null;
    this.key = null;
    this.renderer = null;
    this.picked = null;
    this.pinned = false;
    this.timings = { drags: [], renders: [] };
    this.frameWanted = false;
    this.bindInput();
  }

  // ---- controls

  buildControls(info) {
    const c = this.controls;
    c.replaceChildren();
    const wrap = (label, ...nodes) => { const w = el('label', 'as-control'); w.append(el('span', 'as-control-label', label), ...nodes); c.append(w); return w; };
    const head = el('select', 'as-select');
    head.dataset.control = '3d-head';
    head.append(sheetOption('mean', 'mean of heads'), ...Array.from({ length: info.heads }, (_, h) => sheetOption(String(h), headName(info, h))));
    head.value = this.opts.head;
    head.addEventListener('change', () => { this.opts.head = head.value; this.viewer.refresh(); });
    wrap('heads', head);
    const scale = el('select', 'as-select');
    scale.dataset.control = '3d-scale';
    scale.append(sheetOption('layer', 'each layer to its maximum'), sheetOption('stack', 'one scale for the stack'));
    scale.value = this.opts.scale;
    scale.addEventListener('change', () => { this.opts.scale = scale.value; this.viewer.refresh(); });
    wrap('colour', scale);
    const slider = (name, label, min, max, stepSize, field) => {
      const r = el('input', 'as-3d-range');
      Object.assign(r, { type: 'range', min: String(min), max: String(max), step: String(stepSize) });
      r.value = String(this.opts[field]);
      r.dataset.control = name;
      const out = el('span', 'as-3d-value', this.opts[field].toFixed(2));
      r.addEventListener('input', () => { this.opts[field] = Number(r.value); out.textContent = this.opts[field].toFixed(2); this.requestFrame(); });
      wrap(label, r, out);
    };
    slider('3d-threshold', 'hide under', 0, 0.95, 0.01, 'threshold');
    slider('3d-opacity', 'opacity', 0.1, 1, 0.05, 'opacity');
    this.rangeInputs = {};
    for (const [axis, label, count] of [['layers', 'layers', info.layers], ['queries', 'queries', info.queries], ['keys', 'keys', info.keys]]) {
      const from = sheetNumberInput(`3d-${axis}-from`, count), to = sheetNumberInput(`3d-${axis}-to`, count);
      from.setAttribute('aria-label', `first of the ${axis} shown`);
      to.setAttribute('aria-label', `last of the ${axis} shown`);
      const apply = changed => {
        let a = sheetClamp(from.value, 0, count - 1), b = sheetClamp(to.value, 0, count - 1);
        if (a > b) { if (changed === from) b = a; else a = b; }
        this.slice[axis] = [a, b];
        from.value = String(a);
        to.value = String(b);
        this.unpick();
        this.layout();
        this.requestFrame();
      };
      from.addEventListener('change', () => apply(from));
      to.addEventListener('change', () => apply(to));
      this.rangeInputs[axis] = [from, to];
      wrap(label, from, el('span', 'as-control-label', '–'), to);
    }
    const reset = el('button', 'as-btn as-small', 'reset view');
    reset.type = 'button';
    reset.dataset.control = '3d-reset';
    reset.addEventListener('click', () => { this.camera.reset(); this.requestFrame(); });
    c.append(reset);
    this.syncRangeInputs();
  }

  syncRangeInputs() {
    for (const [axis, [from, to]] of Object.entries(this.rangeInputs)) {
      from.value = String(this.slice[axis][0]);
      to.value = String(this.slice[axis][1]);
    }
  }

  /** Sets a slice from code (tests, the URL): axis 'layers' | 'queries' | 'keys', inclusive first and last. */
  setSlice(axis, first, last) {
    this.slice[axis] = [first, last];
    this.syncRangeInputs();
    this.rangeInputs[axis][0].dispatchEvent(new Event('change'));
  }

  // ---- data

  async update() {
    const v = this.viewer, s = v.state;
    const info = v.data.stack(s.stack);
    if (!this.ensureRenderer()) return;
    const cells = info.layers * info.queries * info.keys;
    if (cells > MAX_3D_CELLS) throw new Error(`the 3D view shows up to ${MAX_3D_CELLS.toLocaleString('en')} cells (layers × queries × keys); this stack has ${cells.toLocaleString('en')}`);
    if (info.queries > this.renderer.maxTexture || info.keys > this.renderer.maxTexture) throw new Error(`this browser's WebGL takes up to ${this.renderer.maxTexture} tokens a side`);
    if (this.stackName !== s.stack) {
      this.stackName = s.stack;
      this.info = info;
      this.opts.head = 'mean';
      this.slice = { layers: [0, info.layers - 1], queries: [0, info.queries - 1], keys: [0, info.keys - 1] };
      this.buildControls(info);
    }
    const key = `${s.stack}|${this.opts.head}|${this.opts.scale}`;
    if (this.key !== key) {
      const layers = await Promise.all(Array.from({ length: info.layers }, (_, l) => v.data.layer(s.stack, l)));
      if (s.stack !== this.stackName) return;
      this.layers = layers;
      this.bytes = sheetBytes(layers, this.opts.head === 'mean' ? null : Number(this.opts.head), this.opts.scale === 'stack');
      this.renderer.setLayers(this.bytes, info.keys, info.queries);
      this.key = key;
      this.unpick();
    }
    this.qLabels = v.data.queryTokens(s.stack);
    this.kLabels = v.data.keyTokens(s.stack);
    this.size();
    this.layout();
    this.render();
  }

  /** Creates the WebGL renderer once; false (with the fallback message shown) when the browser has no WebGL 2. */
  ensureRenderer() {
    if (this.renderer) return true;
    try {
      this.renderer = new StackRenderer(this.canvas, lutBytes(this.viewer.data.meta.colormap));
    } catch (e) {
      if (!(e instanceof NoWebGlError)) throw e;
      this.showFallback('The 3D view needs WebGL 2, which this browser does not offer here (it may be turned off, or its graphics driver blocked). The other views work without it.');
      return false;
    }
    this.fallback.hidden = true;
    this.holder.hidden = false;
    this.controls.hidden = false;
    return true;
  }

  showFallback(text) {
    this.fallback.textContent = text;
    this.fallback.hidden = false;
    this.holder.hidden = true;
    this.controls.hidden = true;
  }

  // ---- geometry

  /** The canvas fills the width (up to 1100 px) and the window below its top (at least 320 px). */
  size() {
    const dpr = window.devicePixelRatio || 1;
    const avail = this.viewer.root.clientWidth || 900;
    this.cssW = Math.max(320, Math.min(1100, avail - 4));
    const top = this.holder.getBoundingClientRect().top + window.scrollY;
    this.cssH = Math.max(320, Math.min(900, Math.round(window.innerHeight - Math.max(0, top) - 16)));
    // The stack (a SHEET_SIZE square STACK_HEIGHT tall) and its labels fill the view at home.
    this.camera.fit(Math.hypot(SHEET_SIZE, SHEET_SIZE, STACK_HEIGHT) / 2 * 1.12, this.cssW / this.cssH);
    for (const c of [this.canvas, this.overlay]) {
      c.width = Math.round(this.cssW * dpr);
      c.height = Math.round(this.cssH * dpr);
      c.style.width = `${this.cssW}px`;
      c.style.height = `${this.cssH}px`;
    }
    this.dpr = dpr;
  }

  /** Where the sliced sheets lie: the kept queries and keys fill a SHEET_SIZE square (cells stay square), the kept
   *  layers fill STACK_HEIGHT. */
  layout() {
    const { layers, queries, keys } = this.slice;
    const nq = queries[1] - queries[0] + 1, nk = keys[1] - keys[0] + 1, nl = layers[1] - layers[0] + 1;
    const cell = SHEET_SIZE / Math.max(nq, nk);
    const gap = nl > 1 ? Math.min(0.6, STACK_HEIGHT / (nl - 1)) : 0;
    this.geo = { x0: -nk * cell / 2, z0: -nq * cell / 2, cell, gap, nq, nk, nl };
  }

  /** Height of layer l's sheet. */
  sheetY(l) {
    const g = this.geo, first = this.slice.layers[0];
    return (l - first - (g.nl - 1) / 2) * g.gap;
  }

  /** The world rectangle [x0, z0, x1, z1] of the kept cells, and of one cell (query q, key k). */
  sheetRect() { const g = this.geo; return [g.x0, g.z0, g.x0 + g.nk * g.cell, g.z0 + g.nq * g.cell]; }

  cellRect(q, k) {
    const g = this.geo, x = g.x0 + (k - this.slice.keys[0]) * g.cell, z = g.z0 + (q - this.slice.queries[0]) * g.cell;
    return [x, z, x + g.cell, z + g.cell];
  }

  // ---- drawing

  requestFrame(event) {
    if (this.frameWanted) return;
    this.frameWanted = true;
    requestAnimationFrame(() => {
      this.frameWanted = false;
      this.render();
      if (event && event.timeStamp) {
        const stamp = event.timeStamp;
        requestAnimationFrame(() => this.timings.drags.push(performance.now() - stamp));
      }
    });
  }

  render() {
    if (!this.renderer || !this.geo || this.renderer.gl.isContextLost()) return;
    const start = performance.now();
    const { layers, queries, keys } = this.slice;
    const info = this.info, eye = this.camera.eye;
    const rect = this.sheetRect();
    const uv = [keys[0] / info.keys, queries[0] / info.queries, (keys[1] + 1) / info.keys, (queries[1] + 1) / info.queries];
    const sheets = [];
    for (let l = layers[0]; l <= layers[1]; l++) sheets.push({ layer: l, y: this.sheetY(l), rect, uv, frame: rect });
    // Far to near, so that see-through sheets blend over the ones behind them.
    sheets.sort((a, b) => Math.abs(eye[1] - b.y) - Math.abs(eye[1] - a.y));
    const marks = [];
    if (this.picked) marks.push({ y: this.sheetY(this.picked.layer), rect: this.cellRect(this.picked.q, this.picked.k), color: [1, 0.18, 0.18, 1] });
    this.renderer.draw({
      mvp: this.camera.matrix(this.cssW / this.cssH), width: this.canvas.width, height: this.canvas.height,
      threshold: this.opts.threshold > 0 ? (Math.round(this.opts.threshold * 255) - 0.5) / 255 : -1, opacity: this.opts.opacity, sheets, marks,
    });
    this.drawOverlay(sheets);
    this.timings.renders.push(performance.now() - start);
    if (this.timings.renders.length > 1000) this.timings.renders.splice(0, 500);
  }

  /** Labels on a 2D canvas over the WebGL one: layer numbers, axis names, token labels of short inputs, colour bar. */
  drawOverlay(sheets) {
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.cssW, this.cssH);
    ctx.textBaseline = 'middle';
    const P = p => this.camera.project(p, this.cssW, this.cssH);
    const [x0, z0, x1, z1] = this.sheetRect();
    const corners = y => [[x0, y, z0], [x1, y, z0], [x1, y, z1], [x0, y, z1]];
    ctx.font = `12px ${FONT_FAMILY}`;
    ctx.fillStyle = '#333';
    ctx.textAlign = 'right';
    for (const s of sheets) {
      const pts = corners(s.y).map(P).filter(Boolean);
      if (!pts.length) continue;
      const left = pts.reduce((a, b) => (b.x < a.x ? b : a));
      ctx.fillText(`layer ${s.layer}`, left.x - 8, left.y);
    }
    const ys = sheets.map(s => s.y);
    const bottom = Math.min(...ys), top = Math.max(...ys);
    const { queries, keys } = this.slice;
    ctx.textAlign = 'center';
    ctx.fillStyle = '#555';
    // Axis names beside the bottom sheet's edge at the last query (keys) and at key 0 (queries), set off outwards.
    const g = this.geo;
    const away = (p, out, text, gapPx) => {
      const anchor = vec3Add(p, vec3Scale(out, 0.5));
      const a = P(anchor), b = P(vec3Add(anchor, out));
      if (!a || !b) return;
      const dx = b.x - a.x, dy = b.y - a.y;
      if (Math.abs(dx) > Math.abs(dy)) { ctx.textAlign = dx > 0 ? 'left' : 'right'; ctx.fillText(text, a.x + Math.sign(dx) * gapPx, a.y); }
      else { ctx.textAlign = 'center'; ctx.fillText(text, a.x, a.y + Math.sign(dy) * (gapPx + 4)); }
    };
    away([0, bottom, z1], [0, 0, 0.3], `keys ${keys[0]} → ${keys[1]}`, 6);
    away([x0, bottom, (z0 + z1) / 2], [-0.3, 0, 0], `queries ${queries[0]} → ${queries[1]}`, 6);
    // Token labels of short inputs along the top sheet's edge at query 0 (keys) and at the last key (queries), each
    // turned to point away from the sheet, every few tokens when they would crowd.
    ctx.font = `11px ${FONT_FAMILY}`;
    ctx.fillStyle = '#222';
    const along = (count, first, point, out, label) => {
      if (count > LABELLED_TOKENS) return;
      // Labels run outwards, so what keeps them apart is the spacing across that direction.
      const mid = Math.floor(count / 2), p0 = P(point(Math.max(0, mid - 1))), p1 = P(point(mid)), po = P(vec3Add(point(mid), out));
      let spacing = 99;
      if (p0 && p1 && po && count > 1) {
        const ox = po.x - p1.x, oy = po.y - p1.y, ol = Math.hypot(ox, oy) || 1;
        spacing = Math.abs((p1.x - p0.x) * oy - (p1.y - p0.y) * ox) / ol;
      }
      const stride = Math.max(1, Math.ceil(12 / Math.max(spacing, 0.1)));
      for (let i = 0; i < count; i += stride) {
        const a = P(point(i)), b = P(vec3Add(point(i), out));
        if (!a || !b) continue;
        let angle = Math.atan2(b.y - a.y, b.x - a.x);
        const flip = Math.abs(angle) > Math.PI / 2;
        if (flip) angle += Math.PI;
        ctx.save();
        ctx.translate(a.x, a.y);
        ctx.rotate(angle);
        ctx.textAlign = flip ? 'right' : 'left';
        ctx.fillText(shortLabel(label(first + i), 12), flip ? -4 : 4, 0);
        ctx.restore();
      }
    };
    along(g.nk, keys[0], i => [g.x0 + (i + 0.5) * g.cell, top, z0 - 0.02], [0, 0, -0.3], k => this.kLabels[k].label);
    along(g.nq, queries[0], i => [x1 + 0.02, top, g.z0 + (i + 0.5) * g.cell], [0.3, 0, 0], q => this.qLabels[q].label);
    // Colour bar: 0 … each layer's (or the stack's) maximum.
    const lut = this.viewer.data.meta.colormap, bx = this.cssW - 30, by = 14, bh = 120;
    for (let i = 0; i < bh; i++) { ctx.fillStyle = lutCss(lut, 1 - i / bh); ctx.fillRect(bx, by + i, 12, 1.5); }
    ctx.strokeStyle = '#888';
    ctx.strokeRect(bx - 0.5, by - 0.5, 13, bh + 1);
    ctx.fillStyle = '#333';
    ctx.textAlign = 'right';
    ctx.font = `11px ${FONT_FAMILY}`;
    ctx.fillText(this.opts.scale === 'stack' ? 'stack max' : 'layer max', bx - 4, by + 4);
    ctx.fillText('0', bx - 4, by + bh - 2);
    const title = `${this.stackName} · ${this.opts.head === 'mean' ? 'mean of heads' : headName(this.info, Number(this.opts.head))}`;
    ctx.textAlign = 'left';
    ctx.font = `12px ${FONT_FAMILY}`;
    ctx.fillText(title, 8, 12);
  }

  // ---- picking

  /** The cell under canvas point (x, y) in CSS px: the nearest drawn cell (kept by the slice and not under the
   *  threshold) along the pointer's ray, as { layer, q, k }, or null. */
  pick(x, y) {
    if (!this.geo) return null;
    const { origin, dir } = this.camera.ray(x, y, this.cssW, this.cssH);
    if (Math.abs(dir[1]) < 1e-12) return null;
    const g = this.geo, { layers, queries, keys } = this.slice;
    const cut = this.opts.threshold > 0 ? Math.round(this.opts.threshold * 255) : 0;
    let best = null;
    for (let l = layers[0]; l <= layers[1]; l++) {
      const t = (this.sheetY(l) - origin[1]) / dir[1];
      if (t <= 0 || (best && t >= best.t)) continue;
      const c = Math.floor((origin[0] + t * dir[0] - g.x0) / g.cell), r = Math.floor((origin[2] + t * dir[2] - g.z0) / g.cell);
      if (c < 0 || r < 0 || c >= g.nk || r >= g.nq) continue;
      const q = queries[0] + r, k = keys[0] + c;
      if (this.bytes[l][q * this.info.keys + k] < cut) continue;
      best = { t, layer: l, q, k };
    }
    return best && { layer: best.layer, q: best.q, k: best.k };
  }

  /** The weight shown for a cell: the head's (exact when the page holds it) or the mean of the heads. */
  weight(cell) {
    const layer = this.layers[cell.layer];
    if (this.opts.head !== 'mean') {
      const h = Number(this.opts.head);
      const exact = this.viewer.data.exactHeadNow(this.stackName, cell.layer, h);
      if (exact) return { value: exact[cell.q * layer.nk + cell.k], exact: true };
      return { value: layer.value(h, cell.q, cell.k), exact: false };
    }
    let sum = 0;
    for (let h = 0; h < layer.heads; h++) sum += layer.value(h, cell.q, cell.k);
    return { value: sum / layer.heads, exact: false };
  }

  setPicked(cell, e) {
    const same = cell && this.picked && cell.layer === this.picked.layer && cell.q === this.picked.q && cell.k === this.picked.k;
    this.picked = cell;
    const tip = this.viewer.tooltip;
    if (!cell) { tip.hide(); this.requestFrame(); return; }
    if (!same && this.opts.head !== 'mean') {
      // Fetch the head's exact values once, then show them.
      this.viewer.data.exactHead(this.stackName, cell.layer, Number(this.opts.head)).then(f => { if (f && this.picked === cell) this.showTip(cell, e); }, () => {});
    }
    this.showTip(cell, e);
    this.requestFrame();
  }

  showTip(cell, e) {
    const { value, exact } = this.weight(cell);
    this.viewer.tooltip.show(e, [
      ['layer', String(cell.layer)],
      ['query', `#${cell.q} ${this.qLabels[cell.q].label}`],
      ['key', `#${cell.k} ${this.kLabels[cell.k].label}`],
      [this.opts.head === 'mean' ? 'mean weight' : 'weight', exact ? formatValue(value) : '≈ ' + value.toPrecision(3)],
    ], { exact: String(exact), layer: String(cell.layer), query: String(cell.q), key: String(cell.k) });
  }

  unpick() {
    this.pinned = false;
    if (this.picked) { this.picked = null; this.viewer.tooltip.hide(); }
  }

  // ---- input

  bindInput() {
    const c = this.canvas;
    let drag = null;
    const local = e => { const b = c.getBoundingClientRect(); return { x: e.clientX - b.left, y: e.clientY - b.top }; };
    c.addEventListener('pointerdown', e => {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, moved: 0 };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener('pointermove', e => {
      if (drag) {
        const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        drag.x = e.clientX;
        drag.y = e.clientY;
        drag.moved += Math.abs(dx) + Math.abs(dy);
        if (drag.moved > 3) {
          this.camera.rotate(-dx * 0.008, dy * 0.008);
          if (this.picked && !this.pinned) this.setPicked(null, null);
          this.requestFrame(e);
        }
        return;
      }
      if (this.pinned) return;
      const p = local(e);
      const cell = this.pick(p.x, p.y);
      if (!cell && !this.picked) return;
      if (cell && this.picked && cell.layer === this.picked.layer && cell.q === this.picked.q && cell.k === this.picked.k) { this.showTip(cell, e); return; }
      this.setPicked(cell, e);
    });
    const end = e => {
      if (!drag) return;
      const click = drag.moved <= 3;
      drag = null;
      if (c.hasPointerCapture(e.pointerId)) c.releasePointerCapture(e.pointerId);
      if (click && e.type === 'pointerup') {
        const p = local(e);
        const cell = this.pick(p.x, p.y);
        this.pinned = !!cell && !this.pinned;
        this.setPicked(cell, e);
      }
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('mouseleave', () => { if (!this.pinned && !drag && this.picked) this.setPicked(null, null); });
    c.addEventListener('wheel', e => {
      e.preventDefault();
      this.camera.zoom(Math.exp(Math.sign(e.deltaY) * Math.min(Math.abs(e.deltaY), 200) * 0.0015));
      this.requestFrame(e);
    }, { passive: false });
    keyboardCanvas(c, '3D view: the layers stacked as sheets of queries × keys. Arrow keys rotate, plus and minus zoom, Home resets the view, Escape releases a kept cell.', key => {
      if (key === 'Home') this.camera.reset();
      else if (key === 'Escape') { this.unpick(); }
      else if (key === 'ArrowLeft' || key === 'ArrowRight') this.camera.rotate(key === 'ArrowLeft' ? KEY_ROTATE_STEP : -KEY_ROTATE_STEP, 0);
      else if (key === 'ArrowUp' || key === 'ArrowDown') this.camera.rotate(0, key === 'ArrowUp' ? KEY_ROTATE_STEP : -KEY_ROTATE_STEP);
      else return false;
      this.requestFrame();
      return true;
    });
    c.addEventListener('keydown', e => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key !== '+' && e.key !== '=' && e.key !== '-') return;
      e.preventDefault();
      this.camera.zoom(e.key === '-' ? 1.15 : 1 / 1.15);
      this.requestFrame();
    });
    c.addEventListener('webglcontextlost', e => {
      e.preventDefault();
      this.showFallback('The 3D view lost its graphics context; it comes back when the browser restores it.');
    });
    c.addEventListener('webglcontextrestored', () => { this.renderer = null; this.key = null; this.viewer.refresh(); });
  }

  // ---- tests, benchmark and export

  /** Draws now and returns the picture as { width, height, data: base64 RGBA rows from the top } (device px). */
  pixels() {
    this.render();
    const { width, height, data } = this.renderer.readPixels();
    return { width, height, data: bytesToBase64(data) };
  }

  /** Turns the camera and draws at once, waiting for the GPU; returns the milliseconds it took. */
  rotateAndDraw(dYaw, dPitch) {
    const start = performance.now();
    this.camera.rotate(dYaw, dPitch);
    this.render();
    this.renderer.finish();
    return performance.now() - start;
  }

  exportSize() { return { width: this.cssW || 600, height: this.cssH || 400 }; }

  exportPaint(p) {
    if (!this.renderer) { p.text(8, 14, this.fallback.textContent, { size: 12, color: '#333' }); return; }
    this.render();
    p.image(0, 0, this.cssW, this.cssH, this.canvas);
    p.image(0, 0, this.cssW, this.cssH, this.overlay);
  }
}

/**
 * One byte per cell for each layer: the head's weights (head = null: the mean over heads) scaled to the layer's
 * maximum, or to the stack's (`oneScale`), 255 being that maximum.
 */
function sheetBytes(layers, head, oneScale) {
  const first = layers[0], nq = first.nq, nk = first.nk;
  const buffer = new Float32Array(nq * nk);
  const fill = layer => {
    const heads = head === null ? Array.from({ length: layer.heads }, (_, h) => h) : [head];
    buffer.fill(0);
    let max = 0;
    for (const h of heads) {
      for (let q = 0; q < nq; q++) {
        const row = h * nq + q, f = layer.scales[row] / 255 / heads.length, base = row * nk, o = q * nk;
        for (let k = 0; k < nk; k++) buffer[o + k] += layer.values[base + k] * f;
      }
    }
    for (let i = 0; i < buffer.length; i++) if (buffer[i] > max) max = buffer[i];
    return max;
  };
  const maxima = oneScale ? layers.map(fill) : null;
  const stackMax = oneScale ? Math.max(...maxima) : 0;
  return layers.map(layer => {
    const layerMax = fill(layer), max = oneScale ? stackMax : layerMax;
    const out = new Uint8Array(nq * nk);
    if (max > 0) for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.round(buffer[i] / max * 255));
    return out;
  });
}

function sheetOption(value, text) {
  const o = el('option', '', text);
  o.value = value;
  return o;
}

function sheetNumberInput(name, count) {
  const n = el('input', 'as-3d-number');
  Object.assign(n, { type: 'number', min: '0', max: String(count - 1), step: '1' });
  n.dataset.control = name;
  return n;
}

function sheetClamp(text, lo, hi) {
  const v = Math.round(Number(text));
  return Number.isFinite(v) ? Math.max(lo, Math.min(hi, v)) : lo;
}

function bytesToBase64(bytes) {
  if (typeof bytes.toBase64 === 'function') return bytes.toBase64();
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
