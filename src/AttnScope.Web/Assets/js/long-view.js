// The long view: a map-style view of one head of a long capture (attnscope.long/1) served by `attnscope serve`.
// The server cuts tiles of block maxima/means per request (GET /api/long/tile); the view asks for the coarsest
// block that still gives about one cell per pixel, draws whatever tile it has at once (scaled, so zooming and
// panning never wait) and replaces it when the sharper tile arrives. From about 14 px per token it labels every
// visible query and key with its token. Token search jumps to a token; a range slider picks the visible tokens.

const PLOT = 720;        // plot side in CSS pixels
const MARGIN = 96;       // room for labels, left and top
const LABEL_PX = 14;     // pixels per token from which tokens are labelled
const MAX_HITS = 200;    // search hits listed
const ROW_BUDGET = 8e6;  // most attention values a tile cut from a chosen head's rows may read

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function pow2ceil(x) { let b = 1; while (b < x) b *= 2; return b; }

function shortLabel(text) {
  const t = String(text).replace(/\s/g, '·');
  return t.length > 12 ? t.slice(0, 11) + '…' : t;
}

/** Mounts the view for capture `name` into `root`; resolves once the first tile is painted. */
export async function mountLongView(root, name) {
  const stats = { ready: false, pending: 0, span: 0, x0: 0, y0: 0, block: 0, labels: 0, tiles: 0, frames: [], tileFrames: [], openMs: 0 };
  window.attnscopeLong = stats;
  const t0 = performance.now();
  const status = el('div', { class: 'lv-status', role: 'status', id: 'lv-status' });
  root.replaceChildren(status);
  let info;
  try {
    const res = await fetch(`api/long/info?name=${encodeURIComponent(name)}`);
    info = await res.json();
    if (!res.ok) throw new Error(info.error || res.statusText);
  } catch (e) {
    status.classList.add('lv-error');
    status.textContent = `cannot open ${name}: ${e.message}`;
    return stats;
  }
  const n = info.tokens, texts = info.texts;
  const chosen = new Set(info.chosen.map(([l, h]) => `${l}/${h}`));
  const title = document.getElementById('lv-title');
  if (title) title.textContent = `${name} · ${info.model} · ${n} tokens`;

  // ---- controls
  const layerSel = el('select', { id: 'lv-layer', 'aria-label': 'layer' });
  for (let l = 0; l < info.layers; l++) layerSel.append(el('option', { value: l, text: `layer ${l}` }));
  const headSel = el('select', { id: 'lv-head', 'aria-label': 'head' });
  const statSel = el('select', { id: 'lv-stat', 'aria-label': 'block statistic' },
    el('option', { value: 'max', text: 'block max' }), el('option', { value: 'mean', text: 'block mean' }));
  const whole = el('button', { type: 'button', id: 'lv-whole', text: 'whole sequence' });
  const zoomIn = el('button', { type: 'button', id: 'lv-zoom-in', 'aria-label': 'zoom in', text: '+' });
  const zoomOut = el('button', { type: 'button', id: 'lv-zoom-out', 'aria-label': 'zoom out', text: '−' });
  const search = el('input', { type: 'search', id: 'lv-search', placeholder: 'find a token', 'aria-label': 'find a token' });
  const searchBtn = el('button', { type: 'button', id: 'lv-find', text: 'find' });
  const from = el('input', { type: 'range', id: 'lv-from', min: 0, max: n - 1, value: 0, 'aria-label': 'first visible token' });
  const to = el('input', { type: 'range', id: 'lv-to', min: 1, max: n, value: n, 'aria-label': 'last visible token' });
  const rangeText = el('span', { id: 'lv-range-text' });
  const hits = el('ol', { class: 'lv-hits', id: 'lv-hits' });
  const canvas = el('canvas', { class: 'lv-canvas', id: 'lv-canvas', tabindex: 0, role: 'img',
    'aria-label': 'attention map: queries down, keys across; wheel or +/− to zoom, drag or arrows to pan' });
  const dpr = window.devicePixelRatio || 1;
  const side = PLOT + MARGIN;
  canvas.width = side * dpr; canvas.height = side * dpr;
  canvas.style.width = canvas.style.height = `${side}px`;
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);

  root.replaceChildren(
    el('div', { class: 'lv-bar' }, layerSel, headSel, statSel, whole, zoomOut, zoomIn,
      el('label', {}, search, searchBtn)),
    el('div', { class: 'lv-main' }, canvas,
      el('div', { class: 'lv-side' },
        el('div', { class: 'lv-range' }, el('span', { text: 'tokens' }), from, to), rangeText,
        status, hits)));

  function fillHeads() {
    const l = +layerSel.value;
    headSel.replaceChildren();
    for (let h = 0; h < info.heads; h++)
      headSel.append(el('option', { value: h, text: `head ${h}${chosen.has(`${l}/${h}`) ? ' (rows)' : ''}` }));
  }
  const first = info.chosen[0] || [0, 0];
  layerSel.value = first[0]; fillHeads(); headSel.value = first[1];

  // ---- view state: tokens [x0, x0 + span) across (keys), [y0, y0 + span) down (queries)
  let x0 = 0, y0 = 0, span = n;
  let tile = null;          // { key, layer, head, stat, block, row, col, rows, cols, values, image, vmax }
  let want = null, seq = 0;

  function finest(l, h) { return chosen.has(`${l}/${h}`) ? 1 : (info.blocks[0] || 1); }
  function blockFor(l, h) {
    let b = Math.max(finest(l, h), pow2ceil(span / PLOT));
    const blocks = info.blocks;
    // Blocks finer than the pyramid's come from a chosen head's rows: only once the view is small enough to read.
    if (blocks.length && b < blocks[0] && span * span > ROW_BUDGET) b = blocks[0];
    if (blocks.length && b >= blocks[0]) b = Math.min(b, blocks[blocks.length - 1]);
    return b;
  }
  function clampView() {
    span = Math.min(Math.max(span, 4), n);
    x0 = Math.min(Math.max(x0, 0), n - span);
    y0 = Math.min(Math.max(y0, 0), n - span);
  }

  function tileImage(values, rows, cols) {
    let vmax = 0;
    for (const v of values) if (v > vmax) vmax = v;
    const img = new ImageData(cols, rows);
    const d = img.data, inv = vmax > 0 ? 1 / vmax : 0;
    for (let i = 0; i < values.length; i++) {
      const t = Math.sqrt(values[i] * inv);
      d[i * 4] = 255 - t * 247; d[i * 4 + 1] = 255 - t * 207; d[i * 4 + 2] = 255 - t * 148; d[i * 4 + 3] = 255;
    }
    const off = document.createElement('canvas');
    off.width = cols; off.height = rows;
    off.getContext('2d').putImageData(img, 0, 0);
    return { image: off, vmax };
  }

  async function fetchTile(req) {
    const q = new URLSearchParams({ name, layer: req.layer, head: req.head, stat: req.stat, block: req.block,
      row: req.row, col: req.col, rows: req.rows, cols: req.cols });
    const res = await fetch(`api/long/tile?${q}`);
    if (!res.ok) throw new Error((await res.json()).error || res.statusText);
    const buf = await res.arrayBuffer();
    const dv = new DataView(buf);
    const rows = dv.getInt32(0, true), cols = dv.getInt32(4, true);
    const values = new Float32Array(buf.slice(20));
    stats.tiles++;
    return { ...req, rows, cols, values, ...tileImage(values, rows, cols) };
  }

  function draw() {
    const scale = PLOT / span;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, side, side);
    ctx.save();
    ctx.beginPath(); ctx.rect(MARGIN, MARGIN, PLOT, PLOT); ctx.clip();
    ctx.fillStyle = '#f4f4f4'; ctx.fillRect(MARGIN, MARGIN, PLOT, PLOT);
    if (tile && tile.layer === +layerSel.value && tile.head === +headSel.value && tile.stat === statSel.value) {
      const b = tile.block;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tile.image, MARGIN + (tile.col * b - x0) * scale, MARGIN + (tile.row * b - y0) * scale,
        tile.cols * b * scale, tile.rows * b * scale);
    }
    ctx.restore();
    ctx.strokeStyle = '#999'; ctx.strokeRect(MARGIN - 0.5, MARGIN - 0.5, PLOT + 1, PLOT + 1);
    // Labels: every visible token once there is room, else token positions at a few ticks.
    ctx.fillStyle = '#222'; ctx.font = '11px system-ui, sans-serif';
    let labels = 0;
    if (scale >= LABEL_PX) {
      const i0 = Math.floor(x0), i1 = Math.min(n, Math.ceil(x0 + span));
      for (let i = i0; i < i1; i++) {
        const x = MARGIN + (i + 0.5 - x0) * scale;
        ctx.save(); ctx.translate(x, MARGIN - 4); ctx.rotate(-Math.PI / 2.5);
        ctx.textAlign = 'left'; ctx.textBaseline = 'middle'; ctx.fillText(shortLabel(texts[i]), 0, 0); ctx.restore();
        labels++;
      }
      const j0 = Math.floor(y0), j1 = Math.min(n, Math.ceil(y0 + span));
      ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      for (let j = j0; j < j1; j++) { ctx.fillText(shortLabel(texts[j]), MARGIN - 4, MARGIN + (j + 0.5 - y0) * scale); labels++; }
    } else {
      ctx.textAlign = 'center'; ctx.textBaseline = 'bottom';
      for (let k = 0; k <= 4; k++) {
        const tok = Math.round(x0 + span * k / 4);
        ctx.textAlign = k === 0 ? 'left' : k === 4 ? 'right' : 'center';
        ctx.fillText(String(tok), MARGIN + (tok - x0) * scale, MARGIN - 4);
        ctx.save(); ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
        ctx.fillText(String(Math.round(y0 + span * k / 4)), MARGIN - 4, MARGIN + (Math.round(y0 + span * k / 4) - y0) * scale);
        ctx.restore();
      }
      ctx.textAlign = 'left'; ctx.textBaseline = 'top';
      ctx.fillText('keys →', MARGIN, 4);
      ctx.save(); ctx.translate(4, MARGIN); ctx.rotate(Math.PI / 2); ctx.textBaseline = 'bottom'; ctx.fillText('queries →', 0, 0); ctx.restore();
    }
    stats.labels = labels; stats.span = span; stats.x0 = x0; stats.y0 = y0;
  }

  function syncControls() {
    from.value = Math.round(x0); to.value = Math.round(x0 + span);
    rangeText.textContent = `tokens ${Math.round(x0)}–${Math.round(x0 + span)} of ${n}` + (tile ? ` · block ${tile.block}` : '');
  }

  // Redraws now with the tile at hand and asks for the right one; resolves when that one is painted.
  function update() {
    clampView();
    const started = performance.now();
    draw(); syncControls();
    requestAnimationFrame(() => stats.frames.push(performance.now() - started));
    const l = +layerSel.value, h = +headSel.value, stat = statSel.value, b = blockFor(l, h);
    const grid = Math.ceil(n / b);
    const row = Math.min(Math.floor(y0 / b), grid - 1), col = Math.min(Math.floor(x0 / b), grid - 1);
    const rows = Math.min(grid - row, Math.ceil((y0 + span) / b) - row + 1), cols = Math.min(grid - col, Math.ceil((x0 + span) / b) - col + 1);
    const key = `${l}/${h}/${stat}/${b}/${row}/${col}/${rows}/${cols}`;
    if (tile && tile.key === key) return Promise.resolve();
    // A tile already in hand that covers the view at this block is enough.
    if (tile && tile.layer === l && tile.head === h && tile.stat === stat && tile.block === b && tile.row <= row && tile.col <= col
      && tile.row + tile.rows >= row + rows - 1 && tile.col + tile.cols >= col + cols - 1) return Promise.resolve();
    const mine = ++seq;
    want = { key, layer: l, head: h, stat, block: b, row, col, rows, cols };
    stats.pending++;
    return fetchTile(want).finally(() => stats.pending--).then(t => {
      if (mine !== seq) return;
      tile = t;
      draw(); syncControls();
      status.classList.remove('lv-error');
      status.textContent = `layer ${l} head ${h}: block ${b} ${stat} (${t.rows}×${t.cols} cells)`;
      return new Promise(resolve => requestAnimationFrame(() => { stats.tileFrames.push(performance.now() - started); stats.block = b; resolve(); }));
    }).catch(e => { if (mine === seq) { status.classList.add('lv-error'); status.textContent = e.message; } });
  }

  function zoomAt(factor, px, py) {
    const tx = x0 + (px - MARGIN) / PLOT * span, ty = y0 + (py - MARGIN) / PLOT * span;
    const next = Math.min(Math.max(span * factor, 4), n);
    x0 = tx - (tx - x0) * next / span; y0 = ty - (ty - y0) * next / span; span = next;
    return update();
  }
  function focusToken(i) {
    span = Math.min(n, 40);
    x0 = i - span / 2; y0 = i - span / 2;
    return update();
  }

  canvas.addEventListener('wheel', e => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    zoomAt(e.deltaY > 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  let drag = null;
  canvas.addEventListener('pointerdown', e => { drag = { x: e.clientX, y: e.clientY, x0, y0 }; canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener('pointerup', () => { drag = null; });
  canvas.addEventListener('pointermove', e => {
    const r = canvas.getBoundingClientRect();
    if (drag) {
      const k = span / PLOT;
      x0 = drag.x0 - (e.clientX - drag.x) * k; y0 = drag.y0 - (e.clientY - drag.y) * k;
      update();
      return;
    }
    const px = e.clientX - r.left - MARGIN, py = e.clientY - r.top - MARGIN;
    if (px < 0 || py < 0 || px >= PLOT || py >= PLOT) return;
    const key = Math.floor(x0 + px / PLOT * span), query = Math.floor(y0 + py / PLOT * span);
    let value = '';
    if (tile) {
      const c = Math.floor(key / tile.block) - tile.col, rr = Math.floor(query / tile.block) - tile.row;
      if (c >= 0 && rr >= 0 && c < tile.cols && rr < tile.rows) value = ` = ${tile.values[rr * tile.cols + c].toPrecision(3)}` + (tile.block > 1 ? ` (block ${tile.block} ${tile.stat})` : '');
    }
    status.textContent = `query ${query} “${texts[query]}” → key ${key} “${texts[key]}”${value}`;
  });
  canvas.addEventListener('keydown', e => {
    const step = span / 8;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (e.key === '+' || e.key === '=') zoomAt(0.8, MARGIN + PLOT / 2, MARGIN + PLOT / 2);
    else if (e.key === '-') zoomAt(1.25, MARGIN + PLOT / 2, MARGIN + PLOT / 2);
    else if (moves[e.key]) { x0 += moves[e.key][0]; y0 += moves[e.key][1]; update(); }
    else return;
    e.preventDefault();
  });
  zoomIn.addEventListener('click', () => zoomAt(0.5, MARGIN + PLOT / 2, MARGIN + PLOT / 2));
  zoomOut.addEventListener('click', () => zoomAt(2, MARGIN + PLOT / 2, MARGIN + PLOT / 2));
  whole.addEventListener('click', () => { x0 = 0; y0 = 0; span = n; update(); });
  layerSel.addEventListener('change', () => { fillHeads(); update(); });
  headSel.addEventListener('change', () => update());
  statSel.addEventListener('change', () => update());
  function onRange() {
    let a = +from.value, b = +to.value;
    if (b <= a) b = Math.min(n, a + 4);
    x0 = y0 = a; span = b - a;
    update();
  }
  from.addEventListener('input', onRange);
  to.addEventListener('input', onRange);
  function runSearch() {
    const needle = search.value.trim().toLowerCase();
    hits.replaceChildren();
    if (!needle) return;
    const found = [];
    for (let i = 0; i < n && found.length < MAX_HITS; i++) if (String(texts[i]).toLowerCase().includes(needle)) found.push(i);
    for (const i of found) {
      const b = el('button', { type: 'button', text: `${i}: ${shortLabel(texts[i])}` });
      b.addEventListener('click', () => focusToken(i));
      hits.append(el('li', {}, b));
    }
    status.textContent = found.length ? `${found.length}${found.length === MAX_HITS ? '+' : ''} tokens match “${search.value}”` : `no token matches “${search.value}”`;
    if (found.length) return focusToken(found[0]);
  }
  searchBtn.addEventListener('click', runSearch);
  search.addEventListener('keydown', e => { if (e.key === 'Enter') { e.preventDefault(); runSearch(); } });

  stats.update = update; stats.zoomAt = zoomAt; stats.focusToken = focusToken;
  await update();
  stats.openMs = performance.now() - t0;
  stats.ready = true;
  root.dataset.ready = 'true';
  return stats;
}

const params = new URLSearchParams(location.search);
const host = document.getElementById('lv-root');
if (host) {
  const name = params.get('name');
  if (name) mountLongView(host, name);
  else host.textContent = 'Give a long capture as ?name=FILE.safetensors (a file in the server\'s captures folder).';
}
