// Q·K view: for one head and one query token, the query vector, every key vector, their element-wise product,
// the scaled score q·k/√d and its softmax, beside the attention the model recorded.
import { el, formatShort, headName, shortLabel } from './format.js';
import { divergingCss } from './colors.js';
import { textWidth } from './painter.js';
import { ScrollCanvas } from './scroll-canvas.js';

const QK_ROW = 16;
const QK_HEAD_ROWS = 3;

export class QkView {
  constructor(viewer) {
    this.viewer = viewer;
    this.element = el('div', 'as-view as-qk-view');
    this.note = el('p', 'as-note');
    this.scroll = new ScrollCanvas(Math.max(360, Math.round(window.innerHeight - 260)));
    this.element.append(this.note, this.scroll.element);
    this.scroll.onscroll = () => this.draw();
  }

  async update() {
    const v = this.viewer;
    const s = v.state;
    const qk = await v.data.qk(s.stack, s.layer, s.head);
    this.qk = qk;
    if (!qk) {
      this.note.textContent = 'This capture has no queries and keys; capture with --qkv (live captures in `attnscope serve` always have them).';
      this.scroll.element.hidden = true;
      return;
    }
    this.scroll.element.hidden = false;
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
    this.strip = d * this.cw;
    this.width = this.labelW + this.strip * 2 + 24 + 3 * 130;
    this.height = (QK_HEAD_ROWS + keys.length) * QK_ROW + 10;
    this.scroll.resize(this.width, this.height);
    this.draw();
  }

  draw() {
    if (!this.qk) return;
    const w = this.scroll.window();
    this.paint(this.scroll.painter(), w.top, w.bottom);
  }

  exportSize() { const w = this.scroll.window(); return { width: this.width, height: w.bottom - w.top }; }
  exportPaint(p) { const w = this.scroll.window(); this.paint(p, w.top, w.bottom); }

  paint(p, top, bottom) {
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
    const first = Math.max(0, Math.floor(top / QK_ROW) - QK_HEAD_ROWS), last = Math.min(this.keys.length - 1, Math.ceil(bottom / QK_ROW));
    for (let r = first; r <= last; r++) {
      const k = this.keys[r];
      const y = (QK_HEAD_ROWS + r) * QK_ROW + QK_ROW / 2 - top;
      const t = this.kLabels[k];
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
