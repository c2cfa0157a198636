// Text view (as CircuitsVis's coloured tokens): the tokens as running text; pick one (hover, or click to hold it) and
// every token is shaded by the attention between it and the picked one, for the layer and head chosen (or the mean or
// max of the heads), relative to the strongest. "from" shades the keys the picked token (as query) attends to, "to"
// the queries that attend to it. A capture whose queries and keys are different tokens (cross attention) shows both
// lines. Token text reaches the page through textContent only.
import { el, formatShort, formatValue, shortLabel } from './format.js';
import { textWidth } from './painter.js';
import { keyboardCanvas, pointEvent, step } from './keyboard.js';
import { theme } from './theme.js';

const SHADE = [33, 102, 172];
const DIRECTIONS = [['q', 'attention from the token (its row)'], ['k', 'attention to the token (its column)']];

/** The background for a shade t in [0, 1]: the page's background blended towards blue. */
function shade(t) {
  const base = theme.dark ? [0x17, 0x19, 0x1e] : [255, 255, 255];
  return `rgb(${base.map((b, i) => Math.round(b + (SHADE[i] - b) * t)).join(',')})`;
}

function inkOn(t) {
  return theme.dark || t > 0.55 ? (theme.dark ? '#ececec' : '#ffffff') : '#222222';
}

export class TextView {
  constructor(viewer) {
    this.viewer = viewer;
    this.element = el('div', 'as-view as-text-view');
    this.note = el('p', 'as-note', 'Hover a token to shade the text by its attention; click it to hold it, click again to release.');
    const dir = el('select', 'as-select');
    for (const [v, text] of DIRECTIONS) { const o = el('option', '', text); o.value = v; dir.append(o); }
    dir.dataset.control = 'text-direction';
    dir.addEventListener('change', () => {
      const t = this.viewer.state.token;
      this.direction = dir.value;
      if (t && this.same) this.viewer.setToken({ side: dir.value, index: t.index });
      this.recolour(null);
    });
    this.dirSel = dir;
    const wrap = el('label', 'as-control');
    wrap.append(el('span', 'as-control-label', 'shade by'), dir);
    this.caption = el('div', 'as-text-caption');
    this.body = el('div', 'as-text-body');
    this.bar = el('div', 'as-sal-bar');
    this.element.append(this.note, wrap, this.caption, this.body, this.bar);
    const held = viewer.state.token;
    this.direction = held ? held.side : 'q';
    dir.value = this.direction;
    this.hover = null;
    this.builtFor = null;
    keyboardCanvas(this.body, 'Text view: the tokens shaded by their attention to the picked token. Arrow keys move the pick, Enter holds it, Escape releases it.', key => this.onKey(key));
  }

  async update() {
    const v = this.viewer, s = v.state;
    const src = await v.headSource();
    this.src = src;
    this.exact = null;
    this.same = v.data.stack(s.stack).queryAxis === v.data.stack(s.stack).keyAxis;
    if (this.builtFor !== s.stack) this.build();
    const token = s.token;
    if (token && this.same) { this.direction = token.side; this.dirSel.value = token.side; }
    this.dirSel.parentElement.hidden = !this.same;
    const mine = src;
    src.exact().then(f => { if (this.src === mine && f) { this.exact = f; this.recolour(null); } });
    this.recolour(null);
  }

  /** The spans of the tokens: one line of text, or the queries' and the keys' lines when they differ. */
  build() {
    const v = this.viewer, s = v.state;
    this.builtFor = s.stack;
    const q = v.data.queryTokens(s.stack), k = v.data.keyTokens(s.stack);
    const same = v.data.stack(s.stack).queryAxis === v.data.stack(s.stack).keyAxis;
    const lines = same ? [['both', q, null]] : [['q', q, 'queries'], ['k', k, 'keys']];
    this.spans = { q: [], k: [] };
    this.lines = lines;
    const parts = [];
    for (const [axis, tokens, name] of lines) {
      if (name) parts.push(el('div', 'as-sal-section', name));
      const line = el('div', 'as-text-line');
      tokens.forEach((t, i) => {
        const joins = t.label.startsWith('##') && t.label.length > 2;
        const span = el('span', 'as-text-token' + (t.special ? ' as-text-special' : '') + (joins ? ' as-text-joined' : ''), joins ? t.label.slice(2) : t.label);
        span.dataset.index = String(i);
        span.dataset.axis = axis;
        span.addEventListener('mouseenter', e => this.onEnter(axis, i, e));
        span.addEventListener('mouseleave', () => { if (!this.viewer.state.token) { this.hover = null; this.recolour(null); } this.viewer.tooltip.hide(); });
        span.addEventListener('click', e => this.onClick(axis, i, e));
        line.append(span);
        if (axis === 'both' || axis === 'q') this.spans.q[i] = span;
        if (axis === 'both' || axis === 'k') this.spans.k[i] = span;
      });
      parts.push(line);
    }
    this.body.replaceChildren(...parts);
  }

  sideOf(axis) { return axis === 'both' ? this.direction : axis; }

  /** The picked token: the one held, else the one under the mouse, else none. */
  get focus() { return this.viewer.state.token || this.hover; }

  onEnter(axis, i, e) {
    const side = this.sideOf(axis);
    if (!this.viewer.state.token) { this.hover = { side, index: i }; this.recolour(e); }
    this.tip(axis, i, e);
  }

  onClick(axis, i, e) {
    const side = this.sideOf(axis), held = this.viewer.state.token;
    const same = held && held.side === side && held.index === i;
    this.viewer.setToken(same ? null : { side, index: i });
    this.hover = same ? { side, index: i } : null;
    this.recolour(e);
    this.tip(axis, i, e);
  }

  /** The value between the picked token and token i on the other side. */
  valueFor(f, i) {
    const { layer, head } = this.src;
    const q = f.side === 'q' ? f.index : i, k = f.side === 'q' ? i : f.index;
    if (this.exact) return { value: this.exact[q * layer.nk + k], exact: true };
    return { value: layer.value(head, q, k), exact: false };
  }

  tip(axis, i, e) {
    const v = this.viewer, f = this.focus;
    const tokens = axis === 'k' ? v.data.keyTokens(v.state.stack) : v.data.queryTokens(v.state.stack);
    const rows = [['token', `#${i} ${tokens[i].label}`]];
    if (f && (axis === 'both' || this.sideOf(axis) !== f.side)) {
      const { value, exact } = this.valueFor(f, i);
      rows.push(['value', exact ? formatValue(value) : '≈ ' + value.toPrecision(3)]);
    }
    v.tooltip.show(e, rows, {});
  }

  /** Shades the tokens on the other side of the picked one; `e` (a hover) is timed. */
  recolour(e) {
    const v = this.viewer, s = v.state, f = this.focus;
    const { layer, head } = this.src;
    const other = f ? (f.side === 'q' ? 'k' : 'q') : null;
    const n = f ? (other === 'k' ? layer.nk : layer.nq) : 0;
    const values = new Float64Array(n);
    let max = 0;
    for (let i = 0; i < n; i++) { values[i] = this.valueFor(f, i).value; max = Math.max(max, values[i]); }
    this.values = values;
    this.max = max;
    // One line of text: every token is on the other side of the picked one; two lines: the picked one's line stays plain.
    const sides = this.same ? [other || 'q'] : ['q', 'k'];
    for (const side of sides) {
      this.spans[side].forEach((span, i) => {
        const shaded = side === other;
        const t = shaded && max > 0 ? values[i] / max : 0;
        span.style.background = shade(t);
        span.style.color = inkOn(t);
        if (shaded) span.dataset.value = String(values[i]); else delete span.dataset.value;
        span.classList.toggle('as-text-focus', !!f && i === f.index && (this.same || side === f.side));
      });
    }
    const tokens = f ? (f.side === 'q' ? v.data.queryTokens(s.stack) : v.data.keyTokens(s.stack)) : null;
    this.captionText = f
      ? `${s.stack} layer ${s.layer} ${this.src.name} · ${v.valueName} ${f.side === 'q' ? 'from' : 'to'} #${f.index} “${shortLabel(tokens[f.index].label, 40)}”${v.state.token ? ' (held)' : ''}`
      : `${s.stack} layer ${s.layer} ${this.src.name} · pick a token`;
    this.caption.textContent = this.captionText;
    const grad = el('span', 'as-sal-gradient');
    grad.style.background = `linear-gradient(to right, ${[0, 0.5, 1].map(shade).join(', ')})`;
    this.bar.replaceChildren(el('span', 'as-control-label', '0'), grad, el('span', 'as-control-label', f ? formatShort(max) : 'the strongest'));
    if (e) v.timeHover(e);
  }

  onKey(key) {
    const f = this.focus, list = f ? this.spans[f.side] : this.spans.q;
    if (!list.length) return false;
    if (key === 'Escape') { this.viewer.setToken(null); this.hover = null; this.recolour(null); this.viewer.tooltip.hide(); return true; }
    if (key === 'Enter') { if (f) this.onClick(f.side === 'q' && !this.same ? 'q' : f.side === 'k' && !this.same ? 'k' : 'both', f.index, null); return true; }
    const side = f ? f.side : this.direction;
    const i = f ? step(f.index, list.length, key === 'ArrowUp' ? 'ArrowLeft' : key === 'ArrowDown' ? 'ArrowRight' : key) : 0;
    const pt = this.tokenPoint(side, i);
    if (this.viewer.state.token) this.viewer.setToken({ side, index: i }); else this.hover = { side, index: i };
    this.recolour(pointEvent(pt));
    return true;
  }

  /** Client coordinates of a token's middle (tests and the benchmark point the mouse there). */
  tokenPoint(side, index) {
    const span = this.spans[side][index];
    span.scrollIntoView({ block: 'nearest' });
    const r = span.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }

  /** The text wrapped at 900 px for export, drawn through the painter as shown. */
  layout() {
    const items = [];
    let y = 40, width = 0;
    for (const [axis, , name] of this.lines) {
      if (name) { items.push({ header: name, x: 8, y: y + 8 }); y += 22; }
      let x = 8;
      const side = axis === 'both' ? 'q' : axis;
      this.spans[side].forEach((span, i) => {
        const text = span.textContent;
        const w = textWidth(text, 14) + 6;
        if (!span.classList.contains('as-text-joined') && x > 8) x += 4;
        if (x + w > 900 && x > 8) { x = 8; y += 28; }
        items.push({ span, axis, i, text, x, y, w });
        x += w;
        width = Math.max(width, x);
      });
      y += 36;
    }
    return { items, width: Math.max(width, textWidth(this.captionText, 13, 'bold')) + 16, height: y };
  }

  exportSize() { const l = this.layout(); return { width: l.width, height: l.height }; }

  exportPaint(p) {
    p.text(8, 16, this.captionText, { size: 13, weight: 'bold', color: '#222' });
    const f = this.focus, other = f ? (f.side === 'q' ? 'k' : 'q') : null;
    for (const it of this.layout().items) {
      if (it.header) { p.text(it.x, it.y, it.header, { size: 12, color: '#444' }); continue; }
      const side = it.axis === 'both' ? other || 'q' : it.axis;
      const t = side === other && this.max > 0 ? this.values[it.i] / this.max : 0;
      // the shade is already the theme's: drawn as is
      p.rect(it.x, it.y, it.w, 24, '#ffffff');
      if (t > 0) p.rect(it.x, it.y, it.w, 24, `rgb(${SHADE.join(',')})`, t, { token: it.i, value: this.values[it.i] });
      const focus = f && it.i === f.index && (it.axis === 'both' || it.axis === f.side);
      if (focus) p.strokeRect(it.x - 1, it.y - 1, it.w + 2, 26, '#ff2d2d', 2);
      // light-theme colours: the painter turns them for the dark theme
      p.text(it.x + 3, it.y + 12, it.text, { size: 14, color: theme.dark ? '#222222' : inkOn(t) });
    }
  }
}
