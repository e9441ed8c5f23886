// The two gradients of a 2D convolution on the wasm backend, routed through its
// XNNPACK-backed Conv2D and BatchMatMul: the filter gradient (missing from the backend) as an
// im2col matrix product, and the input gradient (a slow scalar loop there) as a convolution
// with the flipped filter for stride 1, or a matrix product plus col2im for larger strides.
import type { TensorInfo } from "../tf.js";
import { type Conv2DGeometry, explicitPad } from "./convGeometry.js";
import { type WasmBackend, type WasmKernel, alloc, free, matmul, transpose, view } from "./wasmHeap.js";
import { sliceHeap } from "./slice.js";

/** Largest unrolled matrix (floats) built at once: 32M floats = 128 MiB of the wasm heap. */
let MAX_UNROLL_FLOATS = 1 << 25;

/** Sets the unroll budget (tests use a tiny one to exercise the chunked path); returns the old one. */
export function setUnrollBudget(floats: number): number {
  const old = MAX_UNROLL_FLOATS;
  MAX_UNROLL_FLOATS = floats;
  return old;
}

/** The backend's own kernels the pack builds on, captured before any replacement. */
export interface BaseKernels {
  conv2d: WasmKernel;
  batchMatMul: WasmKernel;
  transpose: WasmKernel;
}

/** Valid output range [lo, hi) along one axis for tap k: the outputs o whose input index
 * o*stride + k - pad lies inside [0, size). */
function validRange(k: number, stride: number, pad: number, size: number, outSize: number): [number, number] {
  const lo = Math.max(0, Math.ceil((pad - k) / stride));
  const hi = Math.min(outSize, Math.floor((size - 1 + pad - k) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * dW[kh, kw, ci, co] = sum over (b, oh, ow) of x[b, oh*sH+kh-pT, ow*sW+kw-pL, ci] * dy[b, oh, ow, co].
 * x: [batch, inH, inW, inC], dy: [batch, outH, outW, outC] -> [kH, kW, inC, outC].
 * One XNNPACK matrix product over an unrolled operand: either x unrolled per tap (kH*kW*inC
 * rows of N = batch*outH*outW) times dy, or, when there are fewer output than input channels,
 * dy scattered per tap onto the input grid (kH*kW*outC rows of M = batch*inH*inW) times x.
 * Whichever unrolled matrix is smaller is built, so a 7x7 layer into one channel does not
 * unroll its wide input.
 */
export function conv2dFilterGrad(
  backend: WasmBackend,
  base: BaseKernels,
  x: TensorInfo,
  dy: TensorInfo,
  g: Conv2DGeometry,
): TensorInfo {
  const taps = g.kH * g.kW;
  const unrollX = taps * g.inC * g.batch * g.outH * g.outW;
  const unrollDy = taps * g.outC * g.batch * g.inH * g.inW;
  const smaller = Math.min(unrollX, unrollDy);
  if (smaller > MAX_UNROLL_FLOATS && g.batch > 1) {
    // Too large for the heap at once (3D layers fold their depth into the batch): sum the
    // gradients of batch chunks, each within the budget.
    const per = Math.max(1, Math.floor((g.batch * MAX_UNROLL_FLOATS) / smaller));
    let total: TensorInfo | undefined;
    for (let b0 = 0; b0 < g.batch; b0 += per) {
      const nb = Math.min(per, g.batch - b0);
      const xs = sliceHeap(backend, x, [b0, 0, 0, 0], [nb, g.inH, g.inW, g.inC]);
      const dys = sliceHeap(backend, dy, [b0, 0, 0, 0], [nb, g.outH, g.outW, g.outC]);
      const part = conv2dFilterGrad(backend, base, xs, dys, { ...g, batch: nb });
      free(backend, xs, dys);
      if (!total) {
        total = part;
      } else {
        const t = view(backend, total);
        const q = view(backend, part);
        for (let i = 0; i < t.length; i++) t[i] = t[i]! + q[i]!;
        free(backend, part);
      }
    }
    return total!;
  }
  return unrollX <= unrollDy ? filterGradUnrollX(backend, base, x, dy, g) : filterGradUnrollDy(backend, base, x, dy, g);
}

/** colsT [kH*kW*inC, N] from x in channel-major order (each row segment a contiguous or
 * strided run of one input row), then colsT x dy [N, outC]. */
function filterGradUnrollX(
  backend: WasmBackend,
  base: BaseKernels,
  x: TensorInfo,
  dy: TensorInfo,
  g: Conv2DGeometry,
): TensorInfo {
  const { batch: B, inH: H, inW: W, inC: C, outH: OH, outW: OW, outC: CO, kH: KH, kW: KW, sH, sW } = g;
  const N = B * OH * OW;
  const xT = transpose(backend, base.transpose, x, [3, 0, 1, 2]); // [C, B, H, W]
  const cols = alloc(backend, [KH * KW * C, N]);
  const xs = view(backend, xT);
  const cs = view(backend, cols);
  cs.fill(0);
  for (let kh = 0; kh < KH; kh++) {
    const [ohLo, ohHi] = validRange(kh, sH, g.padTop, H, OH);
    for (let kw = 0; kw < KW; kw++) {
      const [owLo, owHi] = validRange(kw, sW, g.padLeft, W, OW);
      const iwOff = kw - g.padLeft;
      for (let c = 0; c < C; c++) {
        const rowBase = ((kh * KW + kw) * C + c) * N;
        for (let b = 0; b < B; b++) {
          const srcPlane = (c * B + b) * H * W;
          for (let oh = ohLo; oh < ohHi; oh++) {
            const dst = rowBase + (b * OH + oh) * OW;
            const src = srcPlane + (oh * sH + kh - g.padTop) * W;
            if (sW === 1) {
              cs.set(xs.subarray(src + owLo + iwOff, src + owHi + iwOff), dst + owLo);
            } else {
              for (let ow = owLo, s = src + owLo * sW + iwOff; ow < owHi; ow++, s += sW) cs[dst + ow] = xs[s]!;
            }
          }
        }
      }
    }
  }
  free(backend, xT);
  const dW = matmul(backend, base.batchMatMul, cols, [KH * KW * C, N], dy, [N, CO]);
  free(backend, cols);
  return { dataId: dW.dataId, shape: [KH, KW, C, CO], dtype: "float32" };
}

/** rowsT [kH*kW*outC, M]: row (kh, kw, co) holds dy[., ., ., co] placed at the input cells
 * its tap reads; rowsT x x [M, inC] gives [kH, kW, outC, inC], transposed to the filter. */
function filterGradUnrollDy(
  backend: WasmBackend,
  base: BaseKernels,
  x: TensorInfo,
  dy: TensorInfo,
  g: Conv2DGeometry,
): TensorInfo {
  const { batch: B, inH: H, inW: W, inC: C, outH: OH, outW: OW, outC: CO, kH: KH, kW: KW, sH, sW } = g;
  const M = B * H * W;
  const dyT = transpose(backend, base.transpose, dy, [3, 0, 1, 2]); // [CO, B, OH, OW]
  const rows = alloc(backend, [KH * KW * CO, M]);
  const ds = view(backend, dyT);
  const rs = view(backend, rows);
  rs.fill(0);
  for (let kh = 0; kh < KH; kh++) {
    const [ohLo, ohHi] = validRange(kh, sH, g.padTop, H, OH);
    for (let kw = 0; kw < KW; kw++) {
      const [owLo, owHi] = validRange(kw, sW, g.padLeft, W, OW);
      const iwOff = kw - g.padLeft;
      for (let co = 0; co < CO; co++) {
        const rowBase = ((kh * KW + kw) * CO + co) * M;
        for (let b = 0; b < B; b++) {
          for (let oh = ohLo; oh < ohHi; oh++) {
            const src = ((co * B + b) * OH + oh) * OW;
            const dst = rowBase + (b * H + oh * sH + kh - g.padTop) * W + iwOff;
            if (sW === 1) {
              rs.set(ds.subarray(src + owLo, src + owHi), dst + owLo);
            } else {
              for (let ow = owLo; ow < owHi; ow++) rs[dst + ow * sW] = ds[src + ow]!;
            }
          }
        }
      }
    }
  }
  free(backend, dyT);
  const prod = matmul(backend, base.batchMatMul, rows, [KH * KW * CO, M], x, [M, C]);
  free(backend, rows);
  const dW = transpose(backend, base.transpose, { ...prod, shape: [KH, KW, CO, C] }, [0, 1, 3, 2]);
  free(backend, prod);
  return dW;
}

/**
 * dx[b, i, j, ci] = sum over taps and outputs with oh*sH+kh-pT = i, ow*sW+kw-pL = j of
 * dy[b, oh, ow, co] * w[kh, kw, ci, co].
 * dy: [batch, outH, outW, outC], filter: [kH, kW, inC, outC] -> [batch, inH, inW, inC].
 */
export function conv2dInputGrad(
  backend: WasmBackend,
  base: BaseKernels,
  dy: TensorInfo,
  filter: TensorInfo,
  g: Conv2DGeometry,
): TensorInfo {
  const padT = g.kH - 1 - g.padTop;
  const padB = g.kH - 1 - g.padBottom;
  const padL = g.kW - 1 - g.padLeft;
  const padR = g.kW - 1 - g.padRight;
  if (g.sH === 1 && g.sW === 1 && padT >= 0 && padB >= 0 && padL >= 0 && padR >= 0) {
    return inputGradAsConv(backend, base, dy, filter, g, [padT, padB, padL, padR]);
  }
  return inputGradAsCol2im(backend, base, dy, filter, g);
}

/** Stride 1: the input gradient is the correlation of dy with the filter flipped in space
 * and with its channel axes swapped, padded by k-1-pad on each side. */
function inputGradAsConv(
  backend: WasmBackend,
  base: BaseKernels,
  dy: TensorInfo,
  filter: TensorInfo,
  g: Conv2DGeometry,
  [padT, padB, padL, padR]: [number, number, number, number],
): TensorInfo {
  const { kH: KH, kW: KW, inC: C, outC: CO } = g;
  const flipped = alloc(backend, [KH, KW, CO, C]);
  const f = view(backend, filter);
  const r = view(backend, flipped);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const src = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * C * CO;
      const dst = (kh * KW + kw) * CO * C;
      for (let c = 0; c < C; c++) {
        for (let co = 0; co < CO; co++) r[dst + co * C + c] = f[src + c * CO + co]!;
      }
    }
  }
  const dx = base.conv2d({
    inputs: { x: dy, filter: flipped },
    backend,
    attrs: { strides: [1, 1], pad: explicitPad(padT, padB, padL, padR), dataFormat: "NHWC", dilations: [1, 1] },
  });
  free(backend, flipped);
  return dx;
}

/** Any stride: cols = dy [N, outC] x filter^T [outC, kH*kW*inC], then each column block is
 * added into the input position its tap came from (col2im). */
function inputGradAsCol2im(
  backend: WasmBackend,
  base: BaseKernels,
  dy: TensorInfo,
  filter: TensorInfo,
  g: Conv2DGeometry,
): TensorInfo {
  const { batch: B, inH: H, inW: W, inC: C, outH: OH, outW: OW, outC: CO, kH: KH, kW: KW, sH, sW } = g;
  const N = B * OH * OW;
  const TC = KH * KW * C;
  const filterT = transpose(backend, base.transpose, { ...filter, shape: [TC, CO] }, [1, 0]); // [CO, TC]
  const cols = matmul(backend, base.batchMatMul, dy, [N, CO], filterT, [CO, TC]);
  free(backend, filterT);
  const dx = alloc(backend, [B, H, W, C]);
  const cs = view(backend, cols);
  const d = view(backend, dx);
  d.fill(0);
  const colsW: [number, number][] = [];
  for (let kw = 0; kw < KW; kw++) colsW.push(validRange(kw, sW, g.padLeft, W, OW));
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sH + kh - g.padTop;
        if (ih < 0 || ih >= H) continue;
        const dxRow = (b * H + ih) * W;
        const colRow = (b * OH + oh) * OW;
        for (let kw = 0; kw < KW; kw++) {
          const [owLo, owHi] = colsW[kw]!;
          const tapOff = (kh * KW + kw) * C;
          for (let ow = owLo; ow < owHi; ow++) {
            const dst = (dxRow + ow * sW + kw - g.padLeft) * C;
            const src = (colRow + ow) * TC + tapOff;
            for (let c = 0; c < C; c++) d[dst + c] += cs[src + c]!;
          }
        }
      }
    }
  }
  free(backend, cols);
  return dx;
}
