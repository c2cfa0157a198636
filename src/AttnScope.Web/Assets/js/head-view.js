// Head view: query tokens on the left, key tokens on the right, a line from query to key for each selected
// head, its opacity the attention weight and its colour the head's. Hovering a token keeps only its lines. At a
// decoding or generation step t the view holds query t (its lines only) and leaves the later query rows blank; at a
// generation step the keys after t (tokens not generated yet) are left out too. While a token is hovered or held,
// each token on the other side gets a small box per shown head (BertViz's head view), filled with the head's colour
// at the weight's opacity. With the heads combined (mean or max) one set of lines in the text colour stands for them;
// norm-based values are drawn relative to each head's maximum.
import { el, shortLabel } from './format.js';
import { headColor } from './colors.js';
import { textWidth } from './painter.js';
import { ScrollCanvas } from './scroll-canvas.js';
import { headInk } from './theme.js';
import { keyboardCanvas, pointEvent, step } from './keyboard.js';

const HEAD_ROW = 18;
const HEAD_TOP = 30;
const HEAD_GAP = 260;
const HEAD_FONT = 13;
/** Below this weight a line is invisible at its opacity; the overview skips it. */
const HEAD_MIN_WEIGHT = 0.02;
/** A hovered token's lines below this weight are left out too: at an opacity under 1/100 they cannot be seen, and
 *  hundreds of them (diffuse attention over 1024 keys) cost the frame its time. */
const HOVER_MIN_WEIGHT = 0.01;
const HEAD_ALPHA_LEVELS = 24;
/** The weight boxes: at most this wide in all, each box 2–7 px. */
const BOXES_MAX = 84;
const COMBINED_COLOR = '#222222';

export class HeadView {
  constructor(viewer) {
    this.viewer = viewer;
    this.scroll = new ScrollCanvas(Math.max(360, Math.round(window.innerHeight - 230)));
    this.element = el('div', 'as-view as-head-view');
    this.element.append(el('p', 'as-note', 'Hover a token to see only its attention; click it to keep that (for export), click again to release.'), this.scroll.element);
    const held = viewer.state.token;
    this.hover = held ? { side: held.side, index: held.index } : null;
    this.pinned = !!held;
    this.layer = null;
    this.scroll.onscroll = () => this.draw();
    /** What the canvas shows since its last full drawing (top of the window, layer, focus), for hover redraws. */
    this.shown = null;
    const canvas = this.scroll.canvas;
    keyboardCanvas(canvas, 'Head view: query tokens on the left, key tokens on the right. Up and down arrows move through the tokens, left and right switch sides, Enter keeps the token, Escape releases it.', key => this.onKey(key));
    canvas.addEventListener('mousemove', e => this.onMove(e));
    canvas.addEventListener('mouseleave', e => { if (!this.pinned) this.setHover(null, e); });
    canvas.addEventListener('click', e => {
      const h = this.hit(this.scroll.point(e));
      this.pinned = !!h && !(this.pinned && this.hover && h.side === this.hover.side && h.index === this.hover.index);
      this.pinned = this.pinned && !!h;
      this.setHover(h, e, true);
      this.viewer.setToken(this.pinned ? h : null);
    });
  }

  async update() {
    const s = this.viewer.state, d = this.viewer.data;
    const layer = await d.layer(s.stack, s.layer, s.values);
    // Combined heads: one layer of one head, the mean or max of the heads shown.
    this.combined = s.combine === 'off' ? null : await d.combined(s.stack, s.layer, s.values, s.combine, [...s.heads].sort((a, b) => a - b));
    this.layer = layer;
    this.layout();
    this.draw();
  }

  layout() {
    const v = this.viewer;
    const s = v.state;
    const { queries, keys } = v.filtered();
    this.queries = queries;
    this.keys = keys;
    this.qLabels = v.data.queryTokens(s.stack);
    this.kLabels = v.data.keyTokens(s.stack);
    this.qPos = new Int32Array(this.layer.nq).fill(-1);
    this.kPos = new Int32Array(this.layer.nk).fill(-1);
    queries.forEach((q, row) => { this.qPos[q] = row; });
    keys.forEach((k, row) => { this.kPos[k] = row; });
    const widest = list => list.reduce((m, t) => Math.max(m, textWidth(shortLabel(t.label, 32), HEAD_FONT)), 80);
    this.colW = Math.ceil(Math.max(widest(queries.map(q => this.qLabels[q])), widest(keys.map(k => this.kLabels[k])))) + 16;
    // The gap between the columns widens when a decoding step's caption (drawn above it) needs the room.
    const caption = v.stepCaption;
    const heads = this.combined ? 1 : v.state.heads.size;
    this.boxW = heads ? Math.max(2, Math.min(7, Math.floor(BOXES_MAX / heads))) : 0;
    this.boxes = heads * this.boxW + 6;
    this.gap = Math.max(HEAD_GAP, caption === null ? 0 : Math.ceil(textWidth(caption, 12, 'bold')) + 24) + 2 * this.boxes;
    this.width = this.colW * 2 + this.gap;
    this.height = HEAD_TOP + Math.max(queries.length, keys.length) * HEAD_ROW + 8;
    this.scroll.resize(this.width, this.height);
  }

  rowY(row) { return HEAD_TOP + row * HEAD_ROW + HEAD_ROW / 2; }

  draw() {
    if (!this.layer) return;
    const w = this.scroll.window();
    this.paint(this.scroll.painter(), w.top, w.bottom);
    this.shown = { top: w.top, layer: this.layer, combined: this.combined, width: this.width, height: this.height, step: this.viewer.step, focus: this.focus };
  }

  /** A hover redraw: when nothing but the hovered token changed since the canvas was last drawn whole, only the band
   *  between the two label columns (the lines and the weight boxes) is cleared and redrawn, and the labels of the
   *  token that lost the focus and of the one that got it; the other labels stay as drawn. */
  drawHover() {
    const w = this.scroll.window(), was = this.shown;
    if (!was || was.top !== w.top || was.layer !== this.layer || was.combined !== this.combined || was.width !== this.width || was.height !== this.height || was.step !== this.viewer.step) {
      this.draw();
      return;
    }
    const p = this.scroll.painterInPlace();
    p.rect(this.colW, 0, this.gap, w.bottom - w.top, '#ffffff');
    this.paint(p, w.top, w.bottom, false, was.focus);
    was.focus = this.focus;
  }

  /** Export: the part in view, as shown. */
  exportSize() {
    const w = this.scroll.window();
    return { width: this.width, height: w.bottom - w.top };
  }

  exportPaint(p) {
    const w = this.scroll.window();
    this.paint(p, w.top, w.bottom, true);
  }

  /** Paints the view; with <c>wasFocus</c> given (a hover redraw, the band between the labels already cleared), only
   *  the band and the labels of the old and the new focus. */
  paint(p, top, bottom, forSvg, wasFocus) {
    const s = this.viewer.state;
    const partial = wasFocus !== undefined;
    // The lines run between the two columns of weight boxes.
    const x1 = this.colW + this.boxes, x2 = this.colW + this.gap - this.boxes;
    if (!partial) {
      p.text(this.colW - 8, HEAD_TOP / 2 - top, 'from (query)', { size: 11, color: '#666', align: 'right' });
      p.text(this.colW + this.gap + 8, HEAD_TOP / 2 - top, 'to (key)', { size: 11, color: '#666' });
    }
    const step = this.viewer.step;
    const keyLimit = this.viewer.keyLimit;
    if (step !== null) p.text(this.colW + this.gap / 2, HEAD_TOP / 2 - top, this.viewer.stepCaption, { size: 12, color: '#111', align: 'center', weight: 'bold' });
    const layer = this.combined || this.layer;
    const heads = this.combined ? [0] : [...s.heads].sort((a, b) => a - b);
    const colorOf = h => (this.combined ? COMBINED_COLOR : headInk(headColor(h)));
    const boxData = [];
    // Weight boxes only for the rows in view (a hover over 1024 tokens would otherwise make 12 × 1024 of them).
    const rowFirst = Math.floor((top - HEAD_TOP) / HEAD_ROW) - 1, rowLast = Math.ceil((bottom - HEAD_TOP) / HEAD_ROW) + 1;
    const inView = row => row >= rowFirst && row <= rowLast;
    let hv = this.hover && (this.hover.side === 'q' ? this.qPos : this.kPos)[this.hover.index] >= 0 ? this.hover : null;
    // At a step only the queries so far exist; the step's own query is shown unless another one is hovered.
    if (step !== null && (!hv || (hv.side === 'q' && hv.index > step) || (hv.side === 'k' && keyLimit !== null && hv.index > keyLimit))) hv = this.qPos[step] >= 0 ? { side: 'q', index: step } : null;
    this.focus = hv;
    // Each selected head's lines start and end a little apart within the row, so heads that attend alike show as
    // parallel strands of their colours rather than one line drawn over and over.
    const spread = Math.min(HEAD_ROW - 6, heads.length * 2);
    heads.forEach((h, slot) => {
      const dy = heads.length > 1 ? (slot / (heads.length - 1) - 0.5) * spread : 0;
      const buckets = Array.from({ length: HEAD_ALPHA_LEVELS + 1 }, () => ({ coords: [], data: forSvg ? [] : null }));
      const unit = layer.unit(h);
      const add = (q, k, v) => {
        v *= unit;
        const y1 = this.rowY(this.qPos[q]) + dy, y2 = this.rowY(this.kPos[k]) + dy;
        if (Math.max(y1, y2) < top || Math.min(y1, y2) > bottom) return;
        const b = buckets[Math.min(HEAD_ALPHA_LEVELS, Math.ceil(v * HEAD_ALPHA_LEVELS))];
        b.coords.push(x1, y1 - top, x2, y2 - top);
        if (forSvg) b.data.push({ head: this.combined ? s.combine : h, q, k });
      };
      if (hv && hv.side === 'q') {
        for (const k of this.keys) {
          if (keyLimit !== null && k > keyLimit) continue;
          const v = layer.value(h, hv.index, k);
          if (inView(this.kPos[k])) boxData.push({ slot, h, q: hv.index, k, v: v * unit });
          if (v * unit >= HOVER_MIN_WEIGHT) add(hv.index, k, v);
        }
      } else if (hv && hv.side === 'k') {
        for (const q of this.queries) {
          if (step !== null && q > step) continue;
          const v = layer.value(h, q, hv.index);
          if (inView(this.qPos[q])) boxData.push({ slot, h, q, k: hv.index, v: v * unit });
          if (v * unit >= HOVER_MIN_WEIGHT) add(q, hv.index, v);
        }
      } else if (step === null) {
        const sp = layer.sparse(h, HEAD_MIN_WEIGHT / unit);
        for (let i = 0; i < sp.q.length; i++) {
          if (this.qPos[sp.q[i]] >= 0 && this.kPos[sp.k[i]] >= 0) add(sp.q[i], sp.k[i], sp.v[i]);
        }
      }
      const color = colorOf(h);
      const width = heads.length > 4 ? 1.5 : 2;
      buckets.forEach((b, level) => {
        if (b.coords.length) p.lines(color, level / HEAD_ALPHA_LEVELS, width, b.coords, b.data);
      });
    });
    // The weight boxes beside the tokens on the other side of the one in focus: one per head, in the head's colour.
    if (hv) {
      const bw = this.boxW, other = hv.side === 'q' ? 'k' : 'q';
      const x0 = other === 'k' ? x2 + 3 : this.colW + 3;
      for (const b of boxData) {
        const row = other === 'k' ? this.kPos[b.k] : this.qPos[b.q];
        const y = this.rowY(row);
        if (y < top - HEAD_ROW || y > bottom + HEAD_ROW) continue;
        const x = x0 + b.slot * bw, bh = HEAD_ROW - 6;
        p.rect(x, y - bh / 2 - top, bw - 1, bh, '#f0f0f0');
        p.rect(x, y - bh / 2 - top, bw - 1, bh, colorOf(b.h), Math.min(1, b.v), forSvg ? { box: this.combined ? s.combine : b.h, q: b.q, k: b.k } : undefined);
      }
    }
    const first = Math.max(0, Math.floor((top - HEAD_TOP) / HEAD_ROW));
    const last = Math.min(Math.max(this.queries.length, this.keys.length) - 1, Math.ceil((bottom - HEAD_TOP) / HEAD_ROW));
    const label = (side, row) => {
      const y = this.rowY(row) - top;
      if (side === 'q' && row < this.queries.length && (step === null || this.queries[row] <= step)) this.token(p, 'q', this.queries[row], this.colW - 8, y, 'right');
      if (side === 'k' && row < this.keys.length && (keyLimit === null || this.keys[row] <= keyLimit)) this.token(p, 'k', this.keys[row], this.colW + this.gap + 8, y, 'left');
    };
    if (partial) {
      // Only the labels whose focus changed: cleared (their row of their column) and drawn again.
      const same = (a, b) => (a === b) || (a && b && a.side === b.side && a.index === b.index);
      if (!same(wasFocus, hv)) {
        for (const f of [wasFocus, hv]) {
          if (!f) continue;
          const row = (f.side === 'q' ? this.qPos : this.kPos)[f.index];
          if (row < first || row > last) continue;
          const x = f.side === 'q' ? 0 : this.colW + this.gap;
          p.rect(x, HEAD_TOP + row * HEAD_ROW - top, f.side === 'q' ? this.colW : this.width - x, HEAD_ROW, '#ffffff');
          label(f.side, row);
        }
      }
      return;
    }
    for (let row = first; row <= last; row++) {
      label('q', row);
      label('k', row);
    }
  }

  token(p, side, index, x, y, align) {
    const t = (side === 'q' ? this.qLabels : this.kLabels)[index];
    const text = shortLabel(t.label, 32);
    const hovered = this.focus && this.focus.side === side && this.focus.index === index;
    if (hovered) {
      const w = textWidth(text, HEAD_FONT, 'bold') + 8;
      p.rect(align === 'right' ? x - w + 4 : x - 4, y - HEAD_ROW / 2 + 1, w, HEAD_ROW - 2, '#ffe58a');
    }
    const color = t.special ? '#888' : t.segment === 'B' ? '#1d5f8a' : '#222';
    p.text(x, y, text, { size: HEAD_FONT, color, align, weight: hovered ? 'bold' : 'normal' });
  }

  hit(pt) {
    const row = Math.floor((pt.y - HEAD_TOP) / HEAD_ROW);
    if (row < 0) return null;
    if (pt.x < this.colW + 4 && row < this.queries.length) return { side: 'q', index: this.queries[row] };
    if (pt.x > this.colW + this.gap - 4 && row < this.keys.length) return { side: 'k', index: this.keys[row] };
    return null;
  }

  onMove(e) {
    if (!this.layer || this.pinned) return;
    this.viewer.handlerStart = performance.now();
    this.setHover(this.hit(this.scroll.point(e)), e);
  }

  setHover(h, e, force) {
    const same = (a, b) => (a === b) || (a && b && a.side === b.side && a.index === b.index);
    if (!force && same(h, this.hover)) return;
    this.hover = h;
    this.drawHover();
    this.viewer.timeHover(e);
  }

  /** Arrow keys move the hovered token (up and down a side, left and right across), Enter keeps it, Escape releases. */
  onKey(key) {
    if (!this.layer) return false;
    if (key === 'Escape') { this.pinned = false; this.setHover(null, null, true); this.viewer.tooltip.hide(); this.viewer.setToken(null); return true; }
    if (key === 'Enter') { if (this.hover) { this.pinned = !this.pinned; this.setHover(this.hover, null, true); this.viewer.setToken(this.pinned ? this.hover : null); } return true; }
    const h = this.hover;
    const side = !h ? 'q' : key === 'ArrowLeft' ? 'q' : key === 'ArrowRight' ? 'k' : h.side;
    const list = side === 'q' ? this.queries : this.keys;
    if (!list.length) return true;
    let row = h ? (h.side === 'q' ? this.qPos : this.kPos)[h.index] : 0;
    if (h && (key === 'ArrowUp' || key === 'ArrowDown' || key === 'Home' || key === 'End')) row = step(row, list.length, key === 'ArrowUp' ? 'ArrowLeft' : key);
    row = Math.max(0, Math.min(list.length - 1, row));
    const next = { side, index: list[row] };
    const pt = this.tokenPoint(side, next.index);
    this.setHover(next, pointEvent(pt), true);
    return true;
  }

  /** Page coordinates of a token's label (tests and the benchmark point the mouse there). */
  tokenPoint(side, index) {
    const row = (side === 'q' ? this.qPos : this.kPos)[index];
    const y = this.rowY(row);
    const x = side === 'q' ? this.colW - 20 : this.colW + this.gap + 20;
    return this.scroll.clientPoint(x, y);
  }
}
