// The viewer: controls, shared state and the four views over one CaptureData. Used by the served page and the
// offline page alike.
import { el, headName, kvHead } from './format.js';
import { headColor, headColors } from './colors.js';
import { HeadView } from './head-view.js';
import { ModelView } from './model-view.js';
import { MatrixView } from './matrix-view.js';
import { QkView } from './qk-view.js';
import { AnalysesView } from './analyses-view.js';
import { ThreeDView } from './three-d-view.js';
import { VisionView } from './vision-view.js';
import { AudioView } from './audio-view.js';
import { ClipView } from './clip-view.js';
import { GraphView } from './graph-view.js';
import { Player } from './player.js';
import { Tooltip } from './tooltip.js';
import { download, maybeNoDownloads, renderPng, renderSvg } from './export.js';
import { TextView } from './text-view.js';
import { formatState, parseState } from './url-state.js';
import { onSystemTheme, resolveTheme, theme } from './theme.js';

const VIEWS = [['head', 'Head'], ['model', 'Model'], ['matrix', 'Matrix'], ['text', 'Text'], ['qk', 'Q·K'], ['3d', '3D'], ['graph', '3D graph']];
const VALUES = [['att', 'attention'], ['norm', 'norm-based ‖αf(x)‖']];
const THEMES = [['auto', 'auto'], ['light', 'light'], ['dark', 'dark']];
const FILTERS = [['all', 'all tokens'], ['AA', 'A → A'], ['AB', 'A → B'], ['BA', 'B → A'], ['BB', 'B → B']];

export class Viewer {
  /** root: an empty element; data: a CaptureData; options.url: whether the page address holds this viewer's state
   *  (read at the start, kept up to date). */
  constructor(root, data, options = {}) {
    this.root = root;
    this.data = data;
    this.timings = { firstPaint: null, hovers: [], views: [] };
    this.useUrl = !!options.url;
    const first = data.meta.stacks[0];
    this.state = {
      view: 'head', stack: first.name, layer: 0, head: 0, query: 0, filter: 'all', step: null, stepFrame: null,
      heads: new Set(Array.from({ length: first.heads }, (_, h) => h)),
      values: 'att', combine: 'off', token: null, theme: theme.setting,
    };
    this.hasB = [...data.meta.tokens, ...data.meta.targetTokens].some(t => t.segment === 'B');
    if (this.useUrl) this.applyUrl();
    this.applyTheme();
    onSystemTheme(() => { if (this.state.theme === 'auto') { this.applyTheme(); this.refresh(); } });
    this.seq = 0;
    root.replaceChildren();
    root.classList.add('as-viewer');
    this.buildHeader();
    this.root.dataset.theme = theme.dark ? 'dark' : 'light';
    this.toolbar = el('div', 'as-toolbar');
    this.legend = el('div', 'as-heads');
    const steps = data.meta.steps || [];
    // The stacks whose query rows are the steps' (the decoder and cross stacks of a translation, the decoder of a
    // generation) show a step; the others (a translation's encoder) show every row.
    this.stepAxis = steps.length ? data.stack(steps[0].stack).queryAxis : null;
    this.player = new Player({ layers: data.meta.frames, steps }, f => this.setFrame(f),
      f => f.stack === this.state.stack && f.layer === this.state.layer);
    this.error = el('div', 'as-error');
    this.error.hidden = true;
    this.stage = el('div', 'as-stage');
    this.player.sync(this.state.stack, this.state.layer);
    root.append(this.toolbar, this.legend, this.player.element, this.error, this.stage);
    this.tooltip = new Tooltip(root);
    this.views = {};
    this.buildToolbar();
    this.buildLegend();
    // A resized window refits the scrolling boxes (once the resizing pauses).
    let resizeTimer = null;
    window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => this.refresh(), 120); });
    this.refresh();
  }

  buildHeader() {
    const m = this.data.meta;
    const header = el('div', 'as-header');
    header.append(el('h1', 'as-title', m.title || 'attention'));
    header.append(el('div', 'as-sub', `${m.model} · ${m.source} engine · ${m.tokens.length} tokens · ` +
      m.stacks.map(s => `${s.name} ${s.layers}×${s.heads}`).join(', ')));
    // The input text, as text: what the tokens came from.
    const names = m.speech ? ['audio', 'transcript'] : m.vision ? ['image', 'text'] : m.texts.length > 1 ? ['text', 'pair'] : ['text'];
    m.texts.forEach((t, i) => {
      const line = el('div', 'as-input');
      line.dataset.text = String(i);
      line.append(el('span', 'as-input-name', `${names[i] || 'text ' + (i + 1)}: `), el('span', 'as-input-text', t));
      header.append(line);
    });
    for (const w of m.warnings) header.append(el('div', 'as-warning', w));
    if (m.exact === 'none') header.append(el('div', 'as-warning', 'This page holds 8-bit attention values (to 1/255 of each row’s maximum); open the capture with attnscope serve for exact values.'));
    this.root.append(header);
  }

  control(name, label, node) {
    const wrap = el('label', 'as-control');
    wrap.append(el('span', 'as-control-label', label), node);
    node.dataset.control = name;
    this.toolbar.append(wrap);
    return wrap;
  }

  select(name, label, options, value, onChange) {
    const s = el('select', 'as-select');
    this.fillSelect(s, options, value);
    s.addEventListener('change', () => onChange(s.value));
    return { select: s, wrap: this.control(name, label, s) };
  }

  fillSelect(s, options, value) {
    s.replaceChildren(...options.map(([v, text]) => { const o = el('option', '', text); o.value = String(v); return o; }));
    s.value = String(value);
  }

  buildToolbar() {
    const tabs = el('div', 'as-tabs');
    const views = this.viewNames().map(n => [...VIEWS, ['analyses', 'Analyses'], ['image', 'Image'], ['audio', 'Audio'], ['clip', 'Image–text']].find(([v]) => v === n));
    this.tabs = views.map(([name, text]) => {
      const b = el('button', 'as-tab', text);
      b.type = 'button';
      b.dataset.view = name;
      b.addEventListener('click', () => this.setView(name));
      // Left and right arrows move along the tabs (past disabled ones) and open the view.
      b.addEventListener('keydown', e => {
        if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
        e.preventDefault();
        const on = this.tabs.filter(t => !t.disabled);
        const next = on[(on.indexOf(b) + (e.key === 'ArrowRight' ? 1 : on.length - 1)) % on.length];
        next.focus();
        this.setView(next.dataset.view);
      });
      tabs.append(b);
      return b;
    });
    tabs.setAttribute('role', 'group');
    tabs.setAttribute('aria-label', 'view');
    this.toolbar.append(tabs);
    const m = this.data.meta;
    const st = this.select('stack', 'stack', m.stacks.map(s => [s.name, s.name]), this.state.stack, v => this.setStack(v));
    st.wrap.hidden = m.stacks.length < 2;
    this.stackSel = st.select;
    this.layerSel = this.select('layer', 'layer', [], 0, v => { this.state.layer = Number(v); this.player.sync(this.state.stack, this.state.layer); this.refresh(); });
    this.headSel = this.select('head', 'head', [], 0, v => { this.state.head = v === 'mean' || v === 'max' ? v : Number(v); this.refresh(); });
    this.valuesSel = this.select('values', 'values', VALUES, this.state.values, v => { this.state.values = v; this.tooltip.hide(); this.refresh(); });
    this.filterWrap = this.select('filter', 'sentences', FILTERS, this.state.filter, v => { this.state.filter = v; this.refresh(); }).wrap;
    this.filterWrap.hidden = !this.hasB;
    this.querySel = this.select('query', 'query token', [], 0, v => { this.state.query = Number(v); this.refresh(); });
    const exp = el('div', 'as-export');
    for (const [kind, text] of [['png', 'PNG'], ['svg', 'SVG']]) {
      const b = el('button', 'as-btn', `Export ${text}`);
      b.type = 'button';
      b.setAttribute('aria-label', `Export the current view as ${text}`);
      b.dataset.control = `export-${kind}`;
      b.addEventListener('click', () => this.export(kind));
      exp.append(b);
    }
    this.themeSel = this.select('theme', 'theme', THEMES, this.state.theme, v => this.setTheme(v)).select;
    this.themeSel.setAttribute('aria-label', 'colour theme: auto follows the system');
    this.toolbar.append(exp);
    // Where a download may be dropped without a word (a sandboxed frame), the export is also shown here to save by hand.
    this.exportNote = el('div', 'as-export-note');
    this.exportNote.setAttribute('role', 'status');
    this.exportNote.hidden = true;
    this.toolbar.after(this.exportNote);
    this.syncControls();
  }

  buildLegend() {
    const info = this.data.stack(this.state.stack);
    this.legend.replaceChildren(el('span', 'as-control-label', 'heads'));
    // With grouped-query attention the buttons come in groups, each led by the key/value head its heads share.
    this.headButtons = Array.from({ length: info.heads }, (_, h) => {
      const kv = kvHead(info, h);
      if (kv !== null && (h === 0 || kvHead(info, h - 1) !== kv)) {
        const g = el('span', 'as-kv-group', `kv ${kv}`);
        g.title = `key/value head ${kv}, shared by the heads after it`;
        this.legend.append(g);
      }
      const b = el('button', 'as-head', String(h));
      b.type = 'button';
      b.dataset.head = String(h);
      b.title = `${headName(info, h)}: click to show or hide, double-click to show it alone`;
      b.style.setProperty('--head-color', headColor(h));
      b.setAttribute('aria-label', `${headName(info, h)}: show or hide`);
      b.addEventListener('click', () => {
        if (this.state.heads.has(h)) this.state.heads.delete(h); else this.state.heads.add(h);
        this.headsChanged();
      });
      b.addEventListener('dblclick', () => { this.state.heads = new Set([h]); this.headsChanged(); });
      this.legend.append(b);
      return b;
    });
    const all = el('button', 'as-btn as-small', 'all');
    all.type = 'button';
    all.dataset.control = 'all-heads';
    all.setAttribute('aria-label', 'show all heads');
    all.addEventListener('click', () => { this.state.heads = new Set(Array.from({ length: info.heads }, (_, h) => h)); this.headsChanged(); });
    this.legend.append(all);
    // The shown heads combined into one: their mean or their maximum, drawn as one set of lines.
    this.combineButtons = ['mean', 'max'].map(mode => {
      const b = el('button', 'as-btn as-small as-combine', mode);
      b.type = 'button';
      b.dataset.control = `combine-${mode}`;
      b.title = `draw the ${mode === 'mean' ? 'mean' : 'maximum'} of the shown heads as one (click again for each head)`;
      b.setAttribute('aria-label', `${mode} of the shown heads`);
      b.addEventListener('click', () => { this.state.combine = this.state.combine === mode ? 'off' : mode; this.headsChanged(); });
      this.legend.append(b);
      return b;
    });
    this.headsChanged(true);
  }

  headsChanged(quiet) {
    this.headButtons.forEach((b, h) => b.setAttribute('aria-pressed', String(this.state.heads.has(h))));
    for (const b of this.combineButtons) b.setAttribute('aria-pressed', String(b.dataset.control === `combine-${this.state.combine}`));
    if (!quiet && this.state.view === 'head' && this.views.head) this.refresh();
  }

  syncControls() {
    const s = this.state;
    const info = this.data.stack(s.stack);
    this.stackSel.value = s.stack;
    this.fillSelect(this.layerSel.select, Array.from({ length: info.layers }, (_, l) => [l, String(l)]), s.layer);
    const headOptions = Array.from({ length: info.heads }, (_, h) => [h, kvHead(info, h) === null ? String(h) : `${h} (kv ${kvHead(info, h)})`]);
    if (s.view !== 'qk') headOptions.push(['mean', 'mean of heads'], ['max', 'max of heads']);
    else if (typeof s.head !== 'number') s.head = 0; // Q·K is one head's
    this.fillSelect(this.headSel.select, headOptions, s.head);
    if (!info.norm) s.values = 'att';
    this.valuesSel.select.value = s.values;
    this.valuesSel.wrap.hidden = !info.norm || s.view === 'qk' || s.view === 'analyses';
    this.themeSel.value = s.theme;
    const qt = this.data.queryTokens(s.stack);
    this.fillSelect(this.querySel.select, qt.map((t, i) => [i, `#${i} ${t.label}`]), s.query);
    this.headSel.wrap.hidden = !(s.view === 'matrix' || s.view === 'qk' || s.view === 'text' || s.view === 'image');
    this.querySel.wrap.hidden = s.view !== 'qk';
    this.layerSel.wrap.hidden = s.view === 'model' || s.view === 'analyses' || s.view === '3d' || s.view === 'graph'; // 3D: its own layer range
    this.legend.hidden = s.view !== 'head';
    if (s.view === 'audio' || s.view === 'clip') this.layerSel.wrap.hidden = true; // their own controls
    this.player.element.hidden = s.view === 'analyses' || s.view === 'clip' || s.view === '3d' || s.view === 'graph';
    this.filterWrap.hidden = !this.hasB || s.view === 'analyses' || s.view === 'text' || s.view === '3d' || s.view === 'graph'; // analyses, the text and 3D show every token
    for (const t of this.tabs) t.setAttribute('aria-pressed', String(t.dataset.view === s.view));
    const qkTab = this.tabs.find(t => t.dataset.view === 'qk');
    qkTab.disabled = !info.headDim;
    if (this.useUrl) this.writeUrl();
    qkTab.title = info.headDim ? '' : 'this capture has no queries and keys (capture with --qkv)';
  }

  /** The views this capture offers (Q·K stays listed, disabled, without queries and keys). */
  viewNames() {
    return [...VIEWS.map(([v]) => v), ...(this.data.meta.analyses ? ['analyses'] : []), ...(this.data.meta.vision ? ['image'] : []), ...(this.data.meta.speech ? ['audio'] : []), ...(this.data.meta.clip ? ['clip'] : [])];
  }

  /** Takes the valid fields of the page address (see url-state.js) into the state. */
  applyUrl() {
    const p = parseState(location.hash, this.data.meta, { views: this.viewNames(), hasB: this.hasB });
    const s = this.state;
    if (p.stack) {
      s.stack = p.stack;
      s.heads = new Set(Array.from({ length: this.data.stack(p.stack).heads }, (_, h) => h));
    }
    for (const k of ['view', 'layer', 'head', 'values', 'combine', 'filter', 'token', 'query', 'theme']) if (k in p) s[k] = p[k];
    if (p.heads) s.heads = new Set(p.heads);
    if (s.view === 'qk' && !this.data.stack(s.stack).headDim) s.view = 'head';
  }

  /** Keeps the page address in step with the state (replacing the entry: no history item per hover). */
  writeUrl() {
    const hash = formatState(this.state, this.data.stack(this.state.stack));
    if (hash === location.hash) return;
    try { history.replaceState(history.state, '', hash); } catch { /* a sandboxed or opaque page may refuse: the picture stays */ }
  }

  /** The token held (a view's click or Enter), or null; kept in the address. */
  setToken(token) {
    this.state.token = token;
    if (this.useUrl) this.writeUrl();
  }

  applyTheme() {
    resolveTheme(this.state.theme);
    this.root.dataset.theme = theme.dark ? 'dark' : 'light';
  }

  setTheme(setting) {
    this.state.theme = setting;
    this.applyTheme();
    // One theme per page: other viewers on it follow.
    for (const v of (window.attnscope && window.attnscope.viewers) || []) if (v !== this) { v.state.theme = setting; v.applyTheme(); v.refresh(); }
    this.refresh();
  }

  /** What a one-head view shows for the state: the LayerData and head index in it (the mean or max of all heads is a
   *  one-head layer of its own), a name for titles, and a promise of the exact values or null. */
  async headSource() {
    const s = this.state, d = this.data, info = d.stack(s.stack), kind = s.values;
    if (s.head === 'mean' || s.head === 'max') {
      const all = Array.from({ length: info.heads }, (_, h) => h);
      return {
        layer: await d.combined(s.stack, s.layer, kind, s.head, all), head: 0, name: `${s.head} of ${info.heads} heads`,
        exact: () => d.combinedExact(s.stack, s.layer, kind, s.head),
      };
    }
    return { layer: await d.layer(s.stack, s.layer, kind), head: s.head, name: headName(info, s.head), exact: () => d.exactHead(s.stack, s.layer, s.head, kind) };
  }

  /** 'attention' or 'norm' for labels. */
  get valueName() { return this.state.values === 'norm' ? 'norm ‖αf(x)‖' : 'attention'; }

  setView(name) {
    if (name === 'analyses') this.player.pause(); // the layer player is hidden there
    this.state.view = name;
    this.tooltip.hide();
    this.refresh();
  }

  setStack(name) {
    const s = this.state;
    const info = this.data.stack(name);
    s.stack = name;
    s.layer = Math.min(s.layer, info.layers - 1);
    s.head = Math.min(s.head, info.heads - 1);
    s.query = 0;
    s.token = null;
    s.heads = new Set(Array.from({ length: info.heads }, (_, h) => h));
    this.buildLegend();
    this.player.sync(s.stack, s.layer);
    this.refresh();
  }

  setFrame(frame) {
    if (frame.step !== undefined) {
      // A decoding step keeps the chosen layer and heads, and the decoder or cross stack if one is shown.
      if (this.data.stack(this.state.stack).queryAxis !== this.stepAxis) this.setStack(frame.stack);
      this.state.step = frame.step;
      this.state.stepFrame = frame;
      this.state.query = frame.step;
      this.refresh();
      return;
    }
    this.state.step = null;
    this.state.stepFrame = null;
    if (frame.stack !== this.state.stack) this.setStack(frame.stack);
    this.state.layer = frame.layer;
    this.refresh();
  }

  /** The query row of the decoding or generation step the player holds when the shown stack's queries are those
   *  steps' rows (rows after it are not computed yet); else null. */
  get step() {
    const s = this.state;
    return s.step !== null && this.data.stack(s.stack).queryAxis === this.stepAxis ? s.step : null;
  }

  /** The caption of the step shown ("step 3: produced 'Hund'"), or null. */
  get stepCaption() {
    return this.step === null ? null : this.state.stepFrame.caption;
  }

  /** The step's number from 1 (for export names), or null. */
  get stepNumber() {
    return this.step === null ? null : this.data.meta.steps.indexOf(this.state.stepFrame) + 1;
  }

  /** Keys after the step's row are tokens not generated yet (a generation step), so views leave them out; else null. */
  get keyLimit() {
    return this.step !== null && this.state.stepFrame.causal ? this.step : null;
  }

  openHead(layer, head) {
    this.state.layer = layer;
    this.state.head = head;
    this.player.sync(this.state.stack, layer);
    this.setView('matrix');
  }

  /** Token indices the sentence filter keeps, on the query side and the key side. */
  filtered() {
    const s = this.state;
    const f = s.filter;
    const keep = (tokens, seg) => tokens.map((t, i) => [t, i]).filter(([t]) => !seg || t.segment === seg).map(([, i]) => i);
    return {
      queries: keep(this.data.queryTokens(s.stack), f === 'all' ? null : f[0]),
      keys: keep(this.data.keyTokens(s.stack), f === 'all' ? null : f[1]),
    };
  }

  view(name) {
    if (!this.views[name]) {
      const make = { head: HeadView, model: ModelView, matrix: MatrixView, text: TextView, qk: QkView, analyses: AnalysesView, '3d': ThreeDView, graph: GraphView, image: VisionView, audio: AudioView, clip: ClipView }[name];
      this.views[name] = new make(this);
    }
    return this.views[name];
  }

  get current() { return this.view(this.state.view); }

  /** Redraws the current view for the state; `busy` resolves when it is on screen (tests and the benchmark wait on it). */
  refresh() {
    this.busy = this.doRefresh();
    return this.busy;
  }

  async doRefresh() {
    const seq = ++this.seq;
    const start = performance.now();
    this.syncControls();
    const v = this.current;
    if (this.stage.firstChild !== v.element) this.stage.replaceChildren(v.element);
    try {
      await v.update();
      if (seq !== this.seq) return;
      this.error.hidden = true;
      this.root.dataset.ready = String(seq);
      const view = this.state.view;
      requestAnimationFrame(() => this.timings.views.push({ view, ms: performance.now() - start }));
      if (this.timings.firstPaint === null) this.markFirstPaint();
    } catch (e) {
      this.error.textContent = `Could not show this view: ${e.message}`;
      this.error.hidden = false;
    }
  }

  markFirstPaint() {
    requestAnimationFrame(() => {
      const now = performance.now();
      const arrived = this.data.arrived ?? 0;
      this.timings.firstPaint = now - arrived;
      performance.measure('attnscope:first-paint', { start: arrived, end: now });
    });
  }

  /** Records how long a hover took from its input event: to the end of drawing (draw), to the start of the next
   *  frame (frame: its requestAnimationFrame callback), and to the end of that frame's rendering (painted: a message
   *  posted from the callback runs once the frame's style, layout, paint and commit are done). The span from the event
   *  to painted is also a performance measure ('attnscope:hover'), which a trace shows beside the frame's own events. */
  timeHover(e) {
    if (!e || !e.timeStamp) return;
    const drawn = performance.now();
    // js: the view's own work, from the handler's start (views mark it) to the end of drawing
    const js = drawn - (this.handlerStart ?? drawn);
    this.handlerStart = null;
    requestAnimationFrame(() => {
      const frame = performance.now();
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        const painted = performance.now();
        this.timings.hovers.push({ start: e.timeStamp, js, draw: drawn - e.timeStamp, frame: frame - e.timeStamp, painted: painted - e.timeStamp });
        performance.measure('attnscope:hover', { start: e.timeStamp, end: painted });
        channel.port1.close();
      };
      channel.port2.postMessage(0);
    });
  }

  exportName(ext) {
    const s = this.state;
    if (s.view === 'analyses') return `attnscope-${this.current.kind}-${s.stack}.${ext}`;
    return `attnscope-${s.view}-${s.stack}-layer${s.layer}${s.view === 'matrix' || s.view === 'qk' || s.view === 'text' ? `-head${s.head}` : ''}${s.values === 'norm' ? '-norm' : ''}${this.step !== null ? `-step${this.stepNumber}` : ''}.${ext}`;
  }

  async export(kind) {
    const v = this.current;
    const name = this.exportName(kind);
    let blob;
    try {
      blob = kind === 'svg' ? new Blob([renderSvg(v)], { type: 'image/svg+xml' }) : await renderPng(v);
    } catch (e) {
      this.showExportNote(`Export failed: ${e.message}`, null);
      return;
    }
    download(blob, name);
    if (maybeNoDownloads()) {
      this.showExportNote(`This page runs inside a sandboxed frame, which blocks downloads unless the frame allows them. ` +
        `If ${name} did not download, save the picture below (right-click → Save image as), or open the page on its own.`, blob);
    }
  }

  showExportNote(text, blob) {
    const note = this.exportNote;
    if (note.dataset.url) URL.revokeObjectURL(note.dataset.url);
    delete note.dataset.url;
    const close = el('button', 'as-btn as-small', 'close');
    close.type = 'button';
    close.addEventListener('click', () => { note.hidden = true; });
    note.replaceChildren(el('div', 'as-export-text', text), close);
    if (blob) {
      const url = URL.createObjectURL(blob);
      note.dataset.url = url;
      const img = el('img', 'as-export-image');
      img.src = url;
      img.alt = 'the exported picture';
      note.append(img);
    }
    note.hidden = false;
  }
}

export function publish(viewer) {
  const api = window.attnscope || (window.attnscope = { viewers: [] });
  api.theme = theme;
  api.viewers.push(viewer);
  api.viewer = viewer;
  api.headColors = headColors;
  api.renderSvg = () => renderSvg(viewer.current);
}
