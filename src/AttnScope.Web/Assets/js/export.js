// Export of the current view, hover state included: PNG through an offscreen canvas, SVG through SvgPainter.
import { SvgPainter, sizeCanvas } from './painter.js';

export function renderSvg(view) {
  const { width, height } = view.exportSize();
  const p = new SvgPainter(width, height);
  view.exportPaint(p);
  return p.toString();
}

export function renderPng(view, scale = 2) {
  const { width, height } = view.exportSize();
  const canvas = document.createElement('canvas');
  const p = sizeCanvas(canvas, width, height, scale);
  view.exportPaint(p);
  return new Promise((resolve, reject) => canvas.toBlob(b => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
}

/** True when the page runs in a frame with an opaque origin other than a file's: a sandboxed iframe (a notebook's
 *  output, a report), where the browser drops a download unless the frame allows downloads, and says nothing to the
 *  page. The page cannot read its frame's sandbox flags, so this is as close as it can tell. */
export function maybeNoDownloads() {
  let framed;
  try { framed = window.self !== window.top; } catch { framed = true; }
  return framed && window.origin === 'null' && location.protocol !== 'file:';
}

export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}
