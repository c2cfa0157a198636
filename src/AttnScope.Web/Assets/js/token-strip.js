// A row of tokens as buttons (the Audio tab's decoder tokens, the Image–text tab's words): hover or focus shows one,
// click, Enter or Space pins it, Escape releases; the arrow keys (and Home, End) move the focus along the row, which
// is one stop in the tab order. Token text is data: it reaches the page through textContent only.
import { el } from './format.js';

export class TokenStrip {
  /** items: [{ index, label, special, title }]; label: the group's accessible name; onHover(index or null),
   *  onPin(index or null) are called with the item's index. */
  constructor(items, { className, label, onHover, onPin }) {
    this.items = items;
    this.onHover = onHover;
    this.onPin = onPin;
    this.pinned = null;
    this.element = el('div', `as-token-strip ${className || ''}`.trim());
    this.element.setAttribute('role', 'group');
    this.element.setAttribute('aria-label', label);
    this.buttons = items.map((it, i) => {
      const b = el('button', 'as-strip-token', it.label);
      b.type = 'button';
      b.dataset.token = String(it.index);
      if (it.special) b.classList.add('as-strip-special');
      if (it.title) b.title = it.title;
      b.tabIndex = i === 0 ? 0 : -1;
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('mouseenter', () => this.onHover(it.index));
      b.addEventListener('mouseleave', () => this.onHover(null));
      b.addEventListener('focus', () => { this.rove(i); this.onHover(it.index); });
      b.addEventListener('blur', () => this.onHover(null));
      b.addEventListener('click', () => this.pin(this.pinned === it.index ? null : it.index));
      b.addEventListener('keydown', e => this.key(e, i));
      this.element.append(b);
      return b;
    });
  }

  key(e, i) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const n = this.buttons.length;
    let j = null;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = Math.min(n - 1, i + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = Math.max(0, i - 1);
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = n - 1;
    else if (e.key === 'Escape') { this.pin(null); e.preventDefault(); return; }
    if (j === null) return;
    e.preventDefault();
    this.buttons[j].focus();
  }

  rove(i) { this.buttons.forEach((b, j) => { b.tabIndex = j === i ? 0 : -1; }); }

  pin(index) {
    this.pinned = index;
    for (const b of this.buttons) b.setAttribute('aria-pressed', String(Number(b.dataset.token) === index));
    this.onPin(index);
  }

  /** Marks the token shown (hovered, pinned or the player's). */
  mark(index) {
    for (const b of this.buttons) b.classList.toggle('as-strip-shown', Number(b.dataset.token) === index);
  }

  /** Colours each token by a value in [0, 1] (null: no colour); values: index → value. Kept in data-values for tests. */
  colour(values) {
    for (const b of this.buttons) {
      const v = values ? values.get(Number(b.dataset.token)) : undefined;
      if (v === undefined || v === null) { b.style.removeProperty('--as-strip-heat'); b.classList.remove('as-strip-hot'); continue; }
      const t = Math.max(0, Math.min(1, v));
      b.style.setProperty('--as-strip-heat', `rgba(255,${Math.round(200 * (1 - t))},0,${(0.12 + 0.78 * t).toFixed(3)})`);
      b.classList.toggle('as-strip-hot', t > 0.6);
    }
    this.element.dataset.values = values ? JSON.stringify(Object.fromEntries(values)) : '';
  }

  /** The client point at the centre of a token's button (tests hover it). */
  point(index) {
    const b = this.buttons.find(x => Number(x.dataset.token) === index);
    const r = b.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }
}
