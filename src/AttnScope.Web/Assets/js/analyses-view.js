// The Analyses tab: rollout (with a player over its layers) and flow as matrix views, token saliency as coloured
// text, and the layers × heads map of head roles. Token text and role names are data: they reach the page only
// through textContent, canvas text, or escaped SVG text. See Data/AnalysisData.cs for what the page receives.
import { el, formatShort, formatValue, headName, shortLabel } from './format.js';
import { lutCss } from './colors.js';
import { MatrixView } from './matrix-view.js';
import { Player } from './player.js';
import { sizeCanvas, textWidth } from './painter.js';

const KINDS = [['rollout', 'Rollout'], ['flow', 'Flow'], ['saliency', 'Saliency'], ['roles', 'Head roles']];

/** Dark text on light backgrounds, white on dark ones (the rule of the static views). */
function textOn(hex) {
  const n = parseInt(hex.slice(1), 16);
  const lum = (0.2126 * (n >> 16) + 0.7152 * ((n >> 8) & 255) + 0.0722 * (n & 255)) / 255;
  return lum > 0.5 ? '#222222' : '#ffffff';
}

/** A colour faded towards white by t (special tokens are dimmed this way). */
function fade(hex, t) {
  const n = parseInt(hex.slice(1), 16);
  const mix = c => Math.round(c + (255 - c) * t);
  return '#' + [n >> 16, (n >> 8) & 255, n & 255].map(c => mix(c).toString(16).padStart(2, '0')).join('');
}

/** The entry of an analysis for the stack shown, else the first one. */
function entryFor(viewer, kind) {
  const list = viewer.data.meta.analyses[kind];
  return list.find(e => e.stack === viewer.state.stack) || list[0];
}

/** A rollout (one step at a time) or the flow as a matrix view; hover gives the exact value. */
class AnalysisMatrixView extends MatrixView {
  constructor(viewer, kind) {
    super(viewer);
    this.kind = kind;
    this.valueName = kind;
    this.stepIndex = null;
  }

  async source() {
    const v = this.viewer;
    const e = entryFor(v, this.kind);
    const steps = e.steps || 1;
    if (this.stepIndex === null || this.stepIndex >= steps) this.stepIndex = steps - 1;
    const step = this.stepIndex;
    const info = v.data.stack(e.stack);
    const all = n => Array.from({ length: n }, (_, i) => i);
    this.entry = e;
    return {
      layer: await v.data.analysisMatrix(this.kind, e.stack, steps), head: step, step: null,
      caption: e.captions ? e.captions[step] : null, queries: e.rows || all(info.queries), keys: all(info.keys),
      qLabels: v.data.queryTokens(e.stack), kLabels: v.data.keyTokens(e.stack),
      exact: () => v.data.analysisExact(this.kind, e.stack, step),
    };
  }

  title() {
    const e = this.entry;
    return e.titles ? e.titles[this.stepIndex] : e.title;
  }
}

/** Rollout, or flow from every layer: a player over the layers above the matrix (flow from the top layer alone has none). */
class SteppedPanel {
  constructor(viewer, kind) {
    this.viewer = viewer;
    this.kind = kind;
    this.matrix = new AnalysisMatrixView(viewer, kind);
    this.element = el('div', `as-view as-${kind}`);
    this.playerFor = null;
  }

  async update() {
    const e = entryFor(this.viewer, this.kind);
    if (!e.captions) {
      this.playerFor = null;
      this.element.replaceChildren(this.matrix.element);
    } else if (this.playerFor !== e) {
      this.playerFor = e;
      const frames = e.captions.map((caption, index) => ({ caption, index }));
      this.player = new Player({ layers: frames, steps: [] }, f => { this.matrix.stepIndex = f.index; this.viewer.refresh(); }, null);
      this.player.element.dataset.control = `${this.kind}-player`;
      this.player.index = frames.length - 1;
      this.player.show();
      this.matrix.stepIndex = frames.length - 1;
      this.element.replaceChildren(this.player.element, this.matrix.element);
    }
    await this.matrix.update();
  }

  exportSize() { return this.matrix.exportSize(); }
  exportPaint(p) { this.matrix.exportPaint(p); }
  cellPoint(q, k) { return this.matrix.cellPoint(q, k); }
}

/** Token saliency as coloured text; hovering a token shows its exact value. */
class SaliencyPanel {
  constructor(viewer) {
    this.viewer = viewer;
    this.element = el('div', 'as-view as-saliency');
    this.built = false;
  }

  colour(tok) {
    const m = this.viewer.data.meta;
    const c = lutCss(m.colormap, Math.max(0, Math.min(1, tok.value / m.analyses.saliency.scaleMax)));
    return tok.special ? fade(c, 0.7) : c;
  }

  async update() {
    if (this.built) return;
    this.built = true;
    const v = this.viewer;
    const s = v.data.meta.analyses.saliency;
    const parts = [el('div', 'as-sal-title', s.title), el('div', 'as-sal-target', s.target)];
    this.spans = [];
    s.sections.forEach((sec, si) => {
      if (s.sections.length > 1) parts.push(el('div', 'as-sal-section', sec.name));
      const line = el('div', 'as-sal-text');
      let word = null;
      for (const tok of sec.tokens) {
        // a word and its pieces stay on one line
        if (!tok.joins || !word) { word = el('span', 'as-sal-word'); line.append(word); }
        const span = el('span', 'as-sal-token' + (tok.special ? ' as-sal-special' : '') + (tok.joins ? ' as-sal-joined' : ''), tok.text);
        const bg = this.colour(tok);
        span.style.background = bg;
        span.style.color = tok.special ? '#777777' : textOn(bg);
        span.dataset.section = String(si);
        span.dataset.index = String(tok.index);
        span.addEventListener('mouseenter', e => {
          v.tooltip.show(e, [['token', `#${tok.index} ${tok.label}`], [sec.name === 'tokens' ? 'saliency' : `${sec.name} saliency`, formatValue(Math.fround(tok.value))]], { exact: 'true' });
          v.timeHover(e);
        });
        span.addEventListener('mouseleave', () => v.tooltip.hide());
        word.append(span);
        this.spans.push(span);
      }
      parts.push(line);
    });
    const bar = el('div', 'as-sal-bar');
    const lut = v.data.meta.colormap;
    const grad = el('span', 'as-sal-gradient');
    grad.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map(t => lutCss(lut, t)).join(', ')})`;
    bar.append(el('span', 'as-control-label', '0'), grad, el('span', 'as-control-label', formatShort(s.scaleMax)),
      el('span', 'as-note', 'background: each token’s saliency; word pieces joined to their word; special tokens dimmed and left out of the scale. Hover a token for its value.'));
    parts.push(bar);
    this.element.replaceChildren(...parts);
  }

  tokenPoint(section, index) {
    const span = this.spans.find(sp => sp.dataset.section === String(section) && sp.dataset.index === String(index));
    span.scrollIntoView({ block: 'nearest' });
    const r = span.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }

  /** The same text wrapped at 900 px, drawn through the painter for export. */
  layout() {
    const s = this.viewer.data.meta.analyses.saliency;
    const items = [];
    let y = 52, x = 8, width = 0;
    const lineH = 24, maxW = 900;
    s.sections.forEach(sec => {
      if (s.sections.length > 1) { items.push({ header: sec.name, x: 8, y: y + 8 }); y += 22; }
      x = 8;
      for (const tok of sec.tokens) {
        const w = textWidth(tok.text, 14) + 6;
        if (!tok.joins && x > 8) x += 6;
        if (x + w > maxW && x > 8) { x = 8; y += lineH + 4; }
        items.push({ tok, x, y, w });
        x += w;
        width = Math.max(width, x);
      }
      y += lineH + 10;
    });
    return { items, width: Math.max(width, textWidth(s.title, 14, 'bold'), textWidth(s.target, 12)) + 16, height: y + 8 };
  }

  exportSize() { const l = this.layout(); return { width: l.width, height: l.height }; }

  exportPaint(p) {
    const s = this.viewer.data.meta.analyses.saliency;
    p.text(8, 14, s.title, { size: 14, weight: 'bold', color: '#222' });
    p.text(8, 34, s.target, { size: 12, color: '#444' });
    for (const it of this.layout().items) {
      if (it.header) { p.text(it.x, it.y, it.header, { size: 12, color: '#444' }); continue; }
      const bg = this.colour(it.tok);
      p.rect(it.x, it.y, it.w, 22, bg);
      p.text(it.x + 3, it.y + 11, it.tok.text, { size: 14, color: it.tok.special ? '#777777' : textOn(bg) });
    }
  }
}

/** Layers × heads coloured by role, the role's score in each cell; hovering a cell lists all statistics. */
class RoleMapPanel {
  constructor(viewer) {
    this.viewer = viewer;
    this.element = el('div', 'as-view as-roles');
    this.canvas = el('canvas', 'as-canvas');
    this.element.append(el('p', 'as-note', 'Each cell is one head, coloured by its role, with the score behind the role; hover a cell for all statistics.'), this.canvas);
    this.hover = null;
    this.canvas.addEventListener('mousemove', e => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => { this.hover = null; this.viewer.tooltip.hide(); this.draw(); });
  }

  async update() {
    const r = this.r = entryFor(this.viewer, 'roles');
    this.cw = Math.max(34, Math.min(56, Math.floor(760 / r.heads)));
    this.ch = 26;
    this.left = 60;
    this.top = 64;
    this.title = `${this.viewer.data.meta.model} · ${r.stack} · head roles (${r.layers} layers × ${r.heads} heads)`;
    const gridRight = this.left + r.heads * (this.cw + 2);
    this.legendX = gridRight + 24;
    const legendW = Math.max(...r.order.map(role => textWidth(this.legendText(role), 12))) + 26;
    this.width = Math.max(this.legendX + legendW + 8, textWidth(this.title, 14, 'bold') + 16);
    this.height = Math.max(this.top + r.layers * (this.ch + 2), this.top + r.order.length * 20) + 12;
    this.draw();
  }

  stat(l, h, s) { const r = this.r; return r.stats[(l * r.heads + h) * r.statNames.length + s]; }

  legendText(role) {
    const r = this.r;
    const n = r.roles.flat().filter(x => x === role).length;
    return `${role} (${n} head${n === 1 ? '' : 's'})${r.keyStats[role] ? ' · ' + r.keyStats[role] : ''}`;
  }

  score(l, h) {
    const r = this.r;
    const key = r.keyStats[r.roles[l][h]];
    if (!key) return null;
    const v = this.stat(l, h, r.statNames.indexOf(key));
    return Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2);
  }

  draw() { this.paint(sizeCanvas(this.canvas, this.width, this.height)); }
  exportSize() { return { width: this.width, height: this.height }; }
  exportPaint(p) { this.paint(p); }

  paint(p) {
    const r = this.r, { left, top, cw, ch } = this;
    p.text(8, 12, this.title, { size: 14, weight: 'bold', color: '#222' });
    p.text(left + (r.heads * (cw + 2)) / 2, 36, 'head', { size: 12, align: 'center', color: '#444' });
    p.text(14, top + (r.layers * (ch + 2)) / 2, 'layer', { size: 12, align: 'center', rotate: -90, color: '#444' });
    for (let h = 0; h < r.heads; h++) p.text(left + h * (cw + 2) + cw / 2, top - 10, String(h), { size: 11, align: 'center', color: '#333' });
    for (let l = 0; l < r.layers; l++) {
      p.text(left - 8, top + l * (ch + 2) + ch / 2, String(l), { size: 11, align: 'right', color: '#333' });
      for (let h = 0; h < r.heads; h++) {
        const color = r.colors[r.roles[l][h]];
        const x = left + h * (cw + 2), y = top + l * (ch + 2);
        p.rect(x, y, cw, ch, color);
        const sc = this.score(l, h);
        if (sc !== null && textWidth(sc, 11) < cw - 4) p.text(x + cw / 2, y + ch / 2, sc, { size: 11, align: 'center', color: textOn(color) });
      }
    }
    r.order.forEach((role, i) => {
      const y = top + i * 20;
      p.rect(this.legendX, y, 14, 14, r.colors[role]);
      p.strokeRect(this.legendX - 0.5, y - 0.5, 15, 15, '#444', 1);
      p.text(this.legendX + 22, y + 7, this.legendText(role), { size: 12, color: '#222' });
    });
    if (this.hover) {
      const { l, h } = this.hover;
      p.strokeRect(left + h * (cw + 2) - 1, top + l * (ch + 2) - 1, cw + 2, ch + 2, '#ff2d2d', 2);
    }
  }

  onMove(e) {
    const box = this.canvas.getBoundingClientRect();
    const x = e.clientX - box.left - this.left, y = e.clientY - box.top - this.top;
    const h = Math.floor(x / (this.cw + 2)), l = Math.floor(y / (this.ch + 2));
    const inside = x >= 0 && y >= 0 && h < this.r.heads && l < this.r.layers && x - h * (this.cw + 2) < this.cw && y - l * (this.ch + 2) < this.ch;
    const tip = this.viewer.tooltip;
    if (!inside) { this.hover = null; tip.hide(); this.draw(); return; }
    if (this.hover && this.hover.l === l && this.hover.h === h) return;
    this.hover = { l, h };
    this.draw();
    const r = this.r;
    tip.show(e, [['head', `layer ${l} · ${headName(this.viewer.data.stack(r.stack), h)}`], ['role', r.roles[l][h]],
      ...r.statNames.map((n, i) => [n, formatValue(Math.fround(this.stat(l, h, i)))])], { exact: 'true' });
    this.viewer.timeHover(e);
  }

  cellPoint(l, h) {
    const box = this.canvas.getBoundingClientRect();
    return { x: box.left + this.left + h * (this.cw + 2) + this.cw / 2, y: box.top + this.top + l * (this.ch + 2) + this.ch / 2 };
  }
}

export class AnalysesView {
  constructor(viewer) {
    this.viewer = viewer;
    const a = viewer.data.meta.analyses;
    this.kinds = KINDS.filter(([k]) => (k === 'saliency' ? !!a.saliency : a[k].length > 0));
    this.kind = this.kinds[0][0];
    this.element = el('div', 'as-view as-analyses');
    const tabs = el('div', 'as-tabs as-analysis-tabs');
    this.tabs = this.kinds.map(([k, text]) => {
      const b = el('button', 'as-tab', text);
      b.type = 'button';
      b.dataset.analysis = k;
      b.addEventListener('click', () => { this.kind = k; viewer.tooltip.hide(); viewer.refresh(); });
      tabs.append(b);
      return b;
    });
    this.stage = el('div', 'as-stage');
    this.element.append(tabs, this.stage);
    this.panels = {};
  }

  get panel() {
    if (!this.panels[this.kind]) {
      const v = this.viewer;
      this.panels[this.kind] = { rollout: () => new SteppedPanel(v, 'rollout'), flow: () => new SteppedPanel(v, 'flow'), saliency: () => new SaliencyPanel(v), roles: () => new RoleMapPanel(v) }[this.kind]();
    }
    return this.panels[this.kind];
  }

  async update() {
    for (const t of this.tabs) t.setAttribute('aria-pressed', String(t.dataset.analysis === this.kind));
    const p = this.panel;
    if (this.stage.firstChild !== p.element) this.stage.replaceChildren(p.element);
    await p.update();
  }

  exportSize() { return this.panel.exportSize(); }
  exportPaint(p) { this.panel.exportPaint(p); }
  cellPoint(a, b) { return this.panel.cellPoint(a, b); }
  tokenPoint(section, index) { return this.panel.tokenPoint(section, index); }
}
