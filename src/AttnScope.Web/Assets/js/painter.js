// One drawing interface, two back ends: the screen and PNG export draw on a canvas, SVG export writes elements.
// Every view paints through it, so what is exported is exactly what is shown, hover state included.
import { escapeXml } from './format.js';
import { ink } from './theme.js';

export const FONT_FAMILY = 'DejaVu Sans, Noto Sans, Noto Sans CJK SC, Segoe UI, Helvetica, Arial, sans-serif';

const measureCtx = document.createElement('canvas').getContext('2d');

export function font(size, weight) {
  return `${weight || 'normal'} ${size}px ${FONT_FAMILY}`;
}

export function textWidth(text, size, weight) {
  measureCtx.font = font(size, weight);
  return measureCtx.measureText(text).width;
}

export class CanvasPainter {
  constructor(ctx) { this.ctx = ctx; }

  rect(x, y, w, h, color, alpha = 1) {
    const c = this.ctx;
    c.globalAlpha = alpha;
    c.fillStyle = ink(color);
    c.fillRect(x, y, w, h);
    c.globalAlpha = 1;
  }

  strokeRect(x, y, w, h, color, width = 1) {
    const c = this.ctx;
    c.strokeStyle = ink(color);
    c.lineWidth = width;
    c.strokeRect(x, y, w, h);
  }

  line(x1, y1, x2, y2, color, alpha, width) {
    const c = this.ctx;
    c.globalAlpha = alpha;
    c.strokeStyle = ink(color);
    c.lineWidth = width;
    c.beginPath();
    c.moveTo(x1, y1);
    c.lineTo(x2, y2);
    c.stroke();
    c.globalAlpha = 1;
  }

  /** Many lines of one colour and opacity in one path: coords is [x1, y1, x2, y2, …]; data is for SVG only. */
  lines(color, alpha, width, coords) {
    if (coords.length === 0) return;
    const c = this.ctx;
    c.globalAlpha = alpha;
    c.strokeStyle = ink(color);
    c.lineWidth = width;
    c.beginPath();
    for (let i = 0; i < coords.length; i += 4) {
      c.moveTo(coords[i], coords[i + 1]);
      c.lineTo(coords[i + 2], coords[i + 3]);
    }
    c.stroke();
    c.globalAlpha = 1;
  }

  text(x, y, text, { size = 12, color = '#222', align = 'left', weight = 'normal', rotate = 0 } = {}) {
    const c = this.ctx;
    c.font = font(size, weight);
    c.fillStyle = ink(color);
    c.textAlign = align;
    c.textBaseline = 'middle';
    if (rotate) {
      c.save();
      c.translate(x, y);
      c.rotate(rotate * Math.PI / 180);
      c.fillText(text, 0, 0);
      c.restore();
    } else {
      c.fillText(text, x, y);
    }
  }

  /** Draws a canvas (pixel data) scaled to the box, without smoothing. */
  image(x, y, w, h, source) {
    const c = this.ctx;
    c.imageSmoothingEnabled = false;
    c.drawImage(source, x, y, w, h);
  }
}

/** Collects SVG elements; token text goes in as escaped text content, never as markup. */
export class SvgPainter {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.parts = [];
  }

  /** data: optional fields written as data-* attributes (tests and tools read what a box stands for). */
  rect(x, y, w, h, color, alpha = 1, data) {
    this.parts.push(`<rect x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${r(h)}" fill="${ink(color)}"${alpha < 1 ? ` fill-opacity="${r(alpha)}"` : ''}${dataAttrs(data)}/>`);
  }

  strokeRect(x, y, w, h, color, width = 1) {
    this.parts.push(`<rect x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${r(h)}" fill="none" stroke="${ink(color)}" stroke-width="${width}"/>`);
  }

  line(x1, y1, x2, y2, color, alpha, width, data) {
    const attrs = dataAttrs(data);
    this.parts.push(`<line x1="${r(x1)}" y1="${r(y1)}" x2="${r(x2)}" y2="${r(y2)}" stroke="${ink(color)}" stroke-opacity="${r(alpha)}" stroke-width="${width}"${attrs}/>`);
  }

  lines(color, alpha, width, coords, data) {
    for (let i = 0; i < coords.length; i += 4)
      this.line(coords[i], coords[i + 1], coords[i + 2], coords[i + 3], color, alpha, width, data ? data[i / 4] : undefined);
  }

  text(x, y, text, { size = 12, color = '#222', align = 'left', weight = 'normal', rotate = 0 } = {}) {
    const anchor = align === 'right' ? 'end' : align === 'center' ? 'middle' : 'start';
    const transform = rotate ? ` transform="rotate(${rotate} ${r(x)} ${r(y)})"` : '';
    this.parts.push(`<text x="${r(x)}" y="${r(y)}" font-size="${size}" fill="${ink(color)}" text-anchor="${anchor}" dominant-baseline="central"${weight !== 'normal' ? ` font-weight="${weight}"` : ''}${transform}>${escapeXml(text)}</text>`);
  }

  image(x, y, w, h, source) {
    this.parts.push(`<image x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${r(h)}" preserveAspectRatio="none" style="image-rendering:pixelated" href="${source.toDataURL('image/png')}"/>`);
  }

  toString() {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${r(this.width)}" height="${r(this.height)}" viewBox="0 0 ${r(this.width)} ${r(this.height)}" font-family="${escapeXml(FONT_FAMILY)}">\n<rect width="100%" height="100%" fill="${ink('#ffffff')}"/>\n${this.parts.join('\n')}\n</svg>\n`;
  }
}

function dataAttrs(data) {
  return data ? Object.entries(data).map(([k, v]) => ` data-${k}="${escapeXml(v)}"`).join('') : '';
}

function r(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** A canvas of CSS size w×h drawn at the screen's pixel density, cleared to the background; returns its painter.
 *  The canvas is opaque, and its pixel buffer is only reallocated when its size changes (a hover redraws in place). */
export function sizeCanvas(canvas, w, h, scale = window.devicePixelRatio || 1) {
  const pw = Math.max(1, Math.round(w * scale)), ph = Math.max(1, Math.round(h * scale));
  if (canvas.width !== pw) canvas.width = pw;
  if (canvas.height !== ph) canvas.height = ph;
  if (canvas.style.width !== `${w}px`) canvas.style.width = `${w}px`;
  if (canvas.style.height !== `${h}px`) canvas.style.height = `${h}px`;
  const ctx = canvas.getContext('2d', { alpha: false });
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.globalAlpha = 1;
  ctx.fillStyle = ink('#ffffff');
  ctx.fillRect(0, 0, pw, ph);
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  return new CanvasPainter(ctx);
}

/** A painter on a canvas sized by sizeCanvas, drawing over what it shows (nothing cleared). */
export function painterInPlace(canvas, scale = window.devicePixelRatio || 1) {
  const ctx = canvas.getContext('2d', { alpha: false });
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.globalAlpha = 1;
  return new CanvasPainter(ctx);
}
