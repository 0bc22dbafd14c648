/**
 * Resampling of a ViT's position embeddings (DINOv2, SigLIP) to another patch grid, as transformers' interpolate_pos_encoding does
 * it with torch.nn.functional.interpolate (align_corners=False). Both modes are separable: the [g, g] grid of each
 * channel becomes R·P·Rᵀ for an [n, g] weight matrix R, built here in float64 from PyTorch's CPU kernels
 * (aten/src/ATen/native/UpSample.h and cpu/UpSampleKernel.cpp):
 *
 * - 'bicubic' (Dinov2Model): source x = (i + 0.5)·g/n − 0.5, taps floor(x) − 1 … floor(x) + 2 clamped to the
 *   border, Keys' cubic convolution with a = −0.75 at t = x − floor(x).
 * - 'bicubic-antialias' (Dinov2WithRegistersModel, antialias=True): PIL-style. With scale s = g/n, support
 *   2·max(s, 1) around centre c = s·(i + 0.5); taps j from trunc(c − support + 0.5) (≥ 0) to
 *   trunc(c + support + 0.5) (≤ g), weight k((j − c + 0.5)/max(s, 1)) with Keys' a = −0.5, renormalised to sum 1.
 *
 * The embeddings are constants to an attack, so the resampled grid is computed once per input size, on the host.
 */

/**
 * How position embeddings are resampled to another patch grid. Plain bicubic: transformers' Dinov2Embeddings and
 * SiglipVisionEmbeddings (F.interpolate(mode='bicubic', align_corners=False)); antialiased bicubic:
 * Dinov2WithRegistersEmbeddings (antialias=True), which in PyTorch is a different kernel (Keys a = −0.5 with
 * renormalised border weights, widened when shrinking) than plain bicubic (a = −0.75, clamped border).
 */
export type PositionResampling = 'bicubic' | 'bicubic-antialias';

/** Keys' cubic convolution kernel (Keys 1981, eq. 15) with free parameter a. */
function cubic(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/** The [to, from] matrix that resamples one axis of length `from` to length `to`. */
export function resamplingMatrix(from: number, to: number, mode: PositionResampling): Float64Array {
  const weights = new Float64Array(to * from);
  const scale = from / to;
  for (let i = 0; i < to; i++) {
    const row = weights.subarray(i * from, (i + 1) * from);
    if (mode === 'bicubic') {
      const x = (i + 0.5) * scale - 0.5;
      const base = Math.floor(x);
      const t = x - base;
      const taps = [cubic(t + 1, -0.75), cubic(t, -0.75), cubic(1 - t, -0.75), cubic(2 - t, -0.75)];
      taps.forEach((w, k) => (row[Math.min(Math.max(base - 1 + k, 0), from - 1)]! += w));
    } else {
      const stretch = Math.max(scale, 1);
      const support = 2 * stretch;
      const centre = scale * (i + 0.5);
      const first = Math.max(Math.trunc(centre - support + 0.5), 0);
      const last = Math.min(Math.trunc(centre + support + 0.5), from);
      let total = 0;
      for (let j = first; j < last; j++) total += row[j] = cubic((j - centre + 0.5) / stretch, -0.5);
      for (let j = first; j < last; j++) row[j]! /= total;
    }
  }
  return weights;
}

/**
 * Patch position embeddings [g·g, width] (row-major grid) resampled to [n·n, width]. Returns the input itself
 * when n = g (transformers does not interpolate then either).
 */
export function resamplePositions(positions: Float32Array, grid: number, width: number, target: number, mode: PositionResampling): Float32Array {
  if (target === grid) return positions;
  const r = resamplingMatrix(grid, target, mode);
  // Rows first: [g, g, W] → [n, g, W], then columns: → [n, n, W].
  const rows = new Float64Array(target * grid * width);
  for (let i = 0; i < target; i++)
    for (let y = 0; y < grid; y++) {
      const w = r[i * grid + y]!;
      if (w === 0) continue;
      for (let x = 0; x < grid; x++) {
        const src = (y * grid + x) * width;
        const dst = (i * grid + x) * width;
        for (let c = 0; c < width; c++) rows[dst + c]! += w * positions[src + c]!;
      }
    }
  const out = new Float32Array(target * target * width);
  for (let i = 0; i < target; i++)
    for (let j = 0; j < target; j++) {
      const dst = (i * target + j) * width;
      for (let x = 0; x < grid; x++) {
        const w = r[j * grid + x]!;
        if (w === 0) continue;
        const src = (i * grid + x) * width;
        for (let c = 0; c < width; c++) out[dst + c]! += w * rows[src + c]!;
      }
    }
  return out;
}
