// A canvas that shows a window onto content taller (or wider) than the screen: the canvas stays the size of the
// visible area and is redrawn on scroll, so a 1024-token view costs what a 40-token one does.
import { el, } from './format.js';
import { sizeCanvas, painterInPlace } from './painter.js';

const FIT_MIN = 160;
const FIT_MARGIN = 40;

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

  /** Fits the box into the window below where it starts, so that the page itself need not scroll too: a viewer near
   *  the top of its page (the served page) gets the rest of the window, one further down (an embedded page) at most
   *  the window. Only a box in the document is measured; else the height given at construction stays. */
  fitToWindow() {
    if (!this.element.isConnected) return;
    const top = this.element.getBoundingClientRect().top + window.scrollY;
    const view = window.innerHeight;
    const above = top < view * 0.6 ? top : 0;
    // Room for the box's border, a horizontal scroll bar and the page's bottom margin.
    this.maxHeight = Math.max(FIT_MIN, Math.floor(view - above - FIT_MARGIN));
    this.element.style.maxHeight = `${this.maxHeight}px`;
  }

  /** Sets the content's full size and sizes the canvas to the visible part; returns the painter. */
  resize(width, height) {
    this.fitToWindow();
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

  /** A painter on the canvas as it is (not cleared), for redrawing a part of it. */
  painterInPlace() {
    return painterInPlace(this.canvas);
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
