// The image of a vision capture with its patch grid on a canvas, and a heat overlay of one value per patch: shared
// by the Image view (vision-view.js: where a patch attends) and the Image–text view (clip-view.js: which patches a
// word's relevance lands on). Patches are numbered row by row from 0 (without the special tokens before them).
import { el } from './format.js';
import { keyboardCanvas } from './keyboard.js';

function decodeRgb(b64, w, h) {
  const bin = atob(b64), out = new Uint8ClampedArray(w * h * 4);
  for (let i = 0, j = 0; i < w * h; i++, j += 3) {
    out[i * 4] = bin.charCodeAt(j); out[i * 4 + 1] = bin.charCodeAt(j + 1); out[i * 4 + 2] = bin.charCodeAt(j + 2); out[i * 4 + 3] = 255;
  }
  return new ImageData(out, w, h);
}

export class PatchCanvas {
  /** vm: meta.vision; side: the image's longer side on screen (CSS pixels); className: the canvas's class;
   *  label: its accessible name; onKey(key): arrow keys, Enter, Escape, Home and End on the focused canvas. */
  constructor(vm, { side, className, label, onKey }) {
    this.vm = vm;
    const scale = side / Math.max(vm.width, vm.height);
    this.cssW = Math.round(vm.width * scale);
    this.cssH = Math.round(vm.height * scale);
    this.canvas = el('canvas', className);
    this.canvas.style.width = `${this.cssW}px`;
    this.canvas.style.height = `${this.cssH}px`;
    const d = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.cssW * d);
    this.canvas.height = Math.round(this.cssH * d);
    const image = vm.rgb ? decodeRgb(vm.rgb, vm.width, vm.height) : null;
    if (image) {
      this.bitmap = document.createElement('canvas');
      this.bitmap.width = vm.width; this.bitmap.height = vm.height;
      this.bitmap.getContext('2d').putImageData(image, 0, 0);
    }
    if (onKey) keyboardCanvas(this.canvas, label, onKey);
  }

  get patches() { return this.vm.gridRows * this.vm.gridCols; }

  /** The patch (0-based, row by row) under a mouse event, or null. */
  patchAt(e) {
    const r = this.canvas.getBoundingClientRect(), vm = this.vm;
    const c = Math.floor((e.clientX - r.left) / r.width * vm.gridCols), row = Math.floor((e.clientY - r.top) / r.height * vm.gridRows);
    if (c < 0 || row < 0 || c >= vm.gridCols || row >= vm.gridRows) return null;
    return row * vm.gridCols + c;
  }

  /** The client point at the centre of patch (row, col) (tests hover it). */
  patchPoint(row, col) {
    const r = this.canvas.getBoundingClientRect(), vm = this.vm;
    return { x: r.left + (col + 0.5) * r.width / vm.gridCols, y: r.top + (row + 0.5) * r.height / vm.gridRows };
  }

  /** Patch p moved by an arrow key (or Home / End), kept on the grid. */
  move(p, key) {
    const vm = this.vm;
    let r = Math.floor(p / vm.gridCols), c = p % vm.gridCols;
    if (key === 'ArrowLeft') c = Math.max(0, c - 1);
    else if (key === 'ArrowRight') c = Math.min(vm.gridCols - 1, c + 1);
    else if (key === 'ArrowUp') r = Math.max(0, r - 1);
    else if (key === 'ArrowDown') r = Math.min(vm.gridRows - 1, r + 1);
    else if (key === 'Home') { r = 0; c = 0; } else if (key === 'End') { r = vm.gridRows - 1; c = vm.gridCols - 1; }
    return r * vm.gridCols + c;
  }

  /** Draws the image, then (values: one per patch, or null) a dark veil lit patch by patch in proportion to the
   *  strongest patch, the grid, and an outline round patch `outline` (cyan when `pinned`). */
  draw(values, outline = null, pinned = false) {
    const vm = this.vm, ctx = this.canvas.getContext('2d'), W = this.canvas.width, H = this.canvas.height;
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, W, H);
    if (this.bitmap) ctx.drawImage(this.bitmap, 0, 0, W, H);
    else { ctx.fillStyle = '#888'; ctx.fillRect(0, 0, W, H); }
    const cw = W / vm.gridCols, ch = H / vm.gridRows;
    if (values) {
      let max = 0;
      for (const v of values) if (v > max) max = v;
      max = max || 1;
      // Darken the image, then light each patch by its value relative to the strongest patch.
      ctx.fillStyle = 'rgba(0,0,0,0.55)';
      ctx.fillRect(0, 0, W, H);
      for (let r = 0; r < vm.gridRows; r++)
        for (let c = 0; c < vm.gridCols; c++) {
          const t = Math.max(0, values[r * vm.gridCols + c] / max);
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
    if (outline !== null && outline >= 0) {
      const r = Math.floor(outline / vm.gridCols), c = outline % vm.gridCols;
      ctx.strokeStyle = pinned ? '#00e5ff' : '#ffffff';
      ctx.lineWidth = 3;
      ctx.strokeRect(c * cw + 1.5, r * ch + 1.5, cw - 3, ch - 3);
    }
  }
}
