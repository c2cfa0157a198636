// Image view of a vision capture (ViT / DeiT, docs/vision.md): the model's view of the image with its patch grid.
// Hover a patch (or focus one with the arrow keys, or pick a special token such as [CLS]) and the image is
// overlaid with a heat map of where that token attends, for the layer and head chosen (or the mean or max of the
// heads); click or Enter pins it, Escape releases. With a rollout or flow in the capture (attnscope analyze), the
// overlay can show that instead. The drawn values are kept in the canvas's data-overlay (JSON, one value per
// patch, row by row) so tests compare them with the capture.
import { el, formatValue } from './format.js';
import { PatchCanvas } from './patch-grid.js';

const SIDE = 448; // the image's longer side on screen, CSS pixels

export class VisionView {
  constructor(viewer) {
    this.viewer = viewer;
    const vm = viewer.data.meta.vision;
    this.vm = vm;
    this.element = el('div', 'as-view as-vision-view');
    this.note = el('p', 'as-note', 'Hover a patch (or a special token) to see where it attends; click to pin it, click again to release. Arrow keys move over the patches, Enter pins, Escape releases.');
    this.specials = el('div', 'as-vision-specials');
    const tokens = viewer.data.meta.tokens;
    this.specialButtons = Array.from({ length: vm.special }, (_, i) => {
      const b = el('button', 'as-btn as-vision-token', tokens[i] ? tokens[i].label : `token ${i}`);
      b.type = 'button';
      b.dataset.token = String(i);
      b.addEventListener('mouseenter', () => this.setHover(i));
      b.addEventListener('mouseleave', () => this.setHover(null));
      b.addEventListener('click', () => this.togglePin(i));
      this.specials.append(b);
      return b;
    });
    const src = el('select', 'as-select');
    this.sources = [['att', 'attention (layer, head)']];
    const an = viewer.data.meta.analyses || {};
    for (const r of an.rollout || []) if (r.stack === 'encoder') this.sources.push(['rollout', 'attention rollout']);
    for (const f of an.flow || []) if (f.stack === 'encoder') this.sources.push(['flow', 'attention flow']);
    for (const [v, t] of this.sources) { const o = el('option', '', t); o.value = v; src.append(o); }
    src.dataset.control = 'vision-source';
    src.addEventListener('change', () => { this.source = src.value; this.draw(); });
    this.source = 'att';
    const srcWrap = el('label', 'as-control');
    srcWrap.append(el('span', 'as-control-label', 'overlay'), src);
    srcWrap.hidden = this.sources.length < 2;
    this.caption = el('div', 'as-vision-caption');
    this.caption.setAttribute('aria-live', 'polite');
    this.grid = new PatchCanvas(vm, {
      side: SIDE, className: 'as-vision-canvas', onKey: key => this.onKey(key),
      label: 'Image view: the patches of the image. Arrow keys move over the patches, Enter pins the patch, Escape releases it.',
    });
    this.canvas = this.grid.canvas;
    this.cssW = this.grid.cssW;
    this.cssH = this.grid.cssH;
    if (vm.prediction) this.caption.dataset.prediction = vm.prediction;
    this.element.append(this.note, srcWrap, this.specials, this.canvas, this.caption);
    this.hover = null; this.pinned = null; this.focus = vm.special; // first patch
    this.canvas.addEventListener('mousemove', e => this.setHover(this.tokenAt(e)));
    this.canvas.addEventListener('mouseleave', () => this.setHover(null));
    this.canvas.addEventListener('click', e => { const t = this.tokenAt(e); if (t !== null) this.togglePin(t); });
    this.canvas.addEventListener('focus', () => { if (this.hover === null) this.setHover(this.focus); });
  }

  exportSize() { return { width: Math.max(this.cssW, 480), height: this.cssH + 24 }; }

  exportPaint(p) {
    p.image(0, 0, this.cssW, this.cssH, this.canvas);
    p.text(0, this.cssH + 16, this.caption.textContent, { size: 12, color: '#222222' });
  }

  /** The patch token under a mouse event, or null. */
  tokenAt(e) {
    const p = this.grid.patchAt(e);
    return p === null ? null : this.vm.special + p;
  }

  /** The client point at the centre of patch (row, col) (tests hover it). */
  patchPoint(row, col) { return this.grid.patchPoint(row, col); }

  onKey(key) {
    const vm = this.vm;
    if (key === 'Escape') { this.pinned = null; this.draw(); return true; }
    if (key === 'Enter') { this.togglePin(this.focus); return true; }
    this.focus = vm.special + this.grid.move(Math.max(0, this.focus - vm.special), key);
    this.setHover(this.focus);
    return true;
  }

  setHover(t) { this.hover = t; this.draw(); }

  togglePin(t) {
    this.pinned = this.pinned === t ? null : t;
    this.draw();
  }

  /** The token whose row is drawn: the pinned one, else the hovered one, else none. */
  get shown() { return this.pinned ?? this.hover; }

  async update() {
    // The patches are the encoder's tokens (a CLIP capture's decoder is its text tower): the view shows the encoder.
    if (this.viewer.state.stack !== 'encoder' && this.viewer.data.stack('encoder')) { this.viewer.setStack('encoder'); return; }
    this.src = await this.viewer.headSource();
    this.exact = await this.src.exact();
    await this.draw();
  }

  /** One row over all keys for token q from the chosen source; { values, label }. */
  async row(q) {
    const v = this.viewer, s = v.state, d = v.data, n = v.data.meta.tokens.length;
    const out = new Float32Array(n);
    if (this.source === 'att') {
      const src = this.src;
      if (this.exact) for (let k = 0; k < n; k++) out[k] = this.exact[q * n + k];
      else for (let k = 0; k < n; k++) out[k] = src.layer.value(src.head, q, k);
      return { values: out, label: `layer ${s.layer}, ${src.name}` };
    }
    const an = d.meta.analyses, info = (this.source === 'rollout' ? an.rollout : an.flow).find(r => r.stack === 'encoder');
    const steps = info.steps || 1;
    const step = this.source === 'rollout' ? Math.max(0, Math.min(steps - 1, s.layer - (info.startLayer || 0))) : steps - 1;
    const exact = await d.analysisExact(this.source, 'encoder', step);
    if (exact) for (let k = 0; k < n; k++) out[k] = exact[q * n + k];
    else {
      const m = await d.analysisMatrix(this.source, 'encoder', steps);
      for (let k = 0; k < n; k++) out[k] = m.value(step, q, k);
    }
    const cap = info.captions ? info.captions[step] : '';
    return { values: out, label: `${this.source}${cap ? ' ' + cap : ''}` };
  }

  async draw() {
    const seq = (this.drawSeq = (this.drawSeq || 0) + 1);
    const vm = this.vm, tokens = this.viewer.data.meta.tokens, q = this.shown;
    const row = q === null || !this.src ? null : await this.row(q);
    if (seq !== this.drawSeq) return;
    const patchValues = row ? Array.from(row.values.subarray(vm.special, vm.special + vm.gridRows * vm.gridCols)) : null;
    this.grid.draw(patchValues, q !== null && q >= vm.special ? q - vm.special : null, this.pinned === q);
    for (const b of this.specialButtons) b.setAttribute('aria-pressed', String(this.pinned === Number(b.dataset.token)));
    this.canvas.dataset.query = q === null ? '' : String(q);
    this.canvas.dataset.pinned = this.pinned === null ? '' : String(this.pinned);
    this.canvas.dataset.overlay = patchValues ? JSON.stringify(patchValues) : '';
    if (!row) {
      this.caption.textContent = `${vm.gridRows}×${vm.gridCols} patches of ${vm.patchSize} px` + (vm.prediction ? ` · predicted: ${vm.prediction}` : '') + (vm.rgb ? '' : ' · the image is too large to carry; grid only');
      return;
    }
    const max = Math.max(...patchValues);
    const special = Array.from({ length: vm.special }, (_, i) => `${tokens[i].label} ${formatValue(row.values[i])}`).join(', ');
    this.caption.textContent = `${tokens[q].label}${this.pinned === q ? ' (pinned)' : ''} → ${row.label}: strongest patch ${formatValue(max)}` + (special ? `; to ${special}` : '');
  }
}
