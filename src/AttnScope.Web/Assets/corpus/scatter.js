// The joint query/key scatter of one head (queries blue, keys orange), shared by the offline page of
// `attnscope corpus view` (inlined there) and the /corpus page of `attnscope serve --corpus` (loaded from assets/).
// A plain script: it defines window.AttnScopeScatter. Token and sentence text reach the page only as textContent.
(function () {
  'use strict';
  const QUERY = '#2b6cb0', KEY = '#dd6b20', CHOSEN = '#111';

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function pct(v) { return (100 * v).toFixed(1) + '%'; }

  /**
   * opts: { data: {x, y, key, line, token, projection, variance, head}, width, height,
   *         tip(i): lines of text for the hover box, onPick(i): a click on point i }.
   * Returns { element, canvas, draw, choose(i), chosen(), pointScreen(i), nearest(mx, my) }.
   */
  function create(opts) {
    const data = opts.data, W = opts.width || 640, H = opts.height || 560, PAD = 44, R = 3.2;
    const n = data.x.length;
    const plot = el('div', 'cv-plot');
    const canvas = el('canvas');
    const dpr = window.devicePixelRatio || 1;
    canvas.width = W * dpr; canvas.height = H * dpr;
    canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
    canvas.setAttribute('aria-label', 'query and key scatter of head ' + data.head);
    const tip = el('div', 'cv-tip');
    plot.appendChild(canvas); plot.appendChild(tip);

    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      minX = Math.min(minX, data.x[i]); maxX = Math.max(maxX, data.x[i]);
      minY = Math.min(minY, data.y[i]); maxY = Math.max(maxY, data.y[i]);
    }
    const spanX = (maxX - minX) || 1, spanY = (maxY - minY) || 1;
    const px = i => PAD + (data.x[i] - minX) / spanX * (W - 2 * PAD);
    const py = i => H - PAD - (data.y[i] - minY) / spanY * (H - 2 * PAD);
    let chosen = -1;

    function draw() {
      const g = canvas.getContext('2d');
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
      g.strokeStyle = '#999'; g.lineWidth = 1;
      g.strokeRect(PAD - 8.5, PAD - 8.5, W - 2 * PAD + 17, H - 2 * PAD + 17);
      g.fillStyle = '#333'; g.font = '12px system-ui, "DejaVu Sans", sans-serif'; g.textAlign = 'center';
      const tsne = data.projection === 'tsne';
      g.fillText(tsne ? 't-SNE 1' : 'PC1 (' + pct(data.variance[0]) + ' of variance)', W / 2, H - 12);
      g.save(); g.translate(14, H / 2); g.rotate(-Math.PI / 2); g.fillText(tsne ? 't-SNE 2' : 'PC2 (' + pct(data.variance[1]) + ' of variance)', 0, 0); g.restore();
      g.globalAlpha = 0.55;
      for (const pass of [0, 1]) {
        g.fillStyle = pass ? KEY : QUERY;
        for (let i = 0; i < n; i++) {
          if (data.key[i] !== pass) continue;
          g.beginPath(); g.arc(px(i), py(i), R, 0, 2 * Math.PI); g.fill();
        }
      }
      g.globalAlpha = 1;
      if (chosen >= 0) {
        // The chosen point's sentence: its other points outlined, the chosen one ringed.
        for (let i = 0; i < n; i++) {
          if (data.line[i] !== data.line[chosen]) continue;
          g.strokeStyle = data.key[i] ? KEY : QUERY; g.lineWidth = 1.5;
          g.beginPath(); g.arc(px(i), py(i), R + 2, 0, 2 * Math.PI); g.stroke();
        }
        g.strokeStyle = CHOSEN; g.lineWidth = 2.5;
        g.beginPath(); g.arc(px(chosen), py(chosen), R + 5, 0, 2 * Math.PI); g.stroke();
      }
    }

    function nearest(mx, my) {
      let best = -1, bestD = 8 * 8;
      for (let i = 0; i < n; i++) {
        const dx = px(i) - mx, dy = py(i) - my, d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = i; }
      }
      return best;
    }
    function local(e) { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }

    canvas.addEventListener('mousemove', e => {
      const [mx, my] = local(e);
      const i = nearest(mx, my);
      if (i < 0) { tip.style.display = 'none'; return; }
      tip.textContent = '';
      for (const line of opts.tip(i)) tip.appendChild(el('div', null, line));
      tip.style.left = Math.min(px(i) + 10, W - 40) + 'px'; tip.style.top = (py(i) + 12) + 'px'; tip.style.display = 'block';
    });
    canvas.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
    canvas.addEventListener('click', e => { const [mx, my] = local(e); const i = nearest(mx, my); if (i >= 0) opts.onPick(i); });

    draw();
    return {
      element: plot,
      canvas: canvas,
      draw: draw,
      choose: function (i) { chosen = i; draw(); },
      chosen: function () { return chosen; },
      nearest: nearest,
      /** Page coordinates of point i, for tests and scripts. */
      pointScreen: function (i) { const r = canvas.getBoundingClientRect(); return { x: r.left + px(i), y: r.top + py(i) }; },
    };
  }

  window.AttnScopeScatter = { create: create, QUERY: QUERY, KEY: KEY };
})();
