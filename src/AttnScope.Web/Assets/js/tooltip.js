// The hover tooltip: rows of (field, text) set through textContent, so token text never becomes markup.
import { el } from './format.js';

export class Tooltip {
  constructor(parent) {
    this.element = el('div', 'as-tooltip');
    this.element.hidden = true;
    parent.append(this.element);
  }

  show(event, rows, dataset) {
    const t = this.element;
    t.replaceChildren(...rows.map(([field, text]) => {
      const row = el('div', 'as-tip-row');
      if (field) row.append(el('span', 'as-tip-key', field + ': '));
      const value = el('span', 'as-tip-value', text);
      if (field) value.dataset.field = field;
      row.append(value);
      return row;
    }));
    for (const [k, v] of Object.entries(dataset || {})) t.dataset[k] = v;
    t.hidden = false;
    if (event) {
      const x = Math.min(event.clientX + 14, window.innerWidth - t.offsetWidth - 4);
      const y = Math.min(event.clientY + 14, window.innerHeight - t.offsetHeight - 4);
      t.style.left = `${Math.max(0, x)}px`;
      t.style.top = `${Math.max(0, y)}px`;
    }
  }

  hide() { this.element.hidden = true; }
}
