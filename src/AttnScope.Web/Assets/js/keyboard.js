// Keyboard access to the canvas views: a canvas joins the tab order with an accessible name, and its arrow keys,
// Enter (or Space) and Escape go to the view.

/** Makes `canvas` focusable with the name `label`; `onKey(key, event)` gets ArrowUp/Down/Left/Right, Enter (Space
 *  too), Escape, Home and End, and returns true when it used the key. */
export function keyboardCanvas(canvas, label, onKey) {
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'application');
  canvas.setAttribute('aria-roledescription', 'attention view');
  canvas.setAttribute('aria-label', label);
  canvas.addEventListener('keydown', e => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const key = e.key === ' ' ? 'Enter' : e.key;
    if (!['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Enter', 'Escape', 'Home', 'End'].includes(key)) return;
    if (onKey(key, e)) e.preventDefault();
  });
}

/** A mouse-like event at a client point, for hover code that places the tooltip by the event. */
export function pointEvent(pt) {
  return { clientX: pt.x, clientY: pt.y, timeStamp: performance.now() };
}

/** Moves i by the arrow `key` along one axis: ArrowUp/Left −1, ArrowDown/Right +1, Home 0, End n−1; clamped to [0, n). */
export function step(i, n, key) {
  if (key === 'Home') return 0;
  if (key === 'End') return n - 1;
  const d = key === 'ArrowUp' || key === 'ArrowLeft' ? -1 : 1;
  return Math.max(0, Math.min(n - 1, i + d));
}
