// A canvas that shows a window onto content taller (or wider) than the screen: the canvas stays the size of the
// visible area and is redrawn on scroll, so a 1024-token view costs what a 40-token one does.
import { el, } from './format.js';
import { sizeCanvas } from './painter.js';

export class ScrollCanvas {
  constructor(maxHeight) {
    this.element = el('div', 'as-scroll');
    this.element.style.maxHeight = `${maxHeight}px`;
    this.canvas = el('canvas', 'as-canvas');
    this.spacer = el('div', 'as-spacer');
    this.element.append(this.canvas, this.spacer);
    this.maxHeight = maxHeight;
    this.width = 0;
    this.height = 0;
    this.onscroll = null;
    this.element.addEventListener('scroll', () => this.onscroll && this.onscroll());
  }

  /** Sets the content's full size and sizes the canvas to the visible part; returns the painter. */
  resize(width, height) {
    this.width = width;
    this.height = height;
    const visible = Math.min(height, this.maxHeight);
    this.spacer.style.height = `${height - visible}px`;
    this.spacer.style.width = `${width}px`;
    return sizeCanvas(this.canvas, width, visible);
  }

  /** The content rows in view: top and bottom in content coordinates. */
  window() {
    const top = Math.min(this.element.scrollTop, Math.max(0, this.height - this.maxHeight));
    return { top, bottom: top + Math.min(this.height, this.maxHeight) };
  }

  /** A fresh painter on the canvas (cleared), for redraws that keep the size. */
  painter() {
    return sizeCanvas(this.canvas, this.width, Math.min(this.height, this.maxHeight));
  }

  /** Content coordinates of a mouse event. */
  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top + this.window().top };
  }

  /** Client (page) coordinates of a content point, scrolling it into view first. */
  clientPoint(x, y) {
    const w = this.window();
    if (y < w.top || y > w.bottom - 4) this.element.scrollTop = Math.max(0, y - this.maxHeight / 2);
    const box = this.canvas.getBoundingClientRect();
    return { x: box.left + x, y: box.top + y - this.window().top };
  }
}
