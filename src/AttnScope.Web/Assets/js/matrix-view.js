// Matrix view: one head as a heatmap (queries down, keys across). Hovering a cell shows the exact value with its
// query and key tokens, in a tooltip and (for export) on the figure itself. At a decoding step t the rows after t
// are blank (not yet computed; the rows shown keep their values and the head's colour scale); at a generation step
// the key columns after t (tokens not generated yet) are blank too.
import { el, formatShort, formatValue, shortLabel } from './format.js';
import { lutBytes, lutCss } from './colors.js';
import { CanvasPainter, sizeCanvas, textWidth } from './painter.js';
import { keyboardCanvas, pointEvent, step } from './keyboard.js';

const MATRIX_LABEL_FONT = 11;
/** Up to this many rows, a row is at least FEW_ROW_HEIGHT px tall whatever the number of keys. */
const FEW_ROWS = 40;
const FEW_ROW_HEIGHT = 16;
/** Narrow columns label every few keys, these many px apart at least. */
const KEY_LABEL_GAP = 14;
/** The colour bar is at least this tall, so that its two labels (maximum and 0) stay apart. */
const BAR_MIN = 60;

export class MatrixView {
  constructor(viewer) {
    this.viewer = viewer;
    this.element = el('div', 'as-view as-matrix-view');
    this.box = el('div', 'as-scroll as-scroll-both');
    this.canvas = el('canvas', 'as-canvas');
    this.box.append(this.canvas);
    this.element.append(el('p', 'as-note', 'Hover a cell for its exact value; click to keep it (for export), click again to release.'), this.box);
    this.hover = null;
    this.exact = null;
    this.lut = lutBytes(viewer.data.meta.colormap);
    this.pinned = false;
    this.valueName = 'attention';
    this.canvas.addEventListener('mousemove', e => { if (!this.pinned) this.onMove(e); });
    this.canvas.addEventListener('mouseleave', e => { if (!this.pinned) this.setHover(null, e); });
    keyboardCanvas(this.canvas, 'Matrix view: one head, queries down and keys across. Arrow keys move through the cells, Enter keeps a cell, Escape releases it.', key => this.onKey(key));
    this.canvas.addEventListener('click', e => {
      this.pinned = !this.pinned;
      this.onMove(e);
      if (!this.hover) this.pinned = false;
    });
  }

  /** What the view shows: a LayerData and the head in it, the rows and columns kept, their tokens, the decoding
   *  step (or null) and its caption, and a promise of the exact values (or null). Other matrix views override it. */
  async source() {
    const v = this.viewer;
    const s = v.state;
    const { queries, keys } = v.filtered();
    const src = await v.headSource();
    this.headTitle = src.name;
    this.valueName = v.valueName;
    return {
      layer: src.layer, head: src.head, step: v.step, keyLimit: v.keyLimit, caption: v.stepCaption, queries, keys,
      qLabels: v.data.queryTokens(s.stack), kLabels: v.data.keyTokens(s.stack), exact: src.exact,
    };
  }

  async update() {
    const src = await this.source();
    this.layer = src.layer;
    this.head = src.head;
    this.step = src.step;
    this.keyLimit = src.keyLimit ?? null;
    this.queries = src.queries;
    this.keys = src.keys;
    this.qLabels = src.qLabels;
    this.kLabels = src.kLabels;
    const { queries, keys } = src;
    const n = Math.max(queries.length, keys.length);
    const square = n <= 200 ? Math.min(28, Math.max(10, Math.floor(640 / n))) : Math.max(1, Math.floor(1000 / n));
    // Cells are square, except that a few rows over many keys (flow from a few output tokens) get rows tall enough
    // to read and label.
    this.cell = square;
    this.rowH = queries.length <= FEW_ROWS ? Math.max(square, FEW_ROW_HEIGHT) : square;
    this.showLabels = this.rowH >= 9;
    // Key labels: every key when the columns are wide enough, else every keyStride-th one.
    this.keyStride = square >= 9 ? 1 : Math.ceil(KEY_LABEL_GAP / square);
    const size = Math.min(Math.max(this.rowH, square) - 1, 12);
    this.labelSize = size;
    const widest = list => list.reduce((m, t) => Math.max(m, textWidth(shortLabel(t.label, 16), size)), 0);
    this.left = this.showLabels ? Math.ceil(widest(queries.map(q => this.qLabels[q]))) + 10 : 24;
    // A decoding step's caption is a line of its own above the title.
    this.caption = src.caption;
    const labelled = keys.filter((_, c) => c % this.keyStride === 0);
    this.top = (this.showLabels ? Math.ceil(widest(labelled.map(k => this.kLabels[k]))) + 10 : 24) + 22 + (this.caption === null ? 0 : 18);
    this.width = Math.max(this.left + keys.length * this.cell + 90, this.left + textWidth(this.title(), 12) + 12,
      this.caption === null ? 0 : this.left + textWidth(this.caption, 13, 'bold') + 12);
    this.barH = Math.max(BAR_MIN, Math.min(200, queries.length * this.rowH));
    this.height = this.top + Math.max(queries.length * this.rowH, this.barH) + 12;
    this.image = this.heatmap();
    this.exact = null;
    const layer = this.layer, head = this.head;
    src.exact().then(f => {
      if (this.layer === layer && this.head === head) { this.exact = f; if (this.hover) this.setHover(this.hover, null, true); }
    });
    this.draw();
  }

  heatmap() {
    const { queries, keys, layer, head } = this;
    const c = document.createElement('canvas');
    c.width = Math.max(1, keys.length);
    c.height = Math.max(1, queries.length);
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(c.width, c.height);
    const max = layer.headMax(head) || 1;
    const px = img.data;
    let o = 0;
    for (const q of queries) {
      if (this.step !== null && q > this.step) { o += keys.length * 4; continue; }
      const row = head * layer.nq + q;
      const f = layer.scales[row] / 255 / max * 255;
      const base = row * layer.nk;
      for (const k of keys) {
        if (this.keyLimit !== null && k > this.keyLimit) { o += 4; continue; }
        const i = Math.min(255, Math.round(layer.values[base + k] * f)) * 3;
        px[o] = this.lut[i]; px[o + 1] = this.lut[i + 1]; px[o + 2] = this.lut[i + 2]; px[o + 3] = 255;
        o += 4;
      }
    }
    ctx.putImageData(img, 0, 0);
    return c;
  }

  title() {
    const s = this.viewer.state;
    const what = s.values === 'norm' ? 'norm-based attention ‖αf(x)‖, ' : '';
    return `${s.stack} layer ${s.layer} ${this.headTitle} — ${what}queries ↓ attend to keys →`;
  }

  /** The whole picture; the hovered cell's outline is drawn over it by drawOutline. */
  draw() {
    this.paint(sizeCanvas(this.canvas, this.width, this.height), false, false);
    // A copy of the picture without the outline: a hover restores the old outline's pixels from it and draws the new
    // one, instead of redrawing the whole picture (a large matrix's frame is then a few small rectangles).
    if (!this.base) this.base = document.createElement('canvas');
    this.base.width = this.canvas.width;
    this.base.height = this.canvas.height;
    this.base.getContext('2d').drawImage(this.canvas, 0, 0);
    this.outlined = null;
    this.drawOutline();
  }

  /** The hovered cell's outline, in CSS pixels: [x, y, w, h, line width], or null. */
  outlineRect() {
    const h = this.hover;
    const r = h ? this.queries.indexOf(h.q) : -1, c = h ? this.keys.indexOf(h.k) : -1;
    if (r < 0 || c < 0) return null;
    return [this.left + c * this.cell - 0.5, this.top + r * this.rowH - 0.5, this.cell + 1, this.rowH + 1, Math.max(1, Math.min(2, this.cell / 4))];
  }

  drawOutline() {
    const ctx = this.canvas.getContext('2d', { alpha: false });
    const scale = this.canvas.width / this.width;
    if (this.outlined) {
      const [x, y, w, h, lw] = this.outlined;
      const x0 = Math.max(0, Math.floor((x - lw - 1) * scale)), y0 = Math.max(0, Math.floor((y - lw - 1) * scale));
      const x1 = Math.min(this.canvas.width, Math.ceil((x + w + lw + 1) * scale)), y1 = Math.min(this.canvas.height, Math.ceil((y + h + lw + 1) * scale));
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(this.base, x0, y0, x1 - x0, y1 - y0, x0, y0, x1 - x0, y1 - y0);
      ctx.restore();
    }
    this.outlined = this.outlineRect();
    if (this.outlined) {
      const [x, y, w, h, lw] = this.outlined;
      new CanvasPainter(ctx).strokeRect(x, y, w, h, '#ff2d2d', lw);
    }
  }

  exportSize() { return { width: this.width, height: this.height }; }
  exportPaint(p) { this.paint(p, true); }

  /** On screen the page's tooltip shows the hovered cell; only an export paints its values into the picture. */
  paint(p, forExport, withHover = true) {
    const { left, top, cell, rowH } = this;
    const max = this.layer.headMax(this.head);
    if (this.caption !== null) p.text(left, 11, this.caption, { size: 13, color: '#111', weight: 'bold' });
    p.text(left, this.caption === null ? 11 : 29, this.title(), { size: 12, color: '#333' });
    p.image(left, top, this.keys.length * cell, this.queries.length * rowH, this.image);
    // At a decoding step the rows still to come are blank inside a faint outline of the whole matrix.
    if (this.step !== null) p.strokeRect(left - 0.5, top - 0.5, this.keys.length * cell + 1, this.queries.length * rowH + 1, '#c8c8c8', 1);
    if (this.showLabels) {
      this.queries.forEach((q, r) => {
        if (this.step !== null && q > this.step) return;
        const text = shortLabel(this.qLabels[q].label, 16), y = top + r * rowH + rowH / 2;
        if (q === this.step) {
          const w = textWidth(text, this.labelSize, 'bold') + 6;
          p.rect(left - 2 - w, y - rowH / 2, w, rowH, '#ffe58a');
        }
        p.text(left - 5, y, text, { size: this.labelSize, align: 'right', color: '#222', weight: q === this.step ? 'bold' : 'normal' });
      });
      this.keys.forEach((k, c) => (this.keyLimit !== null && k > this.keyLimit) || c % this.keyStride !== 0 || p.text(left + c * cell + cell / 2, top - 5, shortLabel(this.kLabels[k].label, 16), { size: this.labelSize, rotate: -90, color: '#222' }));
    }
    // Colour scale: 0 … the head's maximum.
    const bx = left + this.keys.length * cell + 16, bh = this.barH;
    for (let i = 0; i < bh; i++) p.rect(bx, top + i, 14, 1.5, lutCss(this.viewer.data.meta.colormap, 1 - i / bh));
    p.text(bx + 18, top + 4, formatShort(max), { size: 10, color: '#333' });
    p.text(bx + 18, top + bh - 4, '0', { size: 10, color: '#333' });
    const h = this.hover;
    const r = h ? this.queries.indexOf(h.q) : -1, c = h ? this.keys.indexOf(h.k) : -1;
    if (withHover && r >= 0 && c >= 0) {
      p.strokeRect(left + c * cell - 0.5, top + r * rowH - 0.5, cell + 1, rowH + 1, '#ff2d2d', Math.max(1, Math.min(2, cell / 4)));
      if (!forExport) return;
      const lines = this.tooltipLines(h);
      const w = Math.max(...lines.map(l => textWidth(l, 11))) + 12;
      const tx = Math.min(left + c * cell + cell + 6, this.width - w - 2), ty = Math.min(top + r * rowH + rowH + 4, this.height - 50);
      p.rect(tx, ty, w, lines.length * 15 + 6, '#ffffff', 0.92);
      p.strokeRect(tx, ty, w, lines.length * 15 + 6, '#555', 1);
      lines.forEach((l, i) => p.text(tx + 6, ty + 11 + i * 15, l, { size: 11, color: '#111' }));
    }
  }

  /** The value at (q, k): exact when the page has the head's float32 values, else the 8-bit one. */
  valueAt(q, k) {
    if (this.exact) return { value: this.exact[q * this.layer.nk + k], exact: true };
    return { value: this.layer.value(this.head, q, k), exact: false };
  }

  tooltipLines(h) {
    const { value, exact } = this.valueAt(h.q, h.k);
    return [
      `query #${h.q}: ${shortLabel(this.qLabels[h.q].label, 40)}`,
      `key #${h.k}: ${shortLabel(this.kLabels[h.k].label, 40)}`,
      `${this.valueName}: ${exact ? formatValue(value) : '≈ ' + value.toPrecision(3)}`,
    ];
  }

  onMove(e) {
    this.viewer.handlerStart = performance.now();
    const box = this.canvas.getBoundingClientRect();
    const x = e.clientX - box.left - this.left, y = e.clientY - box.top - this.top;
    const c = Math.floor(x / this.cell), r = Math.floor(y / this.rowH);
    const inside = x >= 0 && y >= 0 && r < this.queries.length && c < this.keys.length && (this.step === null || this.queries[r] <= this.step)
      && (this.keyLimit === null || this.keys[c] <= this.keyLimit);
    this.setHover(inside ? { q: this.queries[r], k: this.keys[c] } : null, e);
  }

  setHover(h, e, force) {
    if (!force && ((h === this.hover) || (h && this.hover && h.q === this.hover.q && h.k === this.hover.k))) return;
    this.hover = h;
    if (this.base && this.base.width === this.canvas.width && this.base.height === this.canvas.height) this.drawOutline(); else this.draw();
    const tip = this.viewer.tooltip;
    if (!h) { tip.hide(); return; }
    const { value, exact } = this.valueAt(h.q, h.k);
    tip.show(e, [
      ['query', `#${h.q} ${this.qLabels[h.q].label}`],
      ['key', `#${h.k} ${this.kLabels[h.k].label}`],
      ['value', exact ? formatValue(value) : '≈ ' + value.toPrecision(3)],
      ...(this.valueName === 'attention' ? [] : [['of', this.valueName]]),
    ], { exact: String(exact) });
    if (e) this.viewer.timeHover(e);
  }

  /** Arrow keys move the hovered cell, Home and End go to the row's ends, Enter keeps it, Escape releases it. */
  onKey(key) {
    if (!this.queries || !this.queries.length || !this.keys.length) return false;
    if (key === 'Escape') { this.pinned = false; this.setHover(null, null); return true; }
    if (key === 'Enter') { if (this.hover) this.pinned = !this.pinned; return true; }
    const h = this.hover;
    let r = h ? this.queries.indexOf(h.q) : 0, c = h ? this.keys.indexOf(h.k) : 0;
    if (h) {
      if (key === 'ArrowUp' || key === 'ArrowDown') r = step(r, this.queries.length, key);
      else c = step(c, this.keys.length, key);
    }
    // Rows after a decoding step and keys after a generation step hold nothing.
    if (this.step !== null) while (r > 0 && this.queries[r] > this.step) r--;
    if (this.keyLimit !== null) while (c > 0 && this.keys[c] > this.keyLimit) c--;
    const q = this.queries[r], k = this.keys[c];
    this.setHover({ q, k }, pointEvent(this.cellPoint(q, k)), true);
    return true;
  }

  cellPoint(q, k) {
    const r = this.queries.indexOf(q), c = this.keys.indexOf(k);
    const x = this.left + c * this.cell + this.cell / 2, y = this.top + r * this.rowH + this.rowH / 2;
    this.box.scrollLeft = Math.max(0, x - this.box.clientWidth / 2);
    this.box.scrollTop = Math.max(0, y - this.box.clientHeight / 2);
    const box = this.canvas.getBoundingClientRect();
    return { x: box.left + x, y: box.top + y };
  }
}
