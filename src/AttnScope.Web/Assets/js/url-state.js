// The viewer's state in the page address (after '#'), so that a link reopens the same picture: view, stack, layer,
// head, shown heads, values, heads combined, sentence filter, the token held, the Q·K query, theme. The address is
// input from anyone who sends a link: every field is parsed strictly, checked against the capture, and dropped when
// it is not valid (the viewer then keeps its default); nothing from it reaches the page but numbers and names from
// fixed lists.

/** Longer addresses are not read at all. */
const MAX_HASH = 2048;
const INT = /^(0|[1-9][0-9]{0,6})$/;

function int(text, n) {
  if (typeof text !== 'string' || !INT.test(text)) return null;
  const v = Number(text);
  return v < n ? v : null;
}

function oneOf(text, list) {
  return list.includes(text) ? text : null;
}

/**
 * The valid fields of `hash` (location.hash) for this capture, as a partial state: { view, stack, layer, head,
 * heads, values, combine, filter, token, query, theme }; fields absent or invalid are left out.
 * ctx: { views: names of the views the page offers, hasB: the capture has a sentence B }.
 */
export function parseState(hash, meta, ctx) {
  const out = {};
  if (typeof hash !== 'string' || hash.length < 2 || hash.length > MAX_HASH) return out;
  let p;
  try { p = new URLSearchParams(hash.slice(1)); } catch { return out; }
  const get = name => p.get(name);
  const stack = meta.stacks.find(s => s.name === get('stack')) || null;
  if (stack) out.stack = stack.name;
  const info = stack || meta.stacks[0];
  const view = oneOf(get('view'), ctx.views);
  if (view) out.view = view;
  const layer = int(get('layer'), info.layers);
  if (layer !== null) out.layer = layer;
  const head = get('head') === 'mean' || get('head') === 'max' ? get('head') : int(get('head'), info.heads);
  if (head !== null) out.head = head;
  const heads = get('heads');
  if (heads !== null && heads.length <= 8 * info.heads) {
    const list = heads === '' ? [] : heads.split(',').map(h => int(h, info.heads));
    if (list.every(h => h !== null)) out.heads = [...new Set(list)].sort((a, b) => a - b);
  }
  const values = oneOf(get('values'), info.norm ? ['att', 'norm'] : ['att']);
  if (values) out.values = values;
  const combine = oneOf(get('combine'), ['off', 'mean', 'max']);
  if (combine) out.combine = combine;
  const filter = oneOf(get('filter'), ctx.hasB ? ['all', 'AA', 'AB', 'BA', 'BB'] : ['all']);
  if (filter) out.filter = filter;
  const token = get('token');
  if (token && /^[qk]/.test(token)) {
    const side = token[0];
    const index = int(token.slice(1), meta[side === 'q' ? info.queryAxis : info.keyAxis].length);
    if (index !== null) out.token = { side, index };
  }
  const query = int(get('query'), meta[info.queryAxis].length);
  if (query !== null) out.query = query;
  const theme = oneOf(get('theme'), ['auto', 'light', 'dark']);
  if (theme) out.theme = theme;
  return out;
}

/** The address fragment for a state (defaults left out, so a plain page keeps a plain address). */
export function formatState(s, info) {
  const p = new URLSearchParams();
  p.set('view', s.view);
  p.set('stack', s.stack);
  p.set('layer', String(s.layer));
  p.set('head', String(s.head));
  if (s.heads.size !== info.heads) p.set('heads', [...s.heads].sort((a, b) => a - b).join(','));
  if (s.values !== 'att') p.set('values', s.values);
  if (s.combine !== 'off') p.set('combine', s.combine);
  if (s.filter !== 'all') p.set('filter', s.filter);
  if (s.token) p.set('token', s.token.side + s.token.index);
  if (s.query) p.set('query', String(s.query));
  if (s.theme !== 'auto') p.set('theme', s.theme);
  return '#' + p.toString();
}
