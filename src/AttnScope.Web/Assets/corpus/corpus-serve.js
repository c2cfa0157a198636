// The /corpus page of `attnscope serve --corpus DB`: a grid of histograms of one head statistic per layer × head
// (values from /api/corpus/histograms, drawn here on a canvas) and the query/key scatter of a chosen head (from
// /api/corpus/embedding, drawn by the shared scatter.js). Clicking a point opens its sentence, captured again by the
// server with the corpus's model, in the main viewer with that token held. Text from the database reaches the page
// only as textContent or canvas text.
(function () {
  'use strict';
  const $ = id => document.getElementById(id);
  const LABEL_W = 62, TOP = 20, CELL_H = 66, PAD = 4, MEAN_H = 14;
  const BAR = '#4a6fa5', MEAN = '#dd6b20', STORED = '#e6eef8', FONT = '12px system-ui, "DejaVu Sans", sans-serif';
  const api = { info: null, histograms: null, embedding: null, scatter: null, head: null, ready: false };
  window.attnscopeCorpusServe = api;
  let cellW = 80;

  function say(id, text, error) { const s = $(id); s.textContent = text; s.classList.toggle('cs-error', !!error); }

  async function getJson(url) {
    const res = await fetch(url);
    let json = null;
    try { json = await res.json(); } catch { /* not JSON */ }
    if (!res.ok) throw new Error((json && json.error) || 'the server answered HTTP ' + res.status);
    return json;
  }

  function option(value, text) { const o = document.createElement('option'); o.value = value; o.textContent = text; return o; }
  function headName(l, h) { return l + '.' + h; }
  function stored(l, h) { return api.info.qkHeads.includes(headName(l, h)); }

  // Geometry of the grid (CSS pixels relative to the canvas), also read by the tests.
  function cellRect(l, h) { return { x: LABEL_W + h * cellW, y: TOP + l * CELL_H, w: cellW, h: CELL_H }; }
  function barsArea(l, h) {
    const c = cellRect(l, h);
    return { x: c.x + PAD, y: c.y + PAD + MEAN_H, w: c.w - 2 * PAD, h: c.h - 2 * PAD - MEAN_H };
  }
  function barRect(l, h, b) {
    const d = api.histograms, a = barsArea(l, h), counts = d.counts[l][h];
    const tallest = Math.max(1, ...counts), bw = a.w / d.bins;
    const height = counts[b] > 0 ? Math.max(2, counts[b] / tallest * a.h) : 0;
    return { x: a.x + b * bw, y: a.y + a.h - height, w: bw, h: height };
  }
  function meanX(l, h) {
    const d = api.histograms, m = d.means[l][h], a = barsArea(l, h);
    if (m === null || m === undefined) return null;
    return a.x + (d.max > d.min ? (m - d.min) / (d.max - d.min) : 0.5) * a.w;
  }
  Object.assign(api, { cellRect, barRect, meanX });

  function format(v) {
    const a = Math.abs(v);
    return a !== 0 && (a < 0.01 || a >= 1000) ? v.toExponential(2) : v.toFixed(a < 10 ? 3 : 1);
  }

  function drawGrid() {
    const d = api.histograms, canvas = $('cs-grid');
    const avail = Math.max(600, Math.min(document.documentElement.clientWidth - 40, 1400));
    cellW = Math.max(44, Math.floor((avail - LABEL_W) / d.heads));
    const W = LABEL_W + d.heads * cellW + 2, H = TOP + d.layers * CELL_H + 2;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = W * dpr; canvas.height = H * dpr;
    canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
    g.font = FONT; g.fillStyle = '#222'; g.textBaseline = 'middle';
    g.textAlign = 'center';
    for (let h = 0; h < d.heads; h++) g.fillText('head ' + h, LABEL_W + h * cellW + cellW / 2, TOP / 2);
    g.textAlign = 'right';
    for (let l = 0; l < d.layers; l++) g.fillText('layer ' + l, LABEL_W - 8, TOP + l * CELL_H + CELL_H / 2);
    for (let l = 0; l < d.layers; l++)
      for (let h = 0; h < d.heads; h++) {
        const c = cellRect(l, h);
        g.fillStyle = stored(l, h) ? STORED : '#fff';
        g.fillRect(c.x, c.y, c.w, c.h);
        g.fillStyle = BAR;
        for (let b = 0; b < d.bins; b++) {
          const r = barRect(l, h, b);
          if (r.h > 0) g.fillRect(r.x, r.y, Math.max(1, r.w - (r.w > 3 ? 0.5 : 0)), r.h);
        }
        const mx = meanX(l, h);
        if (mx !== null) {
          const a = barsArea(l, h);
          g.strokeStyle = MEAN; g.lineWidth = 1.5;
          g.beginPath(); g.moveTo(mx, a.y); g.lineTo(mx, a.y + a.h); g.stroke();
          g.fillStyle = '#333'; g.textAlign = 'left'; g.font = '11px system-ui, "DejaVu Sans", sans-serif';
          g.fillText('μ ' + format(d.means[l][h]), c.x + PAD, c.y + PAD + MEAN_H / 2);
          g.font = FONT;
        }
        g.strokeStyle = headName(l, h) === api.head ? '#111' : '#bbb';
        g.lineWidth = headName(l, h) === api.head ? 2.5 : 1;
        g.strokeRect(c.x + 0.5, c.y + 0.5, c.w - 1, c.h - 1);
      }
    $('cs-range').textContent = d.stat + ' over ' + d.sentences + ' sentences: x from ' + format(d.min) + ' (left edge) to ' +
      format(d.max) + ' (right edge) in every cell, ' + d.bins + ' bins.';
  }

  async function loadHistograms() {
    const stat = $('cs-stat').value, bins = $('cs-bins').value;
    say('cs-status', 'reading ' + stat + '…');
    try {
      api.histograms = await getJson('api/corpus/histograms?stat=' + encodeURIComponent(stat) + '&bins=' + encodeURIComponent(bins));
      drawGrid();
      say('cs-status', '');
    } catch (err) { say('cs-status', err.message, true); }
  }

  function gridClick(e) {
    const d = api.histograms;
    if (!d) return;
    const r = $('cs-grid').getBoundingClientRect();
    const h = Math.floor((e.clientX - r.left - LABEL_W) / cellW), l = Math.floor((e.clientY - r.top - TOP) / CELL_H);
    if (h < 0 || l < 0 || h >= d.heads || l >= d.layers) return;
    const name = headName(l, h);
    if (!stored(l, h)) {
      say('cs-scatter-status', 'head ' + name + ' has no stored queries and keys (the corpus keeps ' +
        (api.info.qkHeads.join(', ') || 'none') + '; build it with --qk-heads ' + name + ')', true);
      return;
    }
    $('cs-head').value = name;
    loadEmbedding();
  }

  function tokenOf(data, i) { const s = data.sentences[data.line[i]]; return s ? s.tokens[data.token[i]] : '?'; }

  function openPoint(data, i) {
    const [layer, head] = data.head.split('.');
    const side = data.key[i] ? 'k' : 'q';
    const hash = new URLSearchParams({ view: 'head', layer: layer, head: head, token: side + data.token[i] });
    location.href = './?corpus=' + encodeURIComponent(String(data.line[i])) + '#' + hash.toString();
  }

  async function loadEmbedding() {
    const head = $('cs-head').value;
    if (!head) return;
    api.head = head;
    if (api.histograms) drawGrid();
    const projection = $('cs-projection').value, sentences = $('cs-sentences').value;
    say('cs-scatter-status', (projection === 'tsne' ? 't-SNE' : 'PCA') + ' of head ' + head + '…');
    api.embedding = null;
    try {
      const data = await getJson('api/corpus/embedding?head=' + encodeURIComponent(head) + '&projection=' + encodeURIComponent(projection) +
        '&sentences=' + encodeURIComponent(sentences));
      if ($('cs-head').value !== head || $('cs-projection').value !== projection) return; // a later choice is on its way
      api.embedding = data;
      const width = Math.max(520, Math.min(900, document.documentElement.clientWidth - 60));
      api.scatter = window.AttnScopeScatter.create({
        data: data, width: width, height: Math.round(width * 0.75),
        tip: i => {
          const s = data.sentences[data.line[i]];
          return [(data.key[i] ? 'key ' : 'query ') + JSON.stringify(tokenOf(data, i)) + ' (token ' + data.token[i] + ') · line ' + data.line[i],
            s ? (s.text.length > 200 ? s.text.slice(0, 200) + '…' : s.text) : ''];
        },
        onPick: i => { api.scatter.choose(i); openPoint(data, i); },
      });
      $('cs-scatter').replaceChildren(api.scatter.element);
      say('cs-scatter-status', data.x.length + ' points (queries and keys) from ' + Object.keys(data.sentences).length + ' sentences');
    } catch (err) {
      $('cs-scatter').replaceChildren();
      say('cs-scatter-status', err.message, true);
    }
  }

  async function start() {
    try {
      const info = api.info = await getJson('api/corpus/info');
      $('cs-sub').textContent = info.model + ' · ' + info.sentences + ' sentences · ' + info.layers + ' layers × ' + info.heads + ' heads';
      $('cs-stat').replaceChildren(...info.stats.map(s => option(s, s)));
      if (info.stats.includes('entropy_norm')) $('cs-stat').value = 'entropy_norm';
      $('cs-head').replaceChildren(...info.qkHeads.map(h => option(h, h)));
      let sizes = [100, 200, 400, 1000, 5000].filter(n => n <= info.maxSentences);
      if (sizes.length === 0) sizes = [info.maxSentences];
      $('cs-sentences').replaceChildren(...sizes.map(n => option(n, String(n))));
      $('cs-sentences').value = String(sizes.includes(400) ? 400 : sizes[sizes.length - 1]);
      for (const id of ['cs-stat', 'cs-bins']) $(id).addEventListener('change', loadHistograms);
      for (const id of ['cs-head', 'cs-projection', 'cs-sentences']) $(id).addEventListener('change', loadEmbedding);
      $('cs-grid').addEventListener('click', gridClick);
      await loadHistograms();
      if (info.qkHeads.length) await loadEmbedding();
      else say('cs-scatter-status', 'this corpus stores no queries and keys (build it with --qk-heads L.H)');
    } catch (err) { say('cs-status', 'cannot read the corpus: ' + err.message, true); }
    api.ready = true;
  }

  start();
})();
