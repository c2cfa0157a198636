// Q·K view: for one head and one query token, the query vector, every key vector, their element-wise product,
// the scaled score q·k/√d and its softmax, beside the attention the model recorded. Hovering a key (as in BertViz's
// neuron view) draws that pair's element-wise product q ∘ k dimension by dimension in the panel above, with its sum.
import { el, formatShort, formatValue, headName, shortLabel } from './format.js';
import { divergingCss } from './colors.js';
import { sizeCanvas, textWidth } from './painter.js';
import { ScrollCanvas } from './scroll-canvas.js';
import { keyboardCanvas, pointEvent, step } from './keyboard.js';

const QK_ROW = 16;
const QK_HEAD_ROWS = 3;
/** The pair panel: its height, and the height of its product bars on either side of the axis. */
const PAIR_H = 150;
const PAIR_BAR = 38;

export class QkView {
  constructor(viewer) {
    this.viewer = viewer;
    this.element = el('div', 'as-view as-qk-view');
    this.note = el('p', 'as-note');
    this.scroll = new ScrollCanvas(Math.max(360, Math.round(window.innerHeight - 260)));
    this.pairCanvas = el('canvas', 'as-canvas as-qk-pair');
    this.element.append(this.note, this.pairCanvas, this.scroll.element);
    this.scroll.onscroll = () => this.draw();
    this.pair = null;
    const canvas = this.scroll.canvas;
    canvas.addEventListener('mousemove', e => this.onMove(e));
    keyboardCanvas(canvas, 'Q·K view: the query against every key. Up and down arrows pick a key and show its product with the query dimension by dimension.', key => this.onKey(key));
  }

  async update() {
    const v = this.viewer;
    const s = v.state;
    const qk = await v.data.qk(s.stack, s.layer, s.head);
    this.qk = qk;
    if (!qk) {
      this.note.textContent = 'This capture has no queries and keys; capture with --qkv (live captures in `attnscope serve` always have them).';
      this.scroll.element.hidden = true;
      this.pairCanvas.hidden = true;
      return;
    }
    this.scroll.element.hidden = false;
    this.pairCanvas.hidden = false;
    this.layer = await v.data.layer(s.stack, s.layer);
    const { keys } = v.filtered();
    this.keys = keys;
    this.kLabels = v.data.keyTokens(s.stack);
    this.qLabels = v.data.queryTokens(s.stack);
    const d = qk.d, q = s.query;
    this.q = q;
    const qv = qk.query.subarray(q * d, (q + 1) * d);
    const nk = this.layer.nk;
    // Scores and softmax over every key of the sequence (the filter only hides rows).
    const scores = new Float64Array(nk), products = new Float64Array(nk * d);
    let max = -Infinity, vmax = 0, pmax = 0;
    for (let i = 0; i < d; i++) vmax = Math.max(vmax, Math.abs(qv[i]));
    for (let k = 0; k < nk; k++) {
      let dot = 0;
      for (let i = 0; i < d; i++) {
        const kv = qk.key[k * d + i];
        const prod = qv[i] * kv;
        products[k * d + i] = prod;
        dot += prod;
        vmax = Math.max(vmax, Math.abs(kv));
        pmax = Math.max(pmax, Math.abs(prod));
      }
      scores[k] = dot / Math.sqrt(d);
      max = Math.max(max, scores[k]);
    }
    let sum = 0;
    const soft = new Float64Array(nk);
    for (let k = 0; k < nk; k++) sum += (soft[k] = Math.exp(scores[k] - max));
    for (let k = 0; k < nk; k++) soft[k] /= sum;
    Object.assign(this, { qv, scores, soft, products, vmax: vmax || 1, pmax: pmax || 1 });
    this.note.textContent = `${s.stack} layer ${s.layer} ${headName(this.viewer.data.stack(s.stack), s.head)}, query #${q} “${this.qLabels[q].label}”: score = q·k / √${d}; softmax over all ${nk} keys; “recorded” is the model's own attention.`;
    this.cw = Math.max(3, Math.min(9, Math.floor(240 / d)));
    this.labelW = Math.ceil(keys.reduce((m, k) => Math.max(m, textWidth(shortLabel(this.kLabels[k].label, 18), 12)), 60)) + 12;
    this.labelW = Math.max(this.labelW, Math.ceil(textWidth(`q: ${shortLabel(this.qLabels[q].label, 14)}`, 12, 'bold')) + 12); // the query's own label
    this.strip = Math.max(d * this.cw, 64); // room for the strip's heading
    this.width = this.labelW + this.strip * 2 + 24 + 3 * 130;
    this.height = (QK_HEAD_ROWS + keys.length) * QK_ROW + 10;
    // The pair panel is above the scrolling box; the key rows below it keep the window's height.
    if (this.pair === null || this.pair >= nk || !keys.includes(this.pair)) this.pair = keys.length ? keys[0] : null;
    this.scroll.resize(this.width, this.height);
    this.draw();
  }

  draw() {
    if (!this.qk) return;
    const w = this.scroll.window();
    this.paint(this.scroll.painter(), w.top, w.bottom);
    if (this.pair !== null) this.paintPair(sizeCanvas(this.pairCanvas, this.pairWidth(), PAIR_H), 0);
  }

  exportSize() { const w = this.scroll.window(); return { width: Math.max(this.width, this.pairWidth()), height: PAIR_H + w.bottom - w.top }; }

  /** The pair panel's heading and sum line. */
  pairTexts() {
    const k = this.pair, q = this.q, d = this.qk.d;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += this.products[k * d + i];
    const rec = this.layer.value(this.viewer.state.head, q, k);
    return {
      dot,
      title: `q ∘ k of query #${q} “${shortLabel(this.qLabels[q].label, 24)}” and key #${k} “${shortLabel(this.kLabels[k].label, 24)}”, per dimension (${d})`,
      sum: `Σ q∘k = ${formatValue(Math.fround(dot))}   score = Σ / √${d} = ${formatShort(this.scores[k])}   softmax = ${formatShort(this.soft[k])}   recorded = ${formatShort(rec)}`,
    };
  }

  pairWidth() {
    const t = this.pairTexts(), d = this.qk.d;
    return Math.ceil(Math.max(this.width, this.labelW + d * Math.max(4, Math.min(14, Math.floor(900 / d))) + 24,
      textWidth(t.title, 12, 'bold') + 24, this.labelW + textWidth(t.sum, 12) + 24));
  }
  exportPaint(p) {
    const w = this.scroll.window();
    this.paintPair(p, 0, true);
    this.paint(p, w.top - PAIR_H, w.bottom - PAIR_H, PAIR_H);
  }

  /** The hovered pair's q ∘ k, one bar per dimension (red positive, blue negative, to the pair's largest), the query's
   *  and key's own values as strips under it, and the sum with its scaled score, softmax and the recorded attention. */
  paintPair(p, oy, forSvg) {
    const k = this.pair;
    if (k === null) return;
    const d = this.qk.d, q = this.q;
    const bw = Math.max(4, Math.min(14, Math.floor(900 / d))), x0 = this.labelW;
    let m = 0;
    for (let i = 0; i < d; i++) m = Math.max(m, Math.abs(this.products[k * d + i]));
    m = m || 1;
    const texts = this.pairTexts();
    p.text(8, oy + 10, texts.title, { size: 12, weight: 'bold', color: '#222' });
    const axis = oy + 26 + PAIR_BAR;
    p.text(x0 - 6, axis, 'q ∘ k', { size: 11, align: 'right', color: '#555' });
    p.rect(x0, axis, d * bw, 1, '#999999');
    for (let i = 0; i < d; i++) {
      const v = this.products[k * d + i], h = Math.abs(v) / m * PAIR_BAR;
      p.rect(x0 + i * bw, v >= 0 ? axis - h : axis + 1, bw - 1, Math.max(0.5, h), v >= 0 ? '#d62728' : '#3b4cc0', 1,
        forSvg ? { dim: i, product: v } : undefined);
    }
    const yq = axis + PAIR_BAR + 8, yk = yq + 11;
    p.text(x0 - 6, yq + 4, 'q', { size: 11, align: 'right', color: '#555' });
    p.text(x0 - 6, yk + 4, 'k', { size: 11, align: 'right', color: '#555' });
    for (let i = 0; i < d; i++) {
      p.rect(x0 + i * bw, yq, bw - 1, 9, divergingCss(this.qv[i] / this.vmax));
      p.rect(x0 + i * bw, yk, bw - 1, 9, divergingCss(this.qk.key[k * d + i] / this.vmax));
    }
    this.pairSum = texts.dot;
    p.text(x0, yk + 22, texts.sum, { size: 12, color: '#222' });
  }

  onMove(e) {
    if (!this.qk) return;
    const pt = this.scroll.point(e);
    const r = Math.floor(pt.y / QK_ROW) - QK_HEAD_ROWS;
    if (r < 0 || r >= this.keys.length) return;
    this.setPair(this.keys[r], e);
  }

  setPair(k, e) {
    if (k === this.pair) return;
    this.pair = k;
    this.draw();
    if (e) this.viewer.timeHover(e);
  }

  onKey(key) {
    if (!this.qk || !this.keys.length) return false;
    if (key === 'Enter' || key === 'Escape') return true;
    const r = step(Math.max(0, this.keys.indexOf(this.pair)), this.keys.length, key === 'ArrowLeft' ? 'ArrowUp' : key === 'ArrowRight' ? 'ArrowDown' : key);
    this.setPair(this.keys[r], pointEvent(this.keyPoint(this.keys[r])));
    return true;
  }

  /** Client coordinates of a key's row (tests and the benchmark point the mouse there). */
  keyPoint(k) {
    const r = this.keys.indexOf(k);
    return this.scroll.clientPoint(this.labelW / 2, (QK_HEAD_ROWS + r) * QK_ROW + QK_ROW / 2);
  }

  paint(p, top, bottom, clip = 0) {
    const d = this.qk.d, cw = this.cw;
    const xKey = this.labelW, xProd = xKey + this.strip + 12, xCols = xProd + this.strip + 12;
    const y0 = QK_ROW / 2 - top;
    p.text(xKey, y0, 'key vector k', { size: 11, color: '#555' });
    p.text(xProd, y0, 'q ⊙ k', { size: 11, color: '#555' });
    ['score', 'softmax', 'recorded'].forEach((t, i) => p.text(xCols + i * 130, y0, t, { size: 11, color: '#555' }));
    const yq = QK_ROW * 1.5 - top;
    p.text(this.labelW - 6, yq, `q: ${shortLabel(this.qLabels[this.q].label, 14)}`, { size: 12, align: 'right', weight: 'bold' });
    for (let i = 0; i < d; i++) p.rect(xKey + i * cw, yq - QK_ROW / 2 + 2, cw, QK_ROW - 4, divergingCss(this.qv[i] / this.vmax));
    const smax = Math.max(...this.scores.map(Math.abs)) || 1;
    const first = Math.max(0, Math.floor((top + clip) / QK_ROW) - QK_HEAD_ROWS), last = Math.min(this.keys.length - 1, Math.ceil(bottom / QK_ROW));
    for (let r = first; r <= last; r++) {
      const k = this.keys[r];
      const y = (QK_HEAD_ROWS + r) * QK_ROW + QK_ROW / 2 - top;
      const t = this.kLabels[k];
      if (k === this.pair) p.rect(0, y - QK_ROW / 2, this.width, QK_ROW, '#ffe58a');
      p.text(this.labelW - 6, y, shortLabel(t.label, 18), { size: 12, align: 'right', color: t.special ? '#888' : '#222' });
      for (let i = 0; i < d; i++) {
        p.rect(xKey + i * cw, y - QK_ROW / 2 + 2, cw, QK_ROW - 4, divergingCss(this.qk.key[k * d + i] / this.vmax));
        p.rect(xProd + i * cw, y - QK_ROW / 2 + 2, cw, QK_ROW - 4, divergingCss(this.products[k * d + i] / this.pmax));
      }
      const sc = this.scores[k];
      this.bar(p, xCols, y, sc / smax, formatShort(sc), true);
      this.bar(p, xCols + 130, y, this.soft[k], formatShort(this.soft[k]));
      const rec = this.layer.value(this.viewer.state.head, this.q, k);
      this.bar(p, xCols + 260, y, rec, formatShort(rec));
    }
  }

  bar(p, x, y, t, label, signed) {
    const w = 60;
    if (signed) {
      p.rect(x + w / 2 + Math.min(0, t) * w / 2, y - 5, Math.abs(t) * w / 2, 10, t >= 0 ? '#d62728' : '#3b4cc0');
    } else {
      p.rect(x, y - 5, Math.max(0.5, t * w), 10, '#2a6fb0');
    }
    p.text(x + w + 6, y, label, { size: 11, color: '#222' });
  }
}
