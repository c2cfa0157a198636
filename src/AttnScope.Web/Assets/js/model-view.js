// Model view: every layer × head as a thumbnail (max-pooled to at most 64×64); click one to open it large.
import { el, headName, kvHead } from './format.js';
import { headColor, lutBytes } from './colors.js';
import { sizeCanvas } from './painter.js';
import { keyboardCanvas, pointEvent, step } from './keyboard.js';
import { headInk } from './theme.js';

const GRID_THUMB = 58;
const GRID_PAD = 6;
const GRID_LEFT = 64;
const GRID_TOP = 26;
const THUMB_CELLS = 64; // as the server's thumbnails (Data/ViewerData.cs)

/** uint8 [heads, tq, tk]: each head's rows `queries` × columns `keys` max-pooled to tq × tk, scaled to its maximum. */
export function pooledThumbs(layer, queries, keys, tq, tk) {
  const out = new Uint8Array(layer.heads * tq * tk);
  const pooled = new Float32Array(tq * tk);
  const kCell = Int32Array.from(keys, (_, c) => Math.floor(c * tk / keys.length));
  for (let h = 0; h < layer.heads; h++) {
    pooled.fill(0);
    queries.forEach((q, r) => {
      const row = h * layer.nq + q, scale = layer.scales[row] / 255, base = row * layer.nk;
      const at = Math.floor(r * tq / queries.length) * tk;
      for (let c = 0; c < keys.length; c++) {
        const v = layer.values[base + keys[c]] * scale;
        if (v > pooled[at + kCell[c]]) pooled[at + kCell[c]] = v;
      }
    });
    let max = 0;
    for (const v of pooled) max = Math.max(max, v);
    const f = max > 0 ? 255 / max : 0;
    for (let i = 0; i < pooled.length; i++) out[h * tq * tk + i] = Math.min(255, Math.round(pooled[i] * f));
  }
  return out;
}

export class ModelView {
  constructor(viewer) {
    this.viewer = viewer;
    this.element = el('div', 'as-view as-model-view');
    this.box = el('div', 'as-scroll as-scroll-both');
    this.canvas = el('canvas', 'as-canvas');
    this.box.append(this.canvas);
    this.element.append(this.box);
    this.lut = lutBytes(viewer.data.meta.colormap);
    this.hover = null;
    this.canvas.addEventListener('mousemove', e => this.onMove(e));
    this.canvas.addEventListener('mouseleave', e => this.setHover(null, e));
    keyboardCanvas(this.canvas, 'Model view: every layer and head as a thumbnail. Arrow keys move through them, Enter opens one large.', key => this.onKey(key));
    this.canvas.addEventListener('click', e => {
      const h = this.hit(e);
      if (h) viewer.openHead(h.layer, h.head);
    });
  }

  async update() {
    const v = this.viewer;
    const s = v.state;
    const info = v.data.stack(s.stack);
    this.info = info;
    this.stackName = s.stack;
    const filter = s.filter, kind = s.values;
    this.filter = filter;
    let images;
    if (filter === 'all' && kind === 'att') {
      const all = await Promise.all(Array.from({ length: info.layers }, (_, l) => v.data.thumbs(s.stack, l)));
      if (s.stack !== this.stackName || s.filter !== filter) return;
      images = all.map(bytes => this.images2d(bytes, info.thumbQ, info.thumbK));
    } else {
      // A sentence filter pools the kept rows and columns only, from each layer's attention; norm-based values are
      // pooled here too (the server's thumbnails are of the attention).
      const { queries, keys } = v.filtered();
      const layers = await Promise.all(Array.from({ length: info.layers }, (_, l) => v.data.layer(s.stack, l, kind)));
      if (s.stack !== this.stackName || s.filter !== filter || s.values !== kind) return;
      const tq = Math.max(1, Math.min(THUMB_CELLS, queries.length)), tk = Math.max(1, Math.min(THUMB_CELLS, keys.length));
      images = layers.map(layer => this.images2d(pooledThumbs(layer, queries, keys, tq, tk), tq, tk));
    }
    this.images = images;
    this.width = GRID_LEFT + info.heads * (GRID_THUMB + GRID_PAD) + 8;
    this.height = GRID_TOP + info.layers * (GRID_THUMB + GRID_PAD) + 8;
    this.draw();
  }

  images2d(bytes, thumbQ, thumbK) {
    const { heads } = this.info;
    const out = [];
    for (let h = 0; h < heads; h++) {
      const c = document.createElement('canvas');
      c.width = thumbK; c.height = thumbQ;
      const ctx = c.getContext('2d');
      const img = ctx.createImageData(thumbK, thumbQ);
      for (let i = 0; i < thumbQ * thumbK; i++) {
        const t = bytes[h * thumbQ * thumbK + i] * 3;
        img.data[i * 4] = this.lut[t]; img.data[i * 4 + 1] = this.lut[t + 1]; img.data[i * 4 + 2] = this.lut[t + 2]; img.data[i * 4 + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      out.push(c);
    }
    return out;
  }

  draw() { if (this.images) this.paint(sizeCanvas(this.canvas, this.width, this.height)); }
  exportSize() { return { width: this.width, height: this.height }; }
  exportPaint(p) { this.paint(p); }

  paint(p) {
    const s = this.viewer.state;
    for (let h = 0; h < this.info.heads; h++)
      p.text(GRID_LEFT + h * (GRID_THUMB + GRID_PAD) + GRID_THUMB / 2, GRID_TOP / 2,
        kvHead(this.info, h) === null ? `H${h}` : `H${h} · kv${kvHead(this.info, h)}`, { size: 11, align: 'center', color: headInk(headColor(h)), weight: 'bold' });
    for (let l = 0; l < this.info.layers; l++) {
      const y = GRID_TOP + l * (GRID_THUMB + GRID_PAD);
      p.text(GRID_LEFT - 8, y + GRID_THUMB / 2, `layer ${l}`, { size: 11, align: 'right', color: l === s.layer ? '#000' : '#555', weight: l === s.layer ? 'bold' : 'normal' });
      for (let h = 0; h < this.info.heads; h++) {
        const x = GRID_LEFT + h * (GRID_THUMB + GRID_PAD);
        p.image(x, y, GRID_THUMB, GRID_THUMB, this.images[l][h]);
        if (l === s.layer) p.strokeRect(x - 1.5, y - 1.5, GRID_THUMB + 3, GRID_THUMB + 3, '#999', 1);
        if (this.hover && this.hover.layer === l && this.hover.head === h) p.strokeRect(x - 2, y - 2, GRID_THUMB + 4, GRID_THUMB + 4, '#ff2d2d', 2.5);
      }
    }
  }

  hit(e) {
    const box = this.canvas.getBoundingClientRect();
    const x = e.clientX - box.left - GRID_LEFT, y = e.clientY - box.top - GRID_TOP;
    const head = Math.floor(x / (GRID_THUMB + GRID_PAD)), layer = Math.floor(y / (GRID_THUMB + GRID_PAD));
    if (x < 0 || y < 0 || head >= this.info.heads || layer >= this.info.layers) return null;
    if (x - head * (GRID_THUMB + GRID_PAD) > GRID_THUMB || y - layer * (GRID_THUMB + GRID_PAD) > GRID_THUMB) return null;
    return { layer, head };
  }

  onMove(e) { if (this.images) this.setHover(this.hit(e), e); }

  setHover(h, e) {
    if (h === this.hover || (h && this.hover && h.layer === this.hover.layer && h.head === this.hover.head)) return;
    this.hover = h;
    this.draw();
    if (h) this.viewer.tooltip.show(e, [['head', `layer ${h.layer}, ${headName(this.info, h.head)}`], ['', 'click to open']], {});
    else this.viewer.tooltip.hide();
  }

  /** Arrow keys move the hovered thumbnail (up and down the layers, left and right the heads), Enter opens it. */
  onKey(key) {
    if (!this.images) return false;
    if (key === 'Escape') { this.setHover(null, null); return true; }
    const h = this.hover;
    if (key === 'Enter') { if (h) this.viewer.openHead(h.layer, h.head); return true; }
    let layer = h ? h.layer : this.viewer.state.layer, head = h ? h.head : 0;
    if (h) {
      if (key === 'ArrowUp' || key === 'ArrowDown') layer = step(layer, this.info.layers, key);
      else head = step(head, this.info.heads, key);
    }
    const pt = this.thumbPoint(layer, head);
    this.setHover({ layer, head }, pointEvent(pt));
    return true;
  }

  thumbPoint(layer, head) {
    const x = GRID_LEFT + head * (GRID_THUMB + GRID_PAD) + GRID_THUMB / 2, y = GRID_TOP + layer * (GRID_THUMB + GRID_PAD) + GRID_THUMB / 2;
    const box = this.canvas.getBoundingClientRect();
    return { x: box.left + x, y: box.top + y };
  }
}
