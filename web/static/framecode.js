// The reader of the frame code (relay/video/framecode.py): (send_ms, counter) from the
// row of 48 blocks at the top of a frame. The benchmark page and the tests read frames
// with it; tests/unit/video/test_framecode.py checks it against the Python reader.
//
// ctx: a 2D canvas context holding the frame (at least its top row) at (0, 0), at the
// frame's own size W x H. Returns [sendMs, counter]; compare sendMs with
// Date.now() % 2 ** 32.
export function readCode(ctx, W, H) {
  const bh = Math.min(Math.max(8, Math.floor(W / 48)), H);
  const d = ctx.getImageData(0, 0, W, bh).data;
  let sendMs = 0, counter = 0;
  for (let i = 0; i < 48; i++) {
    const x0 = Math.floor(i * W / 48), x1 = Math.floor((i + 1) * W / 48);
    const qx = (x1 - x0) >> 2, qy = bh >> 2;
    const sx0 = x0 + qx, sx1 = Math.max(x1 - qx, sx0 + 1);
    const sy0 = qy, sy1 = Math.max(bh - qy, qy + 1);
    let sum = 0;
    for (let y = sy0; y < sy1; y++) for (let x = sx0; x < sx1; x++) {
      const p = (y * W + x) * 4;
      sum += 0.299 * d[p] + 0.587 * d[p + 1] + 0.114 * d[p + 2];
    }
    const bit = sum / ((sx1 - sx0) * (sy1 - sy0)) >= 128 ? 1 : 0;
    if (i < 32) sendMs = sendMs * 2 + bit; else counter = counter * 2 + bit;
  }
  return [sendMs, counter];
}

// The code row of an image, video or canvas `source` of W x H, through a canvas of its
// own that holds only that row: drawing and reading whole frames would cost more than
// the frames being measured.
export class CodeReader {
  constructor() {
    this.canvas = document.createElement("canvas");
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true, alpha: false });
  }

  read(source, W, H) {
    const bh = Math.min(Math.max(8, Math.floor(W / 48)), H);
    if (this.canvas.width !== W || this.canvas.height !== bh) {
      this.canvas.width = W;
      this.canvas.height = bh;
    }
    this.ctx.drawImage(source, 0, 0, W, bh, 0, 0, W, bh);
    return readCode(this.ctx, W, H);
  }
}
