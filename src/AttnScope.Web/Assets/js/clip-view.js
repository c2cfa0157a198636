// Image–text view of a CLIP capture (docs/vision.md, "CLIP"): the image and the text side by side. CLIP's towers
// never attend to each other, so what links a word to patches is relevance (Chefer et al. 2021, computed at capture
// time): each word's own map (the patch relevance of the similarity between the image and that word alone) and, for
// the whole text, the patch relevance of its similarity. Hover, focus or pin a word and its map lights the image;
// hover or pin a patch and the words are coloured by their maps' values at that patch (relative to the strongest
// word there); with neither, the image shows the whole text's relevance and the words their own relevance in the
// text tower. The image tower's own attention is the Image tab's. The drawn values are kept in data-overlay (JSON,
// one per patch) and the words' data-values, so tests compare them with the capture.
import { el, formatValue } from './format.js';
import { PatchCanvas } from './patch-grid.js';
import { TokenStrip } from './token-strip.js';

const CLIP_SIDE = 384;

export class ClipView {
  constructor(viewer) {
    this.viewer = viewer;
    const meta = viewer.data.meta, vm = meta.vision, cm = meta.clip;
    this.vm = vm; this.cm = cm;
    this.texts = meta.targetTokens;
    this.maps = new Map(cm.words.map(w => [w.token, w]));
    this.element = el('div', 'as-view as-clip-view');
    this.note = el('p', 'as-note', 'Hover a word to light the patches that go with it (its own relevance for the image); hover a patch to colour the words by how much of their relevance falls there. Click or Enter pins, Escape releases; the arrow keys move over the patches and along the words. The image tower’s own attention is in the Image tab.');
    this.grid = new PatchCanvas(vm, {
      side: CLIP_SIDE, className: 'as-clip-canvas', onKey: key => this.onKey(key),
      label: 'Image–text view: the patches of the image. Arrow keys move over the patches, Enter pins the patch, Escape releases it.',
    });
    this.canvas = this.grid.canvas;
    this.canvas.addEventListener('mousemove', e => { this.hoverPatch = this.grid.patchAt(e); this.draw(); });
    this.canvas.addEventListener('mouseleave', () => { this.hoverPatch = null; this.draw(); });
    this.canvas.addEventListener('click', e => { const p = this.grid.patchAt(e); if (p !== null) { this.pinnedPatch = this.pinnedPatch === p ? null : p; this.draw(); } });
    this.canvas.addEventListener('focus', () => { if (this.hoverPatch === null) { this.hoverPatch = this.focusPatch; this.draw(); } });
    this.canvas.addEventListener('blur', () => { this.hoverPatch = null; this.draw(); });
    const items = this.texts.map((t, i) => ({
      index: i, label: t.label, special: t.special,
      title: this.maps.has(i) ? `its own similarity with the image: ${formatValue(Math.fround(this.maps.get(i).similarity ?? NaN))}` : 'no map of its own: shows the whole text’s',
    }));
    this.strip = new TokenStrip(items, {
      className: 'as-clip-words', label: 'the text’s tokens',
      onHover: i => { this.hoverWord = i; this.draw(); },
      onPin: i => { this.pinnedWord = i; this.draw(); },
    });
    const side = el('div', 'as-clip-text');
    side.append(el('div', 'as-control-label', 'text'), this.strip.element,
      el('div', 'as-clip-sim', `similarity (logit scale × cosine): ${formatValue(Math.fround(cm.similarity))}`));
    this.legend = el('div', 'as-clip-legend');
    side.append(this.legend);
    const pair = el('div', 'as-clip-pair');
    pair.append(this.canvas, side);
    this.caption = el('div', 'as-clip-caption');
    this.caption.setAttribute('aria-live', 'polite');
    this.element.append(this.note, pair, this.caption);
    this.hoverWord = null; this.pinnedWord = null; this.hoverPatch = null; this.pinnedPatch = null; this.focusPatch = 0;
  }

  onKey(key) {
    if (key === 'Escape') { this.pinnedPatch = null; this.draw(); return true; }
    if (key === 'Enter') { this.pinnedPatch = this.pinnedPatch === this.focusPatch ? null : this.focusPatch; this.draw(); return true; }
    this.focusPatch = this.grid.move(this.focusPatch, key);
    this.hoverPatch = this.focusPatch;
    this.draw();
    return true;
  }

  /** The client point at the centre of patch (row, col) (tests hover it). */
  patchPoint(row, col) { return this.grid.patchPoint(row, col); }

  /** The client point at the centre of text token i (tests hover it). */
  wordPoint(i) { return this.strip.point(i); }

  async update() { this.draw(); }

  draw() {
    const cm = this.cm, vm = this.vm, texts = this.texts;
    const word = this.pinnedWord ?? this.hoverWord, patch = this.pinnedPatch ?? this.hoverPatch;
    const map = word !== null ? this.maps.get(word) : undefined;
    const overlay = map ? map.relevance : cm.imageRelevance;
    this.grid.draw(overlay, patch, patch !== null && this.pinnedPatch === patch);
    // The words' colours: their maps at the patch (relative to the strongest word there), else their relevance in
    // the text tower (relative to the strongest word; special tokens uncoloured).
    const values = new Map();
    if (patch !== null && this.maps.size) {
      let max = 0;
      for (const [i, w] of this.maps) { values.set(i, w.relevance[patch]); max = Math.max(max, w.relevance[patch]); }
      for (const [i, v] of values) values.set(i, max > 0 ? v / max : 0);
      this.legend.textContent = `words coloured by their own map at patch (${Math.floor(patch / vm.gridCols)}, ${patch % vm.gridCols}), relative to the strongest word there`;
    } else {
      let max = 0;
      texts.forEach((t, i) => { if (!t.special) max = Math.max(max, cm.textRelevance[i]); });
      texts.forEach((t, i) => { if (!t.special) values.set(i, max > 0 ? cm.textRelevance[i] / max : 0); });
      this.legend.textContent = 'words coloured by their relevance for the similarity (text tower), relative to the strongest word';
    }
    this.strip.colour(values);
    this.strip.mark(word);
    this.canvas.dataset.word = word === null ? '' : String(word);
    this.canvas.dataset.patch = patch === null ? '' : String(patch);
    this.canvas.dataset.overlay = JSON.stringify(Array.from(overlay));
    let best = 0;
    overlay.forEach((v, p) => { if (v > overlay[best]) best = p; });
    const where = `strongest patch (${Math.floor(best / vm.gridCols)}, ${best % vm.gridCols}) ${formatValue(Math.fround(overlay[best]))}`;
    if (map) this.caption.textContent = `'${texts[word].label}'${this.pinnedWord === word ? ' (pinned)' : ''}: its own relevance for the image (similarity of the image with that word alone ${formatValue(Math.fround(map.similarity ?? NaN))}); ${where}`;
    else if (word !== null) this.caption.textContent = `'${texts[word].label}' has no map of its own; the whole text’s relevance for the image; ${where}`;
    else this.caption.textContent = `the whole text’s relevance for the image (Chefer et al. 2021, [CLS] row of the image tower); ${where}`;
  }

  exportSize() { return { width: Math.max(this.grid.cssW, 480), height: this.grid.cssH + 24 }; }

  exportPaint(p) {
    p.image(0, 0, this.grid.cssW, this.grid.cssH, this.canvas);
    p.text(0, this.grid.cssH + 16, this.caption.textContent, { size: 12, color: '#222222' });
  }
}
