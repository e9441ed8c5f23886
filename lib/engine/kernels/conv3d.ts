// 3D convolutions on the wasm backend as 2D ones: the depth taps of the filter are folded into
// the channel axis (x is gathered to [batch*outD, H, W, kD*inC]), so a 3D convolution and both
// its gradients become one XNNPACK-backed 2D kernel each, plus a depth gather or scatter-add.
// Replaces the backend's Conv3D (a slow scalar loop) and its two gradient kernels (wrong
// results for several strides and paddings in tfjs-backend-wasm 4.22.0).
import { tf } from "../tf.js";
import type { TensorInfo } from "../tf.js";
import { type BaseKernels, conv2dFilterGrad, conv2dInputGrad } from "./conv2dGrads.js";
import { type Conv2DGeometry, explicitPad } from "./convGeometry.js";
import { type WasmBackend, alloc, free, reshaped, transpose, view } from "./wasmHeap.js";

/** NDHWC convolution geometry: the 2D geometry of the folded problem plus the depth axis. */
export interface Conv3DGeometry {
  batch: number;
  inD: number;
  outD: number;
  kD: number;
  sD: number;
  padFront: number;
  /** The folded 2D problem: batch*outD images, kD*inC input channels. */
  plane: Conv2DGeometry;
  /** Channels of the unfolded input. */
  inC: number;
}

type Pad3D = "valid" | "same" | number;

/** Geometry of an NDHWC 3D convolution, or `null` for dilations or layouts the pack leaves to
 * the backend's own kernel. */
export function conv3dGeometry(
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number, number],
  pad: Pad3D,
  dataFormat: string | undefined,
  dilations: number | [number, number, number] = 1,
): Conv3DGeometry | null {
  if (dataFormat !== undefined && dataFormat !== "NDHWC" && dataFormat !== "channelsLast") return null;
  const info = tf.backend_util.computeConv3DInfo(
    xShape as [number, number, number, number, number],
    filterShape as [number, number, number, number, number],
    strides,
    dilations,
    pad,
  );
  if (info.dilationDepth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const kD = info.filterDepth;
  return {
    batch: info.batchSize,
    inD: info.inDepth,
    outD: info.outDepth,
    kD,
    sD: info.strideDepth,
    padFront: info.padInfo.front,
    inC: info.inChannels,
    plane: {
      batch: info.batchSize * info.outDepth,
      inH: info.inHeight,
      inW: info.inWidth,
      inC: kD * info.inChannels,
      outH: info.outHeight,
      outW: info.outWidth,
      outC: info.outChannels,
      kH: info.filterHeight,
      kW: info.filterWidth,
      sH: info.strideHeight,
      sW: info.strideWidth,
      padTop: info.padInfo.top,
      padBottom: info.padInfo.bottom,
      padLeft: info.padInfo.left,
      padRight: info.padInfo.right,
    },
  };
}

/**
 * The four depth-tap moves of the folds, one loop. A "plain" tensor is [batch, depth, P, C]; a
 * "tapped" one is [batch, depth', P, kD, C] (P = cells of a plane). Input depth d and output
 * depth od are linked by d = od*sD + kd - padFront.
 * - tapsAt "out", toTaps:   tapped[od, kd] = plain[d]         (gather x for the input fold)
 * - tapsAt "out", fromTaps: plain[d]      += tapped[od, kd]   (its adjoint: scatter-add)
 * - tapsAt "in",  toTaps:   tapped[d, kd] = plain[od]         (spread dy for the output fold)
 * - tapsAt "in",  fromTaps: plain[od]     += tapped[d, kd]    (its adjoint: sum over taps)
 * Every slot a move does not reach is zero.
 */
function moveDepthTaps(
  backend: WasmBackend,
  src: TensorInfo,
  outShape: number[],
  g: Conv3DGeometry,
  planeCells: number,
  C: number,
  tapsAt: "in" | "out",
  direction: "toTaps" | "fromTaps",
): TensorInfo {
  const { batch: B, inD: D, outD: OD, kD: KD, sD, padFront } = g;
  const out = alloc(backend, outShape);
  const ss = view(backend, src);
  const os = view(backend, out);
  os.fill(0);
  const KC = KD * C;
  const tappedDepth = tapsAt === "out" ? OD : D;
  const plainDepth = tapsAt === "out" ? D : OD;
  const toTaps = direction === "toTaps";
  for (let b = 0; b < B; b++) {
    for (let od = 0; od < OD; od++) {
      for (let kd = 0; kd < KD; kd++) {
        const d = od * sD + kd - padFront;
        if (d < 0 || d >= D) continue;
        const [tappedAt, plainAt] = tapsAt === "out" ? [od, d] : [d, od];
        let tapped = (b * tappedDepth + tappedAt) * planeCells * KC + kd * C;
        let plain = (b * plainDepth + plainAt) * planeCells * C;
        if (toTaps) {
          for (let p = 0; p < planeCells; p++, tapped += KC, plain += C) {
            for (let c = 0; c < C; c++) os[tapped + c] = ss[plain + c]!;
          }
        } else {
          for (let p = 0; p < planeCells; p++, tapped += KC, plain += C) {
            for (let c = 0; c < C; c++) os[plain + c] += ss[tapped + c]!;
          }
        }
      }
    }
  }
  return out;
}

/** [kD, kH, kW, inC, outC] -> the folded 2D filter [kH, kW, kD*inC, outC]. */
function foldFilter(backend: WasmBackend, base: BaseKernels, filter: TensorInfo): TensorInfo {
  const [kD, kH, kW, C, CO] = filter.shape as [number, number, number, number, number];
  const t = transpose(backend, base.transpose, filter, [1, 2, 0, 3, 4]);
  return { dataId: t.dataId, shape: [kH, kW, kD * C, CO], dtype: "float32" };
}

/** [kD, kH, kW, inC, outC] -> the output-folded 2D filter [kH, kW, inC, kD*outC]. */
function foldFilterOut(backend: WasmBackend, base: BaseKernels, filter: TensorInfo): TensorInfo {
  const [kD, kH, kW, C, CO] = filter.shape as [number, number, number, number, number];
  const t = transpose(backend, base.transpose, filter, [1, 2, 3, 0, 4]);
  return { dataId: t.dataId, shape: [kH, kW, C, kD * CO], dtype: "float32" };
}

/** The 2D geometry of the output-folded problem: every input depth slice is an image, the
 * depth taps are output channels, and the plane's strides and pads are unchanged. */
function outputFoldedPlane(g: Conv3DGeometry): Conv2DGeometry {
  return { ...g.plane, batch: g.batch * g.inD, inC: g.inC, outC: g.kD * g.plane.outC };
}

/** Few output channels leave most of XNNPACK's vector lanes idle when the depth taps are
 * folded into the input channels; folding them into the output channels fills the lanes. */
function foldIntoOutput(g: Conv3DGeometry): boolean {
  return g.plane.outC < 8 && g.plane.outC < g.inC;
}

/** y = conv3d(x, filter). x: [batch, D, H, W, inC], filter: [kD, kH, kW, inC, outC]
 * -> [batch, outD, outH, outW, outC]. */
export function conv3dForward(
  backend: WasmBackend,
  base: BaseKernels,
  x: TensorInfo,
  filter: TensorInfo,
  g: Conv3DGeometry,
): TensorInfo {
  const p = g.plane;
  if (foldIntoOutput(g)) {
    const q = outputFoldedPlane(g);
    const w2o = foldFilterOut(backend, base, filter);
    const z = base.conv2d({
      inputs: { x: reshaped(x, [q.batch, q.inH, q.inW, q.inC]), filter: w2o },
      backend,
      attrs: {
        strides: [q.sH, q.sW],
        pad: explicitPad(q.padTop, q.padBottom, q.padLeft, q.padRight),
        dataFormat: "NHWC",
        dilations: [1, 1],
      },
    });
    free(backend, w2o);
    const y = moveDepthTaps(backend, z, [g.batch, g.outD, p.outH, p.outW, p.outC], g, p.outH * p.outW, p.outC, "in", "fromTaps");
    free(backend, z);
    return y;
  }
  const xg = moveDepthTaps(backend, x, [p.batch, p.inH, p.inW, p.inC], g, p.inH * p.inW, g.inC, "out", "toTaps");
  const w2 = foldFilter(backend, base, filter);
  const y = base.conv2d({
    inputs: { x: xg, filter: w2 },
    backend,
    attrs: {
      strides: [p.sH, p.sW],
      pad: explicitPad(p.padTop, p.padBottom, p.padLeft, p.padRight),
      dataFormat: "NHWC",
      dilations: [1, 1],
    },
  });
  free(backend, xg, w2);
  return reshaped(y, [g.batch, g.outD, p.outH, p.outW, p.outC]);
}

/** dx of conv3d. dy: [batch, outD, outH, outW, outC] -> [batch, D, H, W, inC]. */
export function conv3dInputGrad(
  backend: WasmBackend,
  base: BaseKernels,
  dy: TensorInfo,
  filter: TensorInfo,
  g: Conv3DGeometry,
): TensorInfo {
  const p = g.plane;
  if (foldIntoOutput(g)) {
    const q = outputFoldedPlane(g);
    const dz = moveDepthTaps(backend, dy, [q.batch, q.outH, q.outW, q.outC], g, p.outH * p.outW, p.outC, "in", "toTaps");
    const w2o = foldFilterOut(backend, base, filter);
    const dx = conv2dInputGrad(backend, base, dz, w2o, q);
    free(backend, dz, w2o);
    return reshaped(dx, [g.batch, g.inD, p.inH, p.inW, g.inC]);
  }
  const w2 = foldFilter(backend, base, filter);
  const z = conv2dInputGrad(backend, base, reshaped(dy, [p.batch, p.outH, p.outW, p.outC]), w2, p);
  free(backend, w2);
  const dx = moveDepthTaps(backend, z, [g.batch, g.inD, p.inH, p.inW, g.inC], g, p.inH * p.inW, g.inC, "out", "fromTaps");
  free(backend, z);
  return dx;
}

/** dW of conv3d. x: [batch, D, H, W, inC], dy: [batch, outD, outH, outW, outC]
 * -> [kD, kH, kW, inC, outC]. */
export function conv3dFilterGrad(
  backend: WasmBackend,
  base: BaseKernels,
  x: TensorInfo,
  dy: TensorInfo,
  g: Conv3DGeometry,
): TensorInfo {
  const p = g.plane;
  const xg = moveDepthTaps(backend, x, [p.batch, p.inH, p.inW, p.inC], g, p.inH * p.inW, g.inC, "out", "toTaps");
  const dw2 = conv2dFilterGrad(backend, base, xg, reshaped(dy, [p.batch, p.outH, p.outW, p.outC]), p);
  free(backend, xg);
  const folded = { ...dw2, shape: [p.kH, p.kW, g.kD, g.inC, p.outC] };
  const dw = transpose(backend, base.transpose, folded, [2, 0, 1, 3, 4]);
  free(backend, dw2);
  return dw;
}
