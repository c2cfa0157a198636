// Image view of a vision capture (ViT / DeiT, docs/vision.md): the model's view of the image with its patch grid.
// Hover a patch (or focus one with the arrow keys, or pick a special token such as [CLS]) and the image is
// overlaid with a heat map of where that token attends, for the layer and head chosen (or the mean or max of the
// heads); click or Enter pins it, Escape releases. With a rollout or flow in the capture (attnscope analyze), the
// overlay can show that instead. The drawn values are kept in the canvas's data-overlay (JSON, one value per
// patch, row by row) so tests compare them with the capture.
import { el, formatValue } from './format.js';
import { keyboardCanvas } from './keyboard.js';

const SIDE = 448; // the image's longer side on screen, CSS pixels

function decodeRgb(b64, w, h) {
  const bin = atob(b64), out = new Uint8ClampedArray(w * h * 4);
  for (let i = 0, j = 0; i < w * h; i++, j += 3) {
    out[i * 4] = bin.charCodeAt(j); out[i * 4 + 1] = bin.charCodeAt(j + 1); out[i * 4 + 2] = bin.charCodeAt(j + 2); out[i * 4 + 3] = 255;
  }
  return new ImageData(out, w, h);
}

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
    const scale = SIDE / Math.max(vm.width, vm.height);
    this.cssW = Math.round(vm.width * scale);
    this.cssH = Math.round(vm.height * scale);
    this.canvas = el('canvas', 'as-vision-canvas');
    this.canvas.style.width = `${this.cssW}px`;
    this.canvas.style.height = `${this.cssH}px`;
    const d = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.cssW * d);
    this.canvas.height = Math.round(this.cssH * d);
    this.image = vm.rgb ? decodeRgb(vm.rgb, vm.width, vm.height) : null;
    if (this.image) {
      this.bitmap = document.createElement('canvas');
      this.bitmap.width = vm.width; this.bitmap.height = vm.height;
      this.bitmap.getContext('2d').putImageData(this.image, 0, 0);
    }
    if (vm.prediction) this.caption.dataset.prediction = vm.prediction;
    this.element.append(this.note, srcWrap, this.specials, this.canvas, this.caption);
    this.hover = null; this.pinned = null; this.focus = vm.special; // first patch
    this.canvas.addEventListener('mousemove', e => this.setHover(this.tokenAt(e)));
    this.canvas.addEventListener('mouseleave', () => this.setHover(null));
    this.canvas.addEventListener('click', e => { const t = this.tokenAt(e); if (t !== null) this.togglePin(t); });
    keyboardCanvas(this.canvas, 'Image view: the patches of the image. Arrow keys move over the patches, Enter pins the patch, Escape releases it.', key => this.onKey(key));
    this.canvas.addEventListener('focus', () => { if (this.hover === null) this.setHover(this.focus); });
  }

  exportSize() { return { width: Math.max(this.cssW, 480), height: this.cssH + 24 }; }

  exportPaint(p) {
    p.image(0, 0, this.cssW, this.cssH, this.canvas);
    p.text(0, this.cssH + 16, this.caption.textContent, { size: 12, color: '#222222' });
  }

  /** The patch token under a mouse event, or null. */
  tokenAt(e) {
    const r = this.canvas.getBoundingClientRect(), vm = this.vm;
    const c = Math.floor((e.clientX - r.left) / r.width * vm.gridCols), row = Math.floor((e.clientY - r.top) / r.height * vm.gridRows);
    if (c < 0 || row < 0 || c >= vm.gridCols || row >= vm.gridRows) return null;
    return vm.special + row * vm.gridCols + c;
  }

  /** The client point at the centre of patch (row, col) (tests hover it). */
  patchPoint(row, col) {
    const r = this.canvas.getBoundingClientRect(), vm = this.vm;
    return { x: r.left + (col + 0.5) * r.width / vm.gridCols, y: r.top + (row + 0.5) * r.height / vm.gridRows };
  }

  onKey(key) {
    const vm = this.vm;
    if (key === 'Escape') { this.pinned = null; this.draw(); return true; }
    if (key === 'Enter') { this.togglePin(this.focus); return true; }
    let p = Math.max(0, this.focus - vm.special), r = Math.floor(p / vm.gridCols), c = p % vm.gridCols;
    if (key === 'ArrowLeft') c = Math.max(0, c - 1);
    else if (key === 'ArrowRight') c = Math.min(vm.gridCols - 1, c + 1);
    else if (key === 'ArrowUp') r = Math.max(0, r - 1);
    else if (key === 'ArrowDown') r = Math.min(vm.gridRows - 1, r + 1);
    else if (key === 'Home') { r = 0; c = 0; } else if (key === 'End') { r = vm.gridRows - 1; c = vm.gridCols - 1; }
    this.focus = vm.special + r * vm.gridCols + c;
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
    const ctx = this.canvas.getContext('2d'), W = this.canvas.width, H = this.canvas.height;
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, W, H);
    if (this.bitmap) ctx.drawImage(this.bitmap, 0, 0, W, H);
    else { ctx.fillStyle = '#888'; ctx.fillRect(0, 0, W, H); }
    const cw = W / vm.gridCols, ch = H / vm.gridRows;
    let patchValues = null;
    if (row) {
      patchValues = Array.from(row.values.subarray(vm.special, vm.special + vm.gridRows * vm.gridCols));
      const max = Math.max(...patchValues) || 1;
      // Darken the image, then light each patch by its value relative to the row's strongest patch.
      ctx.fillStyle = 'rgba(0,0,0,0.55)';
      ctx.fillRect(0, 0, W, H);
      for (let r = 0; r < vm.gridRows; r++)
        for (let c = 0; c < vm.gridCols; c++) {
          const t = patchValues[r * vm.gridCols + c] / max;
          ctx.fillStyle = `rgba(255,${Math.round(200 * (1 - t))},0,${(0.8 * t).toFixed(3)})`;
          ctx.fillRect(c * cw, r * ch, cw, ch);
        }
    }
    ctx.strokeStyle = 'rgba(255,255,255,0.45)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let c = 1; c < vm.gridCols; c++) { ctx.moveTo(Math.round(c * cw) + 0.5, 0); ctx.lineTo(Math.round(c * cw) + 0.5, H); }
    for (let r = 1; r < vm.gridRows; r++) { ctx.moveTo(0, Math.round(r * ch) + 0.5); ctx.lineTo(W, Math.round(r * ch) + 0.5); }
    ctx.stroke();
    if (q !== null && q >= vm.special) {
      const p = q - vm.special, r = Math.floor(p / vm.gridCols), c = p % vm.gridCols;
      ctx.strokeStyle = this.pinned === q ? '#00e5ff' : '#ffffff';
      ctx.lineWidth = 3;
      ctx.strokeRect(c * cw + 1.5, r * ch + 1.5, cw - 3, ch - 3);
    }
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
