// The corpus view of `attnscope corpus view`: the joint query/key embedding of one head as a scatter (queries
// blue, keys orange); hovering names a point's token, clicking opens its sentence with the head's attention.
// A plain script (no modules, no network): the data come from the page's #corpus-data element.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('corpus-data').textContent);
  const root = document.getElementById('corpus-root');
  const QUERY = window.AttnScopeScatter.QUERY, KEY = window.AttnScopeScatter.KEY;
  const n = data.x.length;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  root.appendChild(el('h1', null, 'Queries and keys of head ' + data.head));
  root.appendChild(el('div', 'cv-sub', data.model + ' · ' + Object.keys(data.sentences).length + ' sentences · ' + n +
    ' points · ' + (data.projection === 'tsne' ? 't-SNE' : 'PCA') + ' of queries and keys (keys shifted to the queries\u2019 mean, which leaves attention unchanged)'));
  const legend = el('div', 'cv-legend');
  for (const [name, color] of [['query', QUERY], ['key', KEY]]) {
    const item = el('span');
    const sw = el('span', 'cv-swatch'); sw.style.background = color;
    item.appendChild(sw); item.appendChild(document.createTextNode(name));
    legend.appendChild(item);
  }
  legend.appendChild(el('span', 'cv-sub', 'click a point to open its sentence'));
  root.appendChild(legend);
  const main = el('div', 'cv-main');
  // The scatter itself is the shared script scatter.js (also used by the /corpus page of `attnscope serve`).
  const scatter = window.AttnScopeScatter.create({
    data: data, width: 640, height: 560,
    tip: i => [(data.key[i] ? 'key ' : 'query ') + JSON.stringify(tokenOf(i)) + ' · line ' + data.line[i]],
    onPick: i => select(i),
  });
  const dpr = window.devicePixelRatio || 1;
  const panel = el('div', 'cv-panel');
  panel.appendChild(el('p', 'cv-empty', 'No point chosen yet.'));
  main.appendChild(scatter.element); main.appendChild(panel);
  root.appendChild(main);

  function tokenOf(i) { const s = data.sentences[data.line[i]]; return s ? s.tokens[data.token[i]] : '?'; }

  function shade(w) { return 'rgba(43,108,176,' + Math.min(1, Math.max(0, w)).toFixed(3) + ')'; }

  function select(i) {
    scatter.choose(i);
    const s = data.sentences[data.line[i]];
    const t = data.token[i], isKey = data.key[i] === 1, m = s.tokens.length;
    panel.textContent = '';
    panel.appendChild(el('h2', null, 'Line ' + data.line[i] + ': ' + (isKey ? 'key' : 'query') + ' of ' + JSON.stringify(s.tokens[t]) + ' (token ' + t + ')'));
    panel.appendChild(el('div', 'cv-caption', s.text)).dataset.field = 'text';
    const weights = [];
    for (let j = 0; j < m; j++) weights.push(isKey ? s.attention[j * m + t] : s.attention[t * m + j]);
    panel.appendChild(el('div', 'cv-caption', isKey
      ? 'How much each token (as a query) attends to this key, head ' + data.head + ':'
      : 'Where this query attends, head ' + data.head + ':'));
    const toks = el('div', 'cv-tokens');
    toks.dataset.field = 'tokens';
    for (let j = 0; j < m; j++) {
      const span = el('span', 'cv-tok' + (j === t ? ' cv-chosen' : ''), s.tokens[j]);
      span.style.background = shade(weights[j]);
      if (weights[j] > 0.5) span.style.color = '#fff';
      span.title = weights[j].toFixed(3);
      span.dataset.weight = String(weights[j]);
      toks.appendChild(span);
    }
    panel.appendChild(toks);
    panel.appendChild(el('div', 'cv-caption', 'Attention of head ' + data.head + ' in this sentence (rows: queries, columns: keys; the chosen ' + (isKey ? 'column' : 'row') + ' outlined):'));
    panel.appendChild(matrix(s, t, isKey));
    current.selected = { line: data.line[i], token: t, key: isKey, weights: weights };
  }

  function matrix(s, t, isKey) {
    const m = s.tokens.length, label = m <= 48 ? 90 : 0, cell = Math.max(3, Math.min(16, Math.floor(420 / m)));
    const size = label + m * cell + 2;
    const c = el('canvas', 'cv-matrix');
    c.width = size * dpr; c.height = size * dpr; c.style.width = size + 'px'; c.style.height = size + 'px';
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#fff'; g.fillRect(0, 0, size, size);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) {
        g.fillStyle = shade(s.attention[i * m + j]);
        g.fillRect(label + j * cell, label + i * cell, cell, cell);
      }
    if (label) {
      g.fillStyle = '#222'; g.font = Math.min(12, cell) + 'px "DejaVu Sans Mono", monospace';
      g.textAlign = 'right'; g.textBaseline = 'middle';
      for (let i = 0; i < m; i++) g.fillText(s.tokens[i].slice(0, 10), label - 4, label + i * cell + cell / 2);
      g.save();
      for (let j = 0; j < m; j++) {
        g.setTransform(dpr, 0, 0, dpr, 0, 0); g.translate(label + j * cell + cell / 2, label - 4); g.rotate(-Math.PI / 2);
        g.textAlign = 'left'; g.fillText(s.tokens[j].slice(0, 10), 0, 0);
      }
      g.restore();
    }
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.strokeStyle = '#d95f0e'; g.lineWidth = 2;
    if (isKey) g.strokeRect(label + t * cell, label, cell, m * cell);
    else g.strokeRect(label, label + t * cell, m * cell, cell);
    return c;
  }

  const current = {
    data: data,
    selected: null,
    select: select,
    /** Page coordinates of point i, for tests and scripts. */
    pointScreen: scatter.pointScreen,
  };
  window.attnscopeCorpus = current;
})();
