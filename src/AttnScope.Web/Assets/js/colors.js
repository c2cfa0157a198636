// Head colours: 20 hand-picked colours at least 24 apart (CIE76 ΔE) from each other and dark enough for white,
// then, for models with more heads, further hues around the colour wheel at the golden angle.

const HEAD_PALETTE = [
  '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#0fa3b1', '#f032e6', '#8db600',
  '#9a6324', '#000075', '#808000', '#ff8fa3', '#800000', '#6a6a6a', '#e6b800', '#c71585',
  '#ff4500', '#006400', '#00bfff', '#556b2f',
];

export function headColor(h) {
  if (h < HEAD_PALETTE.length) return HEAD_PALETTE[h];
  const hue = (h * 137.508) % 360;
  const light = 35 + ((h * 7) % 3) * 12;
  return `hsl(${hue.toFixed(1)}, 70%, ${light}%)`;
}

export function headColors(n) {
  return Array.from({ length: n }, (_, h) => headColor(h));
}

/** A 256-entry colour map (0xRRGGBB integers, from the capture description) as RGB bytes. */
export function lutBytes(lut) {
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    out[i * 3] = (lut[i] >> 16) & 255;
    out[i * 3 + 1] = (lut[i] >> 8) & 255;
    out[i * 3 + 2] = lut[i] & 255;
  }
  return out;
}

export function lutCss(lut, t) {
  const i = Math.max(0, Math.min(255, Math.round(t * 255)));
  return '#' + lut[i].toString(16).padStart(6, '0');
}

/** Blue – white – red for signed values in [-1, 1]. */
export function divergingCss(t) {
  const a = Math.max(-1, Math.min(1, t));
  const c = a > 0 ? [214, 39, 40] : [59, 76, 192];
  const f = Math.abs(a);
  const mix = i => Math.round(255 + (c[i] - 255) * f);
  return `rgb(${mix(0)},${mix(1)},${mix(2)})`;
}
