// Audio view of a speech capture (Whisper, docs/speech.md): the log-mel spectrogram the encoder read on a time axis
// in seconds, the decoder's tokens under it, and the cross attention of one decoding step over the encoder frames.
// Hover, focus or pin a produced token and the spectrogram is veiled everywhere but where the step that produced it
// attends (the brightest column is its strongest frame), with the values as bars in the strip below; per layer and
// head, the mean or max of a layer's heads, or the mean of the alignment heads. The word alignment (Whisper's DTW
// heuristic, computed from the capture by the server) is drawn as word spans, and the path's frames of the shown
// step are marked. Hovering the spectrogram colours the tokens by their attention to the frame under the pointer. With the player on decoding steps, the step's row is shown. The drawn values are kept in the
// canvas's data-overlay (JSON, one per frame shown) so tests compare them with the capture.
import { el, formatValue } from './format.js';
import { keyboardCanvas } from './keyboard.js';
import { TokenStrip } from './token-strip.js';
import { theme } from './theme.js';

const PAD_L = 70, PAD_R = 18, TOP = 10, MEL_H = 160, ATT_H = 64, WORDS_H = 30, AXIS_H = 42;

function decodeBytes(b64) {
  const bin = atob(b64), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A tick step (seconds) that leaves about `px` pixels between ticks over `seconds` drawn on `width` pixels. */
function tickStep(seconds, width, px) {
  for (const s of [0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60]) if (seconds / s <= width / px) return s;
  return 60;
}

export class AudioView {
  constructor(viewer) {
    this.viewer = viewer;
    const d = viewer.data, sm = d.meta.speech;
    this.sm = sm;
    this.cross = d.stack('cross');
    this.targets = d.meta.targetTokens;
    this.element = el('div', 'as-view as-audio-view');
    this.note = el('p', 'as-note', 'Hover a token (or move along them with the arrow keys) to see where the decoding step that produced it attends in the audio; click or Enter pins it, Escape releases. The player’s decoding steps show each step in turn.');
    const controls = el('div', 'as-audio-controls');
    this.layerSel = this.select(controls, 'audio-layer', 'layer', Array.from({ length: this.cross.layers }, (_, l) => [String(l), String(l)]));
    const headOptions = Array.from({ length: this.cross.heads }, (_, h) => [String(h), `head ${h}`]);
    headOptions.push(['mean', 'mean of heads'], ['max', 'max of heads']);
    if (sm.alignmentHeads && sm.alignmentHeads.length) headOptions.push(['align', `alignment heads (${sm.alignmentHeadsFrom === 'model' ? 'the model’s' : 'upper half of the layers'})`]);
    headOptions.push(['all', `mean of all ${this.cross.layers * this.cross.heads} heads (every layer)`]);
    this.headSel = this.select(controls, 'audio-heads', 'heads', headOptions);
    this.headSel.value = 'mean';
    this.fullBox = el('input');
    this.fullBox.type = 'checkbox';
    this.fullBox.dataset.control = 'audio-full';
    const fullWrap = el('label', 'as-control as-audio-full');
    fullWrap.append(this.fullBox, el('span', '', `whole ${this.frameSeconds(sm.encoderFrames)} window (with the padding)`));
    fullWrap.hidden = sm.audioFrames >= sm.encoderFrames;
    controls.append(fullWrap);
    this.headSel.addEventListener('change', () => { this.layerSel.disabled = this.headSel.value === 'align' || this.headSel.value === 'all'; });
    for (const c of [this.layerSel, this.headSel, this.fullBox]) c.addEventListener('change', () => { this.redraw(); if (this.timeAt !== null) this.colourTokens(this.timeAt); });

    this.canvas = el('canvas', 'as-audio-canvas');
    keyboardCanvas(this.canvas, 'Audio view: the spectrogram with the cross attention of the token shown. Left and right arrows step through the produced tokens, Enter pins, Escape releases.', key => this.onKey(key));
    this.canvas.addEventListener('mousemove', e => this.hoverTime(e));
    this.canvas.addEventListener('mouseleave', () => { this.timeAt = null; this.colourTokens(null); this.drawCaption(); });

    const P = sm.promptLength, n = this.targets.length;
    const prompt = el('div', 'as-audio-prompt');
    prompt.append(el('span', 'as-control-label', 'prompt'), el('span', 'as-audio-prompt-text', this.targets.slice(0, P).map(t => t.label).join(' ')));
    // Produced tokens: P … n−1; token j came from the step (cross row) j − 1.
    const items = [];
    for (let j = P; j < n; j++) items.push({ index: j, label: this.targets[j].label, special: this.targets[j].special, title: `produced by decoding step ${j - P + 1} (row ${j - 1})` });
    this.strip = new TokenStrip(items, {
      className: 'as-audio-tokens', label: 'produced tokens',
      onHover: j => { this.hover = j; this.redraw(); },
      onPin: j => { this.pinned = j; this.redraw(); },
    });
    this.caption = el('div', 'as-audio-caption');
    this.caption.setAttribute('aria-live', 'polite');
    this.element.append(this.note, controls, this.canvas, prompt, this.strip.element, this.caption);
    this.hover = null; this.pinned = null; this.timeAt = null;
    this.focusToken = items.length ? items[0].index : null;
    if (sm.mel) this.buildSpectrogram(d.meta.colormap);
  }

  select(parent, name, label, options) {
    const s = el('select', 'as-select');
    for (const [v, t] of options) { const o = el('option', '', t); o.value = v; s.append(o); }
    s.dataset.control = name;
    const wrap = el('label', 'as-control');
    wrap.append(el('span', 'as-control-label', label), s);
    parent.append(wrap);
    return s;
  }

  frameSeconds(frames) { return `${(frames * this.sm.frameSeconds).toFixed(frames * this.sm.frameSeconds < 10 ? 2 : 1)} s`; }

  /** The spectrogram as a bitmap [mel frames × bins], low bins at the bottom, through the viewer's colour map. */
  buildSpectrogram(lut) {
    const sm = this.sm, bytes = decodeBytes(sm.mel), W = sm.melFrames, H = sm.melBins;
    const img = new ImageData(W, H);
    for (let b = 0; b < H; b++)
      for (let f = 0; f < W; f++) {
        const c = lut[Math.min(lut.length - 1, Math.floor(bytes[b * W + f] / 255 * (lut.length - 1)))];
        const o = ((H - 1 - b) * W + f) * 4;
        img.data[o] = (c >> 16) & 255; img.data[o + 1] = (c >> 8) & 255; img.data[o + 2] = c & 255; img.data[o + 3] = 255;
      }
    this.bitmap = document.createElement('canvas');
    this.bitmap.width = W; this.bitmap.height = H;
    this.bitmap.getContext('2d').putImageData(img, 0, 0);
  }

  /** Frames drawn: the ones that hold audio, or the whole window. */
  get frames() { return this.fullBox.checked ? this.sm.encoderFrames : this.sm.audioFrames; }

  /** The cross row shown: the pinned token's step, else the hovered one's, else the player's decoding step; or null. */
  get row() {
    const j = this.pinned ?? this.hover;
    if (j !== null && j !== undefined) return j - 1;
    const s = this.viewer.state;
    return s.stepFrame && s.step !== null && s.step < this.cross.queries ? s.step : null;
  }

  onKey(key) {
    const items = this.strip.items;
    if (!items.length) return false;
    if (key === 'Escape') { this.strip.pin(null); return true; }
    if (key === 'Enter') { this.strip.pin(this.pinned === this.focusToken ? null : this.focusToken); return true; }
    let i = Math.max(0, items.findIndex(it => it.index === this.focusToken));
    if (key === 'ArrowLeft' || key === 'ArrowUp') i = Math.max(0, i - 1);
    else if (key === 'ArrowRight' || key === 'ArrowDown') i = Math.min(items.length - 1, i + 1);
    else if (key === 'Home') i = 0; else if (key === 'End') i = items.length - 1;
    this.focusToken = items[i].index;
    this.hover = this.focusToken;
    this.redraw();
    return true;
  }

  /** The heads the choice covers, as [layer, head] pairs, and how they combine. */
  heads() {
    const v = this.headSel.value, L = Number(this.layerSel.value), H = this.cross.heads;
    if (v === 'align') return { pairs: this.sm.alignmentHeads, mode: 'mean', label: `mean of ${this.sm.alignmentHeads.length} alignment heads` };
    if (v === 'all') {
      const pairs = [];
      for (let l = 0; l < this.cross.layers; l++) for (let h = 0; h < H; h++) pairs.push([l, h]);
      return { pairs, mode: 'mean', label: `mean of all ${pairs.length} heads` };
    }
    if (v === 'mean' || v === 'max') return { pairs: Array.from({ length: H }, (_, h) => [L, h]), mode: v, label: `layer ${L}, ${v} of ${H} heads` };
    return { pairs: [[L, Number(v)]], mode: 'mean', label: `layer ${L}, head ${v}` };
  }

  /** Cross attention of row r over every encoder frame for the chosen heads (exact values when the page has them;
   *  the mean summed in double). */
  async rowValues(r) {
    const d = this.viewer.data, F = this.cross.keys, { pairs, mode, label } = this.heads();
    const acc = new Float64Array(F);
    if (mode === 'max') acc.fill(-Infinity);
    for (const [l, h] of pairs) {
      const exact = await d.exactHead('cross', l, h);
      let get;
      if (exact) get = k => exact[r * F + k];
      else { const layer = await d.layer('cross', l); get = k => layer.value(h, r, k); }
      for (let k = 0; k < F; k++) { const v = get(k); if (mode === 'max') { if (v > acc[k]) acc[k] = v; } else acc[k] += v; }
    }
    if (mode === 'mean') for (let k = 0; k < F; k++) acc[k] /= pairs.length;
    return { values: Float32Array.from(acc), label };
  }

  async update() {
    // The player's layer frames of the cross stack choose the layer here too.
    const s = this.viewer.state;
    const key = `${s.stack}/${s.layer}`;
    if (!s.stepFrame && s.stack === 'cross' && this.seenKey !== undefined && this.seenKey !== key) this.layerSel.value = String(s.layer);
    this.seenKey = key;
    await this.redraw();
  }

  /** Draws again; `busy` resolves when it is on screen (tests wait on it). */
  redraw() { this.busy = this.draw(); return this.busy; }

  layout() {
    const avail = (this.viewer.stage && this.viewer.stage.clientWidth) || 960;
    const cssW = Math.max(560, Math.min(1400, avail - 24));
    const words = !!this.sm.alignment;
    const cssH = TOP + MEL_H + 8 + ATT_H + (words ? WORDS_H : 0) + AXIS_H;
    const plotW = cssW - PAD_L - PAD_R;
    return { cssW, cssH, plotW, words, melTop: TOP, attTop: TOP + MEL_H + 8, wordsTop: TOP + MEL_H + 8 + ATT_H, axisTop: TOP + MEL_H + 8 + ATT_H + (words ? WORDS_H : 0) };
  }

  /** The client x of the centre of encoder frame f (tests hover and read there). */
  frameX(f) {
    const r = this.canvas.getBoundingClientRect(), g = this.geom;
    return r.left + (PAD_L + (f + 0.5) / this.frames * g.plotW) * r.width / g.cssW;
  }

  /** The client box of the attention strip { top, bottom } (tests read its bars). */
  stripBox() {
    const r = this.canvas.getBoundingClientRect(), g = this.geom, k = r.height / g.cssH;
    return { top: r.top + g.attTop * k, bottom: r.top + (g.attTop + ATT_H) * k };
  }

  hoverTime(e) {
    const r = this.canvas.getBoundingClientRect(), g = this.geom;
    if (!g) return;
    const x = (e.clientX - r.left) * g.cssW / r.width - PAD_L;
    const f = x >= 0 && x < g.plotW ? Math.floor(x / g.plotW * this.frames) : null;
    if (f === this.timeAt) return;
    this.timeAt = f;
    this.drawCaption();
    this.colourTokens(f);
  }

  /** Colours the produced tokens by their step's attention to frame f (relative to the strongest token there). */
  async colourTokens(f) {
    const seq = (this.colourSeq = (this.colourSeq || 0) + 1);
    if (f === null) { this.strip.colour(null); return; }
    const values = new Map();
    let max = 0;
    for (const it of this.strip.items) {
      const { values: row } = await this.rowValues(it.index - 1);
      values.set(it.index, row[f]);
      max = Math.max(max, row[f]);
    }
    if (seq !== this.colourSeq) return;
    for (const [j, v] of values) values.set(j, max > 0 ? v / max : 0);
    this.strip.colour(values);
  }

  async draw() {
    const seq = (this.drawSeq = (this.drawSeq || 0) + 1);
    const row = this.row;
    const shown = row === null ? null : await this.rowValues(row);
    if (seq !== this.drawSeq) return;
    const g = (this.geom = this.layout()), sm = this.sm, Fs = this.frames, dark = theme.dark;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(g.cssW * dpr) || this.canvas.height !== Math.round(g.cssH * dpr)) {
      this.canvas.width = Math.round(g.cssW * dpr); this.canvas.height = Math.round(g.cssH * dpr);
      this.canvas.style.width = `${g.cssW}px`; this.canvas.style.height = `${g.cssH}px`;
    }
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const ink = dark ? '#e8e8e8' : '#222222', faint = dark ? '#9aa0a6' : '#666666', bg = dark ? '#17191e' : '#ffffff';
    ctx.fillStyle = bg;
    ctx.fillRect(0, 0, g.cssW, g.cssH);
    const X = f => PAD_L + f / Fs * g.plotW;
    // Spectrogram: mel frames are 10 ms, encoder frames 20 ms.
    const melShown = Math.min(sm.melFrames, Math.round(Fs * sm.frameSeconds / sm.melFrameSeconds));
    if (this.bitmap) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(this.bitmap, 0, 0, melShown, sm.melBins, PAD_L, g.melTop, melShown * sm.melFrameSeconds / (Fs * sm.frameSeconds) * g.plotW, MEL_H);
    } else {
      ctx.fillStyle = '#888'; ctx.fillRect(PAD_L, g.melTop, g.plotW, MEL_H);
      ctx.fillStyle = '#fff'; ctx.font = '12px sans-serif'; ctx.fillText('the spectrogram is too large to carry', PAD_L + 8, g.melTop + 20);
    }
    let values = null, max = 0, argmax = -1;
    if (shown) {
      values = Array.from(shown.values.subarray(0, Fs));
      values.forEach((v, f) => { if (v > max) { max = v; argmax = f; } });
      // Veil every frame by how far it falls below the strongest: the strongest frame stays as bright as it was.
      for (let f = 0; f < Fs; f++) {
        const t = max > 0 ? values[f] / max : 0;
        ctx.fillStyle = `rgba(0,0,0,${(0.72 * (1 - t)).toFixed(3)})`;
        const x0 = Math.round(X(f)), x1 = Math.round(X(f + 1)); // whole pixels: no seams between the columns
        ctx.fillRect(x0, g.melTop, x1 - x0, MEL_H);
      }
    }
    ctx.strokeStyle = faint; ctx.lineWidth = 1;
    ctx.strokeRect(PAD_L - 0.5, g.melTop - 0.5, g.plotW + 1, MEL_H + 1);
    // Attention strip: one bar per frame, scaled to the row's maximum.
    ctx.fillStyle = dark ? '#22262d' : '#f3f4f6';
    ctx.fillRect(PAD_L, g.attTop, g.plotW, ATT_H);
    if (values) {
      ctx.fillStyle = '#e8590c';
      for (let f = 0; f < Fs; f++) {
        const h = max > 0 ? values[f] / max * (ATT_H - 4) : 0;
        ctx.fillRect(X(f), g.attTop + ATT_H - h, Math.max(1, X(f + 1) - X(f) - (Fs < 200 ? 1 : 0)), h);
      }
    }
    else {
      ctx.fillStyle = faint; ctx.font = '12px sans-serif'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      ctx.fillText('hover or pin a token below (or play the decoding steps) to see its cross attention here', PAD_L + g.plotW / 2, g.attTop + ATT_H / 2);
    }
    ctx.strokeRect(PAD_L - 0.5, g.attTop - 0.5, g.plotW + 1, ATT_H + 1);
    // Alignment: the DTW path's frames of the shown row (a bracket over the strip) and the word spans.
    const al = sm.alignment;
    let pathFrames = null;
    if (al && row !== null) {
      const r = row - al.firstRow;
      for (let i = 0; i < al.path.length; i += 2) if (al.path[i] === r) {
        const f = al.path[i + 1];
        pathFrames = pathFrames ? [Math.min(pathFrames[0], f), Math.max(pathFrames[1], f)] : [f, f];
      }
      if (pathFrames && pathFrames[0] < Fs) {
        ctx.fillStyle = 'rgba(0,165,192,0.22)';
        ctx.fillRect(X(pathFrames[0]), g.attTop, X(pathFrames[1] + 1) - X(pathFrames[0]), ATT_H);
        ctx.strokeStyle = '#00a5c0'; ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(X(pathFrames[0]), g.attTop + 6); ctx.lineTo(X(pathFrames[0]), g.attTop + 1); ctx.lineTo(X(pathFrames[1] + 1), g.attTop + 1); ctx.lineTo(X(pathFrames[1] + 1), g.attTop + 6);
        ctx.stroke();
      }
    }
    ctx.font = '12px sans-serif';
    ctx.textBaseline = 'middle';
    if (g.words) {
      const token = row === null ? null : row + 1;
      for (const w of al.words) {
        const x0 = X(w.start / sm.frameSeconds), x1 = X(w.end / sm.frameSeconds);
        if (x0 >= PAD_L + g.plotW) continue;
        const on = token !== null && token >= w.first && token < w.first + w.count;
        ctx.fillStyle = on ? '#00a5c0' : (dark ? '#2d333b' : '#e3e7ee');
        ctx.fillRect(x0 + 0.5, g.wordsTop + 4, Math.max(1, Math.min(x1, PAD_L + g.plotW) - x0 - 1), WORDS_H - 8);
        ctx.fillStyle = on ? '#ffffff' : ink;
        ctx.save();
        ctx.beginPath(); ctx.rect(x0 + 2, g.wordsTop, Math.max(0, x1 - x0 - 4), WORDS_H); ctx.clip();
        ctx.textAlign = 'center';
        ctx.fillText(w.text, (x0 + x1) / 2, g.wordsTop + WORDS_H / 2);
        ctx.restore();
      }
    }
    // Axes: mel bins on the left, time in seconds below.
    ctx.fillStyle = ink; ctx.textAlign = 'right';
    ctx.fillText('0', PAD_L - 6, g.melTop + MEL_H - 6);
    ctx.fillText(String(sm.melBins - 1), PAD_L - 6, g.melTop + 6);
    ctx.fillText('attention', PAD_L - 6, g.attTop + ATT_H / 2 - 7);
    ctx.fillStyle = faint;
    ctx.fillText(values ? formatValue(Math.fround(max)).slice(0, 6) : '', PAD_L - 6, g.attTop + ATT_H / 2 + 8);
    if (g.words) { ctx.fillStyle = ink; ctx.fillText('words', PAD_L - 6, g.wordsTop + WORDS_H / 2); }
    ctx.save();
    ctx.translate(16, g.melTop + MEL_H / 2); ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center'; ctx.fillStyle = ink;
    ctx.fillText('mel bin', 0, 0);
    ctx.restore();
    const seconds = Fs * sm.frameSeconds, step = tickStep(seconds, g.plotW, 70);
    const decimals = step < 0.1 ? 2 : step < 1 ? 1 : 0;
    ctx.strokeStyle = faint; ctx.lineWidth = 1; ctx.textAlign = 'center'; ctx.textBaseline = 'top'; ctx.fillStyle = ink;
    ctx.beginPath();
    ctx.moveTo(PAD_L, g.axisTop + 0.5); ctx.lineTo(PAD_L + g.plotW, g.axisTop + 0.5);
    for (let t = 0; t <= seconds + 1e-9; t += step) {
      const x = Math.round(PAD_L + t / seconds * g.plotW) + 0.5;
      ctx.moveTo(x, g.axisTop); ctx.lineTo(x, g.axisTop + 5);
      ctx.fillText(t.toFixed(decimals), x, g.axisTop + 7);
    }
    ctx.stroke();
    ctx.fillText('time (s)', PAD_L + g.plotW / 2, g.axisTop + 24);
    if (argmax >= 0) { // the strongest frame, marked on the time axis
      ctx.fillStyle = '#e8590c';
      const x = (X(argmax) + X(argmax + 1)) / 2;
      ctx.beginPath(); ctx.moveTo(x, g.axisTop + 1); ctx.lineTo(x - 5, g.axisTop - 7); ctx.lineTo(x + 5, g.axisTop - 7); ctx.fill();
    }
    this.shownRow = row; this.shownLabel = shown ? shown.label : null; this.argmax = argmax; this.max = max; this.pathFrames = pathFrames;
    this.strip.mark(row === null ? null : row + 1);
    this.canvas.dataset.row = row === null ? '' : String(row);
    this.canvas.dataset.pinned = this.pinned === null ? '' : String(this.pinned);
    this.canvas.dataset.frames = String(Fs);
    this.canvas.dataset.overlay = values ? JSON.stringify(values) : '';
    this.canvas.dataset.argmax = argmax >= 0 ? String(argmax) : '';
    this.drawCaption();
  }

  drawCaption() {
    const sm = this.sm, row = this.shownRow, parts = [];
    if (row === null || row === undefined) parts.push(`${this.targets.length - sm.promptLength} produced tokens over ${this.frameSeconds(sm.audioFrames)} of audio (${sm.audioFrames} frames of 20 ms)`);
    else {
      const j = row + 1, P = sm.promptLength;
      const what = j < this.targets.length ? `produced '${this.targets[j].label}'` : 'produced nothing (after the end)';
      const name = j >= P && j < this.targets.length ? `decoding step ${j - P + 1} (row ${row})` : `row ${row}`;
      parts.push(`${name} ${what}${this.pinned !== null && this.pinned === j ? ' (pinned)' : ''} → ${this.shownLabel}: strongest at ${(this.argmax * sm.frameSeconds).toFixed(2)} s (frame ${this.argmax}, ${formatValue(this.max)})`);
      if (this.pathFrames) parts.push(`aligned to ${(this.pathFrames[0] * sm.frameSeconds).toFixed(2)}–${((this.pathFrames[1] + 1) * sm.frameSeconds).toFixed(2)} s`);
    }
    if (!sm.alignment && sm.alignmentNote) parts.push(`no word alignment: ${sm.alignmentNote}`);
    if (this.timeAt !== null && this.timeAt !== undefined) parts.push(`pointer: ${(this.timeAt * sm.frameSeconds).toFixed(2)} s (frame ${this.timeAt}); tokens coloured by their attention to it`);
    this.caption.textContent = parts.join(' · ');
  }

  exportSize() { return { width: this.geom ? this.geom.cssW : 800, height: (this.geom ? this.geom.cssH : 300) + 24 }; }

  exportPaint(p) {
    const g = this.geom || this.layout();
    p.image(0, 0, g.cssW, g.cssH, this.canvas);
    p.text(0, g.cssH + 16, this.caption.textContent, { size: 12, color: '#222222' });
  }
}
