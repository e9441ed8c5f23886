// The geometry of a 2D convolution (sizes, strides, explicit paddings) that the kernel pack's
// 2D and 3D kernels share, derived with tfjs's own shape rules so every kernel agrees with
// the op that called it on output sizes and on how 'same' padding is split.
import { tf } from "../tf.js";

/** NHWC convolution `y[b, oh, ow, co] = sum x[b, oh*sH + kh - padTop, ow*sW + kw - padLeft, ci]
 * * w[kh, kw, ci, co]` with zero padding; the input is [batch, inH, inW, inC]. */
export interface Conv2DGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

type Pad = "valid" | "same" | number | [[number, number], [number, number], [number, number], [number, number]];

/** Geometry of an NHWC 2D convolution from tfjs attributes; `null` when the call uses a
 * layout or dilation the pack does not handle (the caller then falls back). */
export function conv2dGeometry(
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode: "floor" | "round" | "ceil" | undefined,
  dataFormat: string | undefined,
  dilations: number | [number, number] = 1,
): Conv2DGeometry | null {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    "channelsLast",
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
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
  };
}

/** The explicit-padding form tfjs ops accept, for calling a kernel with a geometry's pads. */
export function explicitPad(
  top: number,
  bottom: number,
  left: number,
  right: number,
): [[number, number], [number, number], [number, number], [number, number]] {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}
