// Light and dark drawing: the page's theme ('auto' follows the system's prefers-color-scheme, or 'light'/'dark'),
// and the colours canvas and SVG drawing use in it. The views name light-theme colours; in the dark theme ink() turns
// greys (text, rules, the background) around, the token highlight to a dark amber, sentence B's blue to a light one,
// and lifts other colours too dark to
// see on the dark background when asked (headInk: some head colours). Colour maps are kept as they are.

export const theme = { setting: 'auto', dark: false };

const systemDark = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;

/** Resolves the setting against the system's preference; returns whether the page is dark. */
export function resolveTheme(setting) {
  theme.setting = setting;
  theme.dark = setting === 'dark' || (setting === 'auto' && !!systemDark && systemDark.matches);
  return theme.dark;
}

/** Calls back when the system's preference changes (only matters under 'auto'). */
export function onSystemTheme(callback) {
  if (systemDark && systemDark.addEventListener) systemDark.addEventListener('change', callback);
}

const DARK_BG = [0x17, 0x19, 0x1e];
const DARK_FG = [0xe8, 0xe8, 0xe8];
const cache = new Map();

function hex(rgb) {
  return '#' + rgb.map(c => Math.round(c).toString(16).padStart(2, '0')).join('');
}

function luminance([r, g, b]) {
  const lin = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** The colour to draw for a light-theme colour (#rgb or #rrggbb; other forms pass through). */
export function ink(color) {
  return inkOf(color, false);
}

/** A head's colour as drawn: in the dark theme, head colours too dark to see on the background (navy, maroon) are
 *  lifted towards white. */
export function headInk(color) {
  return inkOf(color, true);
}

function inkOf(color, lift) {
  if (!theme.dark || typeof color !== 'string' || color[0] !== '#') return color;
  const key = lift ? 'lift:' + color : color;
  let c = cache.get(key);
  if (c) return c;
  let rgb;
  if (color.length === 4) rgb = [1, 2, 3].map(i => parseInt(color[i] + color[i], 16));
  else if (color.length === 7) rgb = [1, 3, 5].map(i => parseInt(color.slice(i, i + 2), 16));
  else return color;
  if (color.toLowerCase() === '#ffe58a') c = '#6b5300'; // the held token's highlight
  else if (color.toLowerCase() === '#1d5f8a') c = '#7db8e8'; // sentence B's tokens
  else if (rgb[0] === rgb[1] && rgb[1] === rgb[2]) {
    // greys: white becomes the background, black the text colour, the rest in between
    const t = rgb[0] / 255;
    c = hex(DARK_BG.map((b, i) => DARK_FG[i] + (b - DARK_FG[i]) * t));
  } else if (lift && luminance(rgb) < 0.07) c = hex(rgb.map(v => v + (255 - v) * 0.45)); else c = color;
  cache.set(key, c);
  return c;
}
