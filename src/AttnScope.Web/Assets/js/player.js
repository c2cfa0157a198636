// The player steps through frames: each frame names the attention it shows (a stack and layer, or a decoding
// step: the cross attention with rows up to the step revealed) and a caption. Play, pause, step back and forward,
// scrub; a capture with decoding steps also offers a choice between the two kinds of frames.
import { el } from './format.js';

export class Player {
  /** modes: { layers: frames, steps: frames } (steps may be empty); onFrame(frame, mode) shows a frame;
   *  shown(frame) tells whether a layer frame is what the viewer shows now (where going back to layers resumes). */
  constructor(modes, onFrame, shown) {
    this.shown = shown;
    this.modes = modes;
    this.mode = 'layers';
    this.frames = modes.layers;
    this.onFrame = onFrame;
    this.index = 0;
    this.timer = null;
    this.element = el('div', 'as-player');
    this.back = button('◀ prev', 'previous frame', () => this.step(-1));
    this.play = button('▶ play', 'play', () => this.toggle());
    this.fwd = button('next ▶', 'next frame', () => this.step(1));
    this.range = el('input', 'as-scrub');
    this.range.type = 'range';
    this.range.min = '0';
    this.range.max = String(Math.max(0, this.frames.length - 1));
    this.range.value = '0';
    this.range.title = 'scrub through the frames';
    this.range.addEventListener('input', () => this.go(Number(this.range.value)));
    this.caption = el('span', 'as-caption');
    this.modeSel = el('select', 'as-select');
    this.modeSel.dataset.control = 'player-mode';
    this.modeSel.title = 'what the player steps through';
    const stepsText = modes.steps && modes.steps.length && modes.steps[0].causal ? 'generation steps' : 'decoding steps';
    for (const [v, text] of [['layers', 'layers'], ['steps', stepsText]]) {
      const o = el('option', '', text);
      o.value = v;
      this.modeSel.append(o);
    }
    this.modeSel.addEventListener('change', () => this.setMode(this.modeSel.value));
    const modeWrap = el('label', 'as-control');
    modeWrap.append(el('span', 'as-control-label', 'play'), this.modeSel);
    modeWrap.hidden = !(modes.steps && modes.steps.length);
    this.element.append(modeWrap, this.back, this.play, this.fwd, this.range, this.caption);
    this.show();
  }

  get playing() { return this.timer !== null; }

  toggle() { if (this.playing) this.pause(); else this.start(); }

  start() {
    if (this.playing || this.frames.length < 2) return;
    this.timer = setInterval(() => this.step(1), 900);
    this.play.textContent = '❚❚ pause';
    this.play.title = 'pause';
  }

  pause() {
    clearInterval(this.timer);
    this.timer = null;
    this.play.textContent = '▶ play';
    this.play.title = 'play';
  }

  step(d) { this.go((this.index + d + this.frames.length) % this.frames.length); }

  go(i) {
    this.index = i;
    this.show();
    this.onFrame(this.frames[i], this.mode);
  }

  /** Switches between stepping through layers (from the layer shown) and through decoding steps (from the first). */
  setMode(mode) {
    if (mode === this.mode || !this.modes[mode] || !this.modes[mode].length) return;
    this.pause();
    this.mode = mode;
    this.modeSel.value = mode;
    this.frames = this.modes[mode];
    this.range.max = String(Math.max(0, this.frames.length - 1));
    this.go(mode === 'layers' && this.shown ? Math.max(0, this.frames.findIndex(this.shown)) : 0);
  }

  /** Follows a change made elsewhere (the layer or stack menus); decoding steps keep their step. */
  sync(stack, layer) {
    if (this.mode !== 'layers') return;
    const i = this.frames.findIndex(f => f.stack === stack && f.layer === layer);
    if (i >= 0 && i !== this.index) { this.index = i; this.show(); }
  }

  show() {
    this.range.value = String(this.index);
    const f = this.frames[this.index];
    this.caption.textContent = f ? `${f.caption} (${this.index + 1}/${this.frames.length})` : '';
  }
}

function button(text, title, action) {
  const b = el('button', 'as-btn', text);
  b.type = 'button';
  b.title = title;
  b.addEventListener('click', action);
  return b;
}
