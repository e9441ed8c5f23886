// The torch backend's kernels: every kernel the kit dispatches (recorded over the test suite
// and `figures --profile smoke`, see docs in the README's engine section) and the common ones
// around them, each a thin translation of tfjs's inputs and attributes into one addon call.
// A libtorch exception becomes an UnpairedError naming the kernel (OUT_OF_MEMORY when memory
// ran out), never a crash.
import { tf } from "../tf.js";
import type { DataType, TensorInfo } from "../tf.js";
import { UnpairedError } from "../../util/errors.js";
import type { TorchBackend } from "./backend.js";
import { DTYPE_CODE } from "./native.js";

type Attrs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Inputs = Record<string, TensorInfo | undefined>;
type KernelImpl = (inputs: Inputs, b: TorchBackend, attrs: Attrs) => TensorInfo | TensorInfo[];

/** Unary op codes (native/src/ops.cc `unary`). */
const UNARY: Record<string, number> = {
  Abs: 0, Neg: 1, Exp: 2, Log: 3, Log1p: 4, Sqrt: 5, Rsqrt: 6, Square: 7, Relu: 8, Sigmoid: 9, Tanh: 10,
  Softplus: 11, Sign: 12, Floor: 13, Ceil: 14, Round: 15, Sin: 16, Cos: 17, Expm1: 18, Reciprocal: 19,
  Erf: 20, IsNan: 21, IsInf: 22, LogicalNot: 23, Elu: 24, Relu6: 25, Selu: 26, ZerosLike: 28, OnesLike: 29,
  IsFinite: 30, Atan: 32,
};

/** Binary op codes (native/src/ops.cc `binary`); inputs a, b. */
const BINARY: Record<string, number> = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Pow: 4, Maximum: 5, Minimum: 6, SquaredDifference: 7,
  Mod: 9, Equal: 10, NotEqual: 11, Less: 12, LessEqual: 13, Greater: 14, GreaterEqual: 15, LogicalAnd: 16,
  LogicalOr: 17, Atan2: 18,
};

/** Reductions (native `reduce`) and the attribute each keeps its axes in. */
const REDUCE: Record<string, [number, string]> = {
  Sum: [0, "axis"], Mean: [1, "axis"], Max: [2, "reductionIndices"], Min: [3, "axis"], Prod: [4, "axis"], Any: [5, "axis"], All: [6, "axis"],
};

const code = (dtype: DataType): number => (DTYPE_CODE as Record<string, number>)[dtype] ?? -1;

/** Turns what the addon threw into an UnpairedError naming the kernel. */
export function torchKernelError(kernel: string, e: unknown): UnpairedError {
  if (e instanceof UnpairedError) return e;
  const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 500);
  if (/out of memory|can't allocate memory|not enough memory|alloc_cpu|CUDA error: out/i.test(msg)) {
    return new UnpairedError(
      "OUT_OF_MEMORY",
      `${kernel} on the torch backend ran out of memory (${msg}). Use a smaller patch or batch (--set patch=... / batchSize=...), or UNPAIRED_DEVICE=cpu when the GPU is the one that is full.`,
      { cause: e },
    );
  }
  return new UnpairedError("KERNEL_FAILED", `${kernel} on the torch backend failed: ${msg}`, { cause: e });
}

function unsupported(kernel: string, what: string): never {
  throw new UnpairedError("KERNEL_UNSUPPORTED", `${kernel} on the torch backend: ${what} is not supported; run with UNPAIRED_BACKEND=wasm or cpu for it.`);
}

// --- convolution and pooling geometry ---------------------------------------------------

function conv2dArgs(info: tf.backend_util.Conv2DInfo) {
  const p = info.padInfo;
  return {
    strides: [info.strideHeight, info.strideWidth],
    pads: [p.top, p.bottom, p.left, p.right],
    dilations: [info.dilationHeight, info.dilationWidth],
    channelsFirst: info.dataFormat === "channelsFirst",
  };
}

function conv3dArgs(info: tf.backend_util.Conv3DInfo) {
  const p = info.padInfo;
  return {
    strides: [info.strideDepth, info.strideHeight, info.strideWidth],
    pads: [p.front, p.back, p.top, p.bottom, p.left, p.right],
    dilations: [info.dilationDepth, info.dilationHeight, info.dilationWidth],
    channelsFirst: info.dataFormat === "channelsFirst",
  };
}

const format2d = (f: string | undefined): "channelsFirst" | "channelsLast" => (f === "NCHW" || f === "channelsFirst" ? "channelsFirst" : "channelsLast");
const format3d = (f: string | undefined): "channelsFirst" | "channelsLast" => (f === "NCDHW" || f === "channelsFirst" ? "channelsFirst" : "channelsLast");

function checkDepthwise(kernel: string, filter: TensorInfo | number[], inChannels: number): void {
  const shape = Array.isArray(filter) ? filter : filter.shape;
  if (shape[shape.length - 2] !== inChannels) unsupported(kernel, `a filter of ${shape[shape.length - 2]} input channels for ${inChannels}-channel input (grouped convolution)`);
}

function pool2dInfo(shape: number[], a: Attrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
}

function pool3dInfo(shape: number[], a: Attrs): tf.backend_util.Conv3DInfo {
  return tf.backend_util.computePool3DInfo(shape as [number, number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode, a.dataFormat ?? "NDHWC");
}

const kernel2d = (i: tf.backend_util.Conv2DInfo) => [i.filterHeight, i.filterWidth];
const kernel3d = (i: tf.backend_util.Conv3DInfo) => [i.filterDepth, i.filterHeight, i.filterWidth];

// --- the kernels ---------------------------------------------------------------------------

const KERNELS: Record<string, KernelImpl> = {
  Identity: ({ x }, b) => b.share(x!),
  Cast: ({ x }, b, a) => {
    if (a.dtype === x!.dtype) return b.share(x!);
    const c = code(a.dtype);
    if (c < 0) unsupported("Cast", `dtype ${a.dtype}`);
    return b.out(b.native.cast(b.slot(x!), c));
  },
  Reshape: ({ x }, b, a) => b.out(b.native.reshape(b.slot(x!), tf.util.inferFromImplicitShape(a.shape as number[], tf.util.sizeFromShape(x!.shape)))),
  ExpandDims: ({ input }, b, a) => {
    const shape = input!.shape.slice();
    let axis = a.dim as number;
    if (axis < 0) axis += shape.length + 1;
    shape.splice(axis, 0, 1);
    return b.out(b.native.reshape(b.slot(input!), shape));
  },
  Transpose: ({ x }, b, a) => b.out(b.native.transpose(b.slot(x!), a.perm)),
  Step: ({ x }, b, a) => b.out(b.native.step(b.slot(x!), a.alpha ?? 0)),
  LeakyRelu: ({ x }, b, a) => b.out(b.native.leakyRelu(b.slot(x!), a.alpha)),
  // tfjs's FloorDiv gives int32 whatever its inputs.
  FloorDiv: ({ a: x, b: y }, b) => {
    const q = b.out(b.native.binary(8, b.slot(x!), b.slot(y!)));
    if (q.dtype === "int32") return q;
    const r = b.out(b.native.cast(b.slot(q), DTYPE_CODE.int32));
    b.disposeData(q.dataId);
    return r;
  },
  Prelu: ({ x, alpha }, b) => b.out(b.native.binary(19, b.slot(x!), b.slot(alpha!))),
  ClipByValue: ({ x }, b, a) => b.out(b.native.clip(b.slot(x!), a.clipValueMin, a.clipValueMax)),
  EluGrad: ({ dy, y }, b) => b.out(b.native.eluGrad(b.slot(dy!), b.slot(y!))),
  Softmax: ({ logits }, b, a) => b.out(b.native.softmax(b.slot(logits!), a.dim ?? -1)),
  ArgMax: ({ x }, b, a) => b.out(b.native.argReduce(0, b.slot(x!), tf.util.parseAxisParam(a.axis, x!.shape)[0]!)),
  ArgMin: ({ x }, b, a) => b.out(b.native.argReduce(1, b.slot(x!), tf.util.parseAxisParam(a.axis, x!.shape)[0]!)),
  Cumsum: ({ x }, b, a) => b.out(b.native.cumsum(b.slot(x!), tf.util.parseAxisParam(a.axis, x!.shape)[0]!, Boolean(a.exclusive), Boolean(a.reverse))),

  Slice: ({ x }, b, a) => {
    const [begin, size] = tf.slice_util.parseSliceParams(x!, a.begin, a.size);
    return b.out(b.native.slice(b.slot(x!), begin!, size!));
  },
  StridedSlice: ({ x }, b, a) => {
    const s = tf.slice_util.sliceInfo(x!.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
    let slot: number;
    if (s.isIdentity) slot = b.native.reshape(b.slot(x!), x!.shape);
    else if (s.isSimpleSlice) slot = b.native.slice(b.slot(x!), s.begin, s.end.map((e, i) => e - s.begin[i]!));
    else slot = b.native.stridedSlice(b.slot(x!), s.begin, s.end, s.strides);
    const sliced = b.out(slot);
    const result = b.out(b.native.reshape(slot, s.finalShape));
    b.disposeData(sliced.dataId);
    return result;
  },
  Concat: (inputs, b, a) => {
    const xs = Object.values(inputs) as TensorInfo[];
    const axis = tf.util.parseAxisParam(a.axis, xs[0]!.shape)[0]!;
    if (xs.length === 1) return b.share(xs[0]!);
    return b.out(b.native.concat(xs.map((t) => b.slot(t)), axis));
  },
  Pack: (inputs, b, a) => {
    const xs = Object.values(inputs) as TensorInfo[];
    let axis = a.axis as number;
    if (axis < 0) axis += xs[0]!.shape.length + 1;
    return b.out(b.native.stack(xs.map((t) => b.slot(t)), axis));
  },
  Unpack: ({ value }, b, a) => {
    const axis = tf.util.parseAxisParam(a.axis, value!.shape)[0]!;
    const shape = value!.shape.filter((_, i) => i !== axis);
    return b.native.unstack(b.slot(value!), axis).map((s) => b.outWith(s, shape.slice(), value!.dtype));
  },
  SplitV: ({ x }, b, a) => {
    const axis = tf.util.parseAxisParam(a.axis, x!.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x!, a.numOrSizeSplits, axis);
    return b.native.split(b.slot(x!), sizes, axis).map((s, i) => {
      const shape = x!.shape.slice();
      shape[axis] = sizes[i]!;
      return b.outWith(s, shape, x!.dtype);
    });
  },
  PadV2: ({ x }, b, a) => b.out(b.native.pad(b.slot(x!), (a.paddings as [number, number][]).flat(), a.constantValue ?? 0)),
  MirrorPad: ({ x }, b, a) => b.out(b.native.mirrorPad(b.slot(x!), (a.paddings as [number, number][]).flat(), a.mode === "reflect" ? 0 : 1)),
  Reverse: ({ x }, b, a) => b.out(b.native.reverse(b.slot(x!), tf.util.parseAxisParam(a.dims, x!.shape))),
  Tile: ({ x }, b, a) => b.out(b.native.tile(b.slot(x!), a.reps)),
  GatherV2: ({ x, indices }, b, a) => {
    if (a.batchDims) unsupported("GatherV2", `batchDims ${a.batchDims}`);
    const axis = tf.util.parseAxisParam(a.axis, x!.shape)[0]!;
    return b.out(b.native.gather(b.slot(x!), b.slot(indices!), axis));
  },
  Select: ({ condition, t, e }, b) => b.out(b.native.select(b.slot(condition!), b.slot(t!), b.slot(e!))),
  OneHot: ({ indices }, b, a) => b.out(b.native.oneHot(b.slot(indices!), a.depth, a.onValue ?? 1, a.offValue ?? 0, code(a.dtype ?? "int32"))),
  BatchMatMul: ({ a: x, b: y }, b, a) => b.out(b.native.matMul(b.slot(x!), b.slot(y!), Boolean(a.transposeA), Boolean(a.transposeB))),
  UnsortedSegmentSum: ({ x, segmentIds }, b, a) => b.out(b.native.unsortedSegmentSum(b.slot(x!), b.slot(segmentIds!), a.numSegments)),
  AddN: (inputs, b) => {
    const xs = Object.values(inputs) as TensorInfo[];
    return b.out(b.native.addN(xs.map((t) => b.slot(t))));
  },
  Fill: (_, b, a) => b.out(b.native.fill(a.shape, a.value, code(a.dtype ?? (typeof a.value === "number" ? "float32" : "int32")))),
  Range: (_, b, a) => {
    // tfjs's own rule (incl. its automatic negative step for stop < start), computed here.
    const { start, stop, dtype } = a as { start: number; stop: number; dtype: DataType };
    let step = a.step as number;
    const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
    const n = empty ? 0 : Math.abs(Math.ceil((stop - start) / step));
    if (stop < start && step === 1) step = -1;
    const values = dtype === "int32" ? new Int32Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = i === 0 ? start : values[i - 1]! + step;
    return b.outWith(b.native.fromData(values, [n], code(dtype)), [n], dtype);
  },

  // The kit's fused normalisation (lib/engine/normalise.ts) and its gradient.
  UnpairedNormalise: ({ x }, b, a) => b.out(b.native.normalise(b.slot(x!), a.axes, a.eps)),
  UnpairedNormaliseGrad: ({ dy, x }, b, a) => b.out(b.native.normaliseGrad(b.slot(dy!), b.slot(x!), a.axes, a.eps)),
  // The kit's fused Adam update (lib/engine/adamStep.ts): new parameter and moments.
  UnpairedAdam: ({ param, expAvg, expAvgSq, grad }, b, a) => {
    const slots = b.native.adam(b.slot(param!), b.slot(expAvg!), b.slot(expAvgSq!), b.slot(grad!), a.beta1, a.beta2, a.eps, a.stepSize, a.bc2Sqrt);
    return slots.map((s) => b.outWith(s, param!.shape.slice(), "float32"));
  },
  Conv2D: ({ x, filter }, b, a) => {
    const info = tf.backend_util.computeConv2DInfo(x!.shape as [number, number, number, number], filter!.shape as [number, number, number, number], a.strides, a.dilations, a.pad, a.dimRoundingMode, false, format2d(a.dataFormat));
    checkDepthwise("Conv2D", filter!, info.inChannels);
    const g = conv2dArgs(info);
    return b.out(b.native.conv(b.slot(x!), b.slot(filter!), 2, g.strides, g.pads, g.dilations, g.channelsFirst));
  },
  Conv2DBackpropInput: ({ dy, filter }, b, a) => {
    const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter!.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, format2d(a.dataFormat));
    checkDepthwise("Conv2DBackpropInput", filter!, info.inChannels);
    const g = conv2dArgs(info);
    return b.out(b.native.convBackpropInput(b.slot(dy!), b.slot(filter!), a.inputShape, 2, g.strides, g.pads, g.dilations, g.channelsFirst));
  },
  Conv2DBackpropFilter: ({ x, dy }, b, a) => {
    const info = tf.backend_util.computeConv2DInfo(x!.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, format2d(a.dataFormat));
    checkDepthwise("Conv2DBackpropFilter", a.filterShape, info.inChannels);
    const g = conv2dArgs(info);
    return b.out(b.native.convBackpropFilter(b.slot(x!), b.slot(dy!), a.filterShape, 2, g.strides, g.pads, g.dilations, g.channelsFirst));
  },
  Conv3D: ({ x, filter }, b, a) => {
    const info = tf.backend_util.computeConv3DInfo(x!.shape as [number, number, number, number, number], filter!.shape as [number, number, number, number, number], a.strides, a.dilations ?? 1, a.pad, false, format3d(a.dataFormat));
    checkDepthwise("Conv3D", filter!, info.inChannels);
    const g = conv3dArgs(info);
    return b.out(b.native.conv(b.slot(x!), b.slot(filter!), 3, g.strides, g.pads, g.dilations, g.channelsFirst));
  },
  Conv3DBackpropInputV2: ({ dy, filter }, b, a) => {
    const info = tf.backend_util.computeConv3DInfo(a.inputShape, filter!.shape as [number, number, number, number, number], a.strides, 1, a.pad, false, format3d(a.dataFormat));
    checkDepthwise("Conv3DBackpropInputV2", filter!, info.inChannels);
    const g = conv3dArgs(info);
    return b.out(b.native.convBackpropInput(b.slot(dy!), b.slot(filter!), a.inputShape, 3, g.strides, g.pads, g.dilations, g.channelsFirst));
  },
  Conv3DBackpropFilterV2: ({ x, dy }, b, a) => {
    const info = tf.backend_util.computeConv3DInfo(x!.shape as [number, number, number, number, number], a.filterShape, a.strides, 1, a.pad, false, format3d(a.dataFormat));
    checkDepthwise("Conv3DBackpropFilterV2", a.filterShape, info.inChannels);
    const g = conv3dArgs(info);
    return b.out(b.native.convBackpropFilter(b.slot(x!), b.slot(dy!), a.filterShape, 3, g.strides, g.pads, g.dilations, g.channelsFirst));
  },
  AvgPool: ({ x }, b, a) => {
    const info = pool2dInfo(x!.shape, a);
    const g = conv2dArgs(info);
    return b.out(b.native.avgPool(b.slot(x!), 2, g.strides, g.pads, kernel2d(info), false));
  },
  AvgPoolGrad: ({ dy, input }, b, a) => {
    const info = pool2dInfo(input!.shape, a);
    const g = conv2dArgs(info);
    return b.out(b.native.avgPoolGrad(b.slot(dy!), input!.shape, 2, g.strides, g.pads, kernel2d(info), false));
  },
  AvgPool3D: ({ x }, b, a) => {
    const info = pool3dInfo(x!.shape, a);
    const g = conv3dArgs(info);
    return b.out(b.native.avgPool(b.slot(x!), 3, g.strides, g.pads, kernel3d(info), g.channelsFirst));
  },
  AvgPool3DGrad: ({ dy, input }, b, a) => {
    const info = pool3dInfo(input!.shape, a);
    const g = conv3dArgs(info);
    return b.out(b.native.avgPoolGrad(b.slot(dy!), input!.shape, 3, g.strides, g.pads, kernel3d(info), g.channelsFirst));
  },
  MaxPool: ({ x }, b, a) => {
    const info = pool2dInfo(x!.shape, a);
    const g = conv2dArgs(info);
    return b.out(b.native.maxPool(b.slot(x!), 2, g.strides, g.pads, kernel2d(info), false));
  },
  MaxPoolGrad: ({ dy, input }, b, a) => {
    const info = pool2dInfo(input!.shape, a);
    const g = conv2dArgs(info);
    return b.out(b.native.maxPoolGrad(b.slot(dy!), b.slot(input!), 2, g.strides, g.pads, kernel2d(info), false));
  },
  MaxPool3D: ({ x }, b, a) => {
    const info = pool3dInfo(x!.shape, a);
    const g = conv3dArgs(info);
    return b.out(b.native.maxPool(b.slot(x!), 3, g.strides, g.pads, kernel3d(info), g.channelsFirst));
  },
  MaxPool3DGrad: ({ dy, input }, b, a) => {
    const info = pool3dInfo(input!.shape, a);
    const g = conv3dArgs(info);
    return b.out(b.native.maxPoolGrad(b.slot(dy!), b.slot(input!), 3, g.strides, g.pads, kernel3d(info), g.channelsFirst));
  },
};

for (const [name, c] of Object.entries(UNARY)) KERNELS[name] = ({ x }, b) => b.out(b.native.unary(c, b.slot(x!)));
for (const [name, c] of Object.entries(BINARY)) KERNELS[name] = ({ a, b: y }, b) => b.out(b.native.binary(c, b.slot(a!), b.slot(y!)));
for (const [name, [c, attr]] of Object.entries(REDUCE)) {
  KERNELS[name] = ({ x }, b, a) => {
    const axes = tf.util.parseAxisParam(a[attr], x!.shape);
    if (axes.length === 0) return name === "Any" || name === "All" ? b.out(b.native.cast(b.slot(x!), DTYPE_CODE.bool)) : b.share(x!);
    return b.out(b.native.reduce(c, b.slot(x!), axes, Boolean(a.keepDims)));
  };
}

/** The kernels the torch backend provides. */
export const TORCH_KERNELS: readonly string[] = Object.keys(KERNELS).sort();

let registered = false;

/** Registers every kernel for the backend "torch" (once). */
export function registerTorchKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, impl] of Object.entries(KERNELS)) {
    tf.registerKernel({
      kernelName,
      backendName: "torch",
      kernelFunc: (({ inputs, backend, attrs }: { inputs: Inputs; backend: TorchBackend; attrs: Attrs }) => {
        try {
          return impl(inputs, backend, attrs ?? {});
        } catch (e) {
          throw torchKernelError(kernelName, e);
        }
      }) as unknown as tf.KernelFunc,
    });
  }
}
