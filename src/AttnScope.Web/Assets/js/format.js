// Text and number formatting shared by every view. Token text is data: it only ever reaches the page through
// textContent, canvas fillText, or escapeXml for SVG — never through innerHTML.

/** The shortest decimal that reads back as the same float32 (what C# prints for the same float). */
export function formatValue(v) {
  if (v === 0) return '0';
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return s;
  }
  return String(v);
}

/** A value to a few digits, for labels drawn beside bars. */
export function formatShort(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 100 || a < 0.001) return v.toExponential(2);
  return v.toFixed(a >= 10 ? 2 : 3);
}

/** A token label cut to max characters with an ellipsis. */
export function shortLabel(label, max) {
  const chars = Array.from(label);
  return chars.length <= max ? label : chars.slice(0, max - 1).join('') + '…';
}

/** Escapes text for XML content and attribute values; characters XML cannot hold (controls, lone surrogates) become U+FFFD. */
export function escapeXml(s) {
  return String(s)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

/** Creates an element with a class and (plain) text. */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The key/value head query head h reads in a stack with grouped-query attention (info.kvHeads), else null. */
export function kvHead(info, h) {
  return info && info.kvHeads ? Math.floor(h / (info.heads / info.kvHeads)) : null;
}

/** "head 5", or "head 5 (kv 2)" when the stack's heads share key/value heads. */
export function headName(info, h) {
  const kv = kvHead(info, h);
  return kv === null ? `head ${h}` : `head ${h} (kv ${kv})`;
}
