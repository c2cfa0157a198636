// The 3D view's orbit camera: it circles a target at a distance, turned by yaw (about the vertical axis) and pitch
// (elevation), and casts the ray under a point of the canvas for picking (exact CPU math, no read-back).
import { mat4LookAt, mat4Multiply, mat4Perspective, mat4Apply, vec3Add, vec3Cross, vec3Normalize, vec3Scale, vec3Sub } from './mat4.js';

const ORBIT_FOV = Math.PI / 4;
const ORBIT_PITCH_LIMIT = 1.45;

export class OrbitCamera {
  constructor() {
    this.home = 5.2;
    this.reset();
  }

  reset() {
    this.yaw = -0.55;
    this.pitch = 0.6;
    this.distance = this.home;
    this.target = [0, 0, 0];
  }

  /** Sets the home distance at which a sphere of this radius about the target fills the view (width/height
   *  `aspect`) and goes there if the camera is still at home. */
  fit(radius, aspect) {
    const half = Math.min(ORBIT_FOV / 2, Math.atan(Math.tan(ORBIT_FOV / 2) * aspect));
    const home = radius / Math.sin(half);
    if (this.distance === this.home) this.distance = home;
    this.home = home;
  }

  rotate(dYaw, dPitch) {
    this.yaw = ((this.yaw + dYaw + Math.PI) % (2 * Math.PI) + 2 * Math.PI) % (2 * Math.PI) - Math.PI;
    this.pitch = Math.max(-ORBIT_PITCH_LIMIT, Math.min(ORBIT_PITCH_LIMIT, this.pitch + dPitch));
  }

  /** Zooms by a factor (< 1 comes closer), kept within reach of the stack. */
  zoom(factor) { this.distance = Math.max(1.2, Math.min(20, this.distance * factor)); }

  get eye() {
    const c = Math.cos(this.pitch);
    return vec3Add(this.target, [this.distance * c * Math.sin(this.yaw), this.distance * Math.sin(this.pitch), this.distance * c * Math.cos(this.yaw)]);
  }

  /** Projection × view for a canvas of this width/height. */
  matrix(aspect) {
    const proj = mat4Perspective(ORBIT_FOV, aspect, 0.05, 100);
    return mat4Multiply(proj, mat4LookAt(this.eye, this.target, [0, 1, 0]));
  }

  /** Canvas pixel (x right, y down, in CSS px of a width × height canvas) of a world point, or null behind the eye. */
  project(p, width, height) {
    const c = mat4Apply(this.matrix(width / height), p);
    if (c[3] <= 1e-6) return null;
    return { x: (c[0] / c[3] + 1) / 2 * width, y: (1 - c[1] / c[3]) / 2 * height };
  }

  /** The ray (origin, unit direction) through canvas pixel (x, y) of a width × height canvas. */
  ray(x, y, width, height) {
    const eye = this.eye;
    const forward = vec3Normalize(vec3Sub(this.target, eye));
    const right = vec3Normalize(vec3Cross(forward, [0, 1, 0]));
    const up = vec3Cross(right, forward);
    const t = Math.tan(ORBIT_FOV / 2);
    const nx = (2 * x / width - 1) * t * (width / height), ny = (1 - 2 * y / height) * t;
    return { origin: eye, dir: vec3Normalize(vec3Add(forward, vec3Add(vec3Scale(right, nx), vec3Scale(up, ny)))) };
  }
}
