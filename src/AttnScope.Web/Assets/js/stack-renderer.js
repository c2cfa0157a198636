// WebGL 2 drawing of the 3D view: each layer is a quad in the x–z plane at its own height, textured with its
// queries × keys weights as one byte per cell (R8); the fragment shader maps the byte through the capture's colour
// map, drops cells under the threshold and applies the opacity. Outlines (layer frames, the picked cell) use the
// same program with a flat colour.

const STACK_VERTEX = `#version 300 es
in vec2 aPos;
uniform mat4 uMvp;
uniform vec4 uRect;
uniform vec4 uUv;
uniform float uY;
out vec2 vUv;
void main() {
  vUv = mix(uUv.xy, uUv.zw, aPos);
  gl_Position = uMvp * vec4(mix(uRect.x, uRect.z, aPos.x), uY, mix(uRect.y, uRect.w, aPos.y), 1.0);
}`;

const STACK_FRAGMENT = `#version 300 es
precision highp float;
uniform sampler2D uAtt;
uniform sampler2D uLut;
uniform float uThreshold;
uniform float uOpacity;
uniform int uFlat;
uniform vec4 uColor;
in vec2 vUv;
out vec4 outColor;
void main() {
  if (uFlat == 1) { outColor = vec4(uColor.rgb * uColor.a, uColor.a); return; }
  float v = texture(uAtt, vUv).r;
  if (v < uThreshold) discard;
  vec3 c = texture(uLut, vec2((v * 255.0 + 0.5) / 256.0, 0.5)).rgb;
  outColor = vec4(c * uOpacity, uOpacity);
}`;

/** Thrown when the browser gives no WebGL 2 context; the view shows its fallback message. */
export class NoWebGlError extends Error {}

export class StackRenderer {
  /** canvas: the view's canvas; lut: 256 × RGB bytes of the colour map. */
  constructor(canvas, lut) {
    const gl = canvas.getContext('webgl2', { alpha: false, antialias: false, depth: true, premultipliedAlpha: true, preserveDrawingBuffer: false });
    if (!gl) throw new NoWebGlError('no WebGL 2');
    this.gl = gl;
    this.canvas = canvas;
    this.program = linkProgram(gl, STACK_VERTEX, STACK_FRAGMENT);
    const u = name => gl.getUniformLocation(this.program, name);
    this.u = {
      mvp: u('uMvp'), rect: u('uRect'), uv: u('uUv'), y: u('uY'), att: u('uAtt'), lut: u('uLut'),
      threshold: u('uThreshold'), opacity: u('uOpacity'), flat: u('uFlat'), color: u('uColor'),
    };
    this.vao = gl.createVertexArray();
    gl.bindVertexArray(this.vao);
    this.quad = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.quad);
    // Two triangles (a strip) then the outline's four corners (a loop).
    gl.bufferData(gl.ARRAY_BUFFER, Float32Array.of(0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1), gl.STATIC_DRAW);
    const at = gl.getAttribLocation(this.program, 'aPos');
    gl.enableVertexAttribArray(at);
    gl.vertexAttribPointer(at, 2, gl.FLOAT, false, 0, 0);
    this.lutTexture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, this.lutTexture);
    const rgba = new Uint8Array(256 * 4);
    for (let i = 0; i < 256; i++) { rgba.set(lut.subarray(i * 3, i * 3 + 3), i * 4); rgba[i * 4 + 3] = 255; }
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
    setNearest(gl);
    this.textures = [];
    this.maxTexture = gl.getParameter(gl.MAX_TEXTURE_SIZE);
  }

  /** Replaces the layer textures: one Uint8Array of height × width bytes per layer (row = query). */
  setLayers(layers, width, height) {
    const gl = this.gl;
    for (const t of this.textures) gl.deleteTexture(t);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    this.textures = layers.map(bytes => {
      const t = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, t);
      // The smaller levels hold the maximum of the cells they cover (not the mean), so that a strong cell stays
      // visible when a sheet of 512 keys is drawn 300 px wide.
      let level = 0, w = width, h = height, data = bytes;
      for (;;) {
        gl.texImage2D(gl.TEXTURE_2D, level, gl.R8, w, h, 0, gl.RED, gl.UNSIGNED_BYTE, data);
        if (w === 1 && h === 1) break;
        ({ w, h, data } = maxPool(data, w, h));
        level++;
      }
      setNearest(gl);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST_MIPMAP_NEAREST);
      return t;
    });
  }

  /**
   * Draws a frame. scene: { mvp, width, height (device px), threshold (0–1), opacity (0–1),
   * sheets: [{ layer, y, rect [x0, z0, x1, z1], uv [u0, v0, u1, v1], frame [x0, z0, x1, z1] }] far to near,
   * marks: [{ y, rect, color [r, g, b, a] }] }.
   */
  draw(scene) {
    const gl = this.gl, u = this.u;
    gl.viewport(0, 0, scene.width, scene.height);
    gl.clearColor(1, 1, 1, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.useProgram(this.program);
    gl.bindVertexArray(this.vao);
    gl.uniformMatrix4fv(u.mvp, false, scene.mvp);
    gl.uniform1i(u.att, 0);
    gl.uniform1i(u.lut, 1);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.lutTexture);
    gl.activeTexture(gl.TEXTURE0);
    gl.uniform1f(u.threshold, scene.threshold);
    gl.uniform1f(u.opacity, scene.opacity);
    gl.enable(gl.DEPTH_TEST);
    gl.depthFunc(gl.LEQUAL);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    // A faint plane under each sheet, so that a sheet reads as one even where most cells are hidden; drawn first,
    // so the cells keep their exact colours.
    gl.depthMask(false);
    gl.uniform1i(u.flat, 1);
    gl.uniform4f(u.color, 0.45, 0.5, 0.6, 0.06);
    for (const s of scene.sheets) {
      gl.uniform1f(u.y, s.y);
      gl.uniform4f(u.rect, ...s.frame);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    }
    // Sheets come far to near; see-through sheets must not hide the ones drawn after them.
    gl.depthMask(scene.opacity >= 1);
    gl.uniform1i(u.flat, 0);
    for (const s of scene.sheets) {
      gl.bindTexture(gl.TEXTURE_2D, this.textures[s.layer]);
      gl.uniform1f(u.y, s.y);
      gl.uniform4f(u.rect, ...s.rect);
      gl.uniform4f(u.uv, ...s.uv);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    }
    // Frames last, hidden only by opaque cells in front of them.
    gl.depthMask(false);
    gl.uniform1i(u.flat, 1);
    gl.uniform4f(u.color, 0.62, 0.62, 0.62, 1);
    for (const s of scene.sheets) {
      gl.uniform1f(u.y, s.y);
      gl.uniform4f(u.rect, ...s.frame);
      gl.drawArrays(gl.LINE_LOOP, 4, 4);
    }
    gl.depthMask(true);
    gl.disable(gl.DEPTH_TEST);
    gl.uniform1i(u.flat, 1);
    for (const m of scene.marks) {
      gl.uniform4f(u.color, ...m.color);
      gl.uniform4f(u.rect, ...m.rect);
      gl.uniform1f(u.y, m.y);
      gl.drawArrays(gl.LINE_LOOP, 4, 4);
    }
  }

  /** The drawing buffer as RGBA rows from the top (call right after draw, in the same task). */
  readPixels() {
    const gl = this.gl, w = gl.drawingBufferWidth, h = gl.drawingBufferHeight;
    const raw = new Uint8Array(w * h * 4), out = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, raw);
    for (let y = 0; y < h; y++) out.set(raw.subarray((h - 1 - y) * w * 4, (h - y) * w * 4), y * w * 4);
    return { width: w, height: h, data: out };
  }

  /** Waits for the GPU to finish the frame (a one-pixel read), for timing. */
  finish() {
    this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, new Uint8Array(4));
  }
}

/** Halves a width × height byte image (each side at least 1), each cell the maximum of the 2 × 2 (up to 3 × 3 at
 *  an odd last row or column) cells below it. */
export function maxPool(src, w, h) {
  const w2 = Math.max(1, w >> 1), h2 = Math.max(1, h >> 1);
  const out = new Uint8Array(w2 * h2);
  for (let y = 0; y < h2; y++) {
    const y0 = h === 1 ? 0 : 2 * y, y1 = y === h2 - 1 ? h : Math.min(h, 2 * y + 2);
    for (let x = 0; x < w2; x++) {
      const x0 = w === 1 ? 0 : 2 * x, x1 = x === w2 - 1 ? w : Math.min(w, 2 * x + 2);
      let m = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) { const v = src[yy * w + xx]; if (v > m) m = v; }
      out[y * w2 + x] = m;
    }
  }
  return { w: w2, h: h2, data: out };
}

function setNearest(gl) {
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
}

function linkProgram(gl, vertex, fragment) {
  const shader = (type, text) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, text);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS) && !gl.isContextLost()) throw new Error(`the 3D view's shader did not compile: ${gl.getShaderInfoLog(s)}`);
    return s;
  };
  const p = gl.createProgram();
  gl.attachShader(p, shader(gl.VERTEX_SHADER, vertex));
  gl.attachShader(p, shader(gl.FRAGMENT_SHADER, fragment));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS) && !gl.isContextLost()) throw new Error(`the 3D view's shaders did not link: ${gl.getProgramInfoLog(p)}`);
  return p;
}
