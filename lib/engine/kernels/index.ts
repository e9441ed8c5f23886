// The kit's kernel pack for the wasm backend: registers fast, checked replacements for the
// convolution kernels tfjs-backend-wasm lacks (2D filter gradient), runs as scalar loops
// (2D input gradient, 3D forward) or gets wrong (3D gradients), all built on the backend's
// XNNPACK Conv2D and BatchMatMul. Registration is idempotent and reports what it replaced.
import { tf } from "../tf.js";
import type { TensorInfo } from "../tf.js";
import { UnpairedError } from "../../util/errors.js";
import { type BaseKernels, conv2dFilterGrad, conv2dInputGrad } from "./conv2dGrads.js";
import { conv2dGeometry } from "./convGeometry.js";
import { conv3dFilterGrad, conv3dForward, conv3dGeometry, conv3dInputGrad } from "./conv3d.js";
import { sliceHeap } from "./slice.js";
import { unsortedSegmentSumHeap } from "./segmentSum.js";
import { contiguousAxes, prepareSplitSize, splitHeap, sumBlockHeap } from "./reduce.js";
import { type KernelArgs, type WasmKernel, originalKernel } from "./wasmHeap.js";

type Attrs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the pack did to one kernel. */
export interface ReplacedKernel {
  kernel: string;
  /** Why it was replaced: the backend had none, or its own is slow or wrong. */
  reason: "missing" | "slow" | "wrong";
  /** How the replacement computes. */
  via: string;
}

let installed: ReplacedKernel[] | null = null;

function unsupported(kernel: string, what: string): never {
  throw new UnpairedError(
    "KERNEL_UNSUPPORTED",
    `${kernel} on the wasm backend: ${what} is not supported by the kit's kernel pack and the ` +
      `backend's own kernel would give wrong or no results. Use channels-last tensors without ` +
      `dilation, or run with UNPAIRED_BACKEND=cpu.`,
  );
}

function requireKernel(name: string): WasmKernel {
  const k = originalKernel(name);
  if (!k) throw new UnpairedError("BACKEND_INIT_FAILED", `the wasm backend has no ${name} kernel to build on`);
  return k;
}

function float32Only(kernel: string, ...ts: TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== "float32") unsupported(kernel, `dtype ${t.dtype}`);
}

/** Registers the pack on the wasm backend (call after the backend is initialised). Returns the
 * list of replaced kernels; later calls return the same list without registering again. */
export function installWasmKernelPack(): ReplacedKernel[] {
  if (installed) return installed;
  const base: BaseKernels = {
    conv2d: requireKernel("Conv2D"),
    batchMatMul: requireKernel("BatchMatMul"),
    transpose: requireKernel("Transpose"),
  };
  const originalConv3d = originalKernel("Conv3D");
  const originalSlice = requireKernel("Slice");
  const originalSum = requireKernel("Sum");
  const originalSplit = requireKernel("SplitV");

  const pack: (ReplacedKernel & { func: (args: KernelArgs) => TensorInfo })[] = [
    {
      kernel: "Conv2DBackpropFilter",
      reason: "missing",
      via: "one XNNPACK BatchMatMul over x unrolled per tap, or dy unrolled per tap when it has fewer channels",
      func: ({ inputs, backend, attrs }) => {
        const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
        const a = attrs as Attrs;
        float32Only("Conv2DBackpropFilter", x, dy);
        const g = conv2dGeometry(x.shape, a.filterShape, a.strides, a.pad, a.dimRoundingMode, a.dataFormat);
        if (!g) unsupported("Conv2DBackpropFilter", `dataFormat ${a.dataFormat}`);
        return conv2dFilterGrad(backend, base, x, dy, g);
      },
    },
    {
      kernel: "Conv2DBackpropInput",
      reason: "slow",
      via: "stride 1: XNNPACK Conv2D with the flipped filter; stride > 1: XNNPACK BatchMatMul + col2im",
      func: ({ inputs, backend, attrs }) => {
        const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
        const a = attrs as Attrs;
        float32Only("Conv2DBackpropInput", dy, filter);
        const g = conv2dGeometry(a.inputShape, filter.shape, a.strides, a.pad, a.dimRoundingMode, a.dataFormat);
        if (!g) unsupported("Conv2DBackpropInput", `dataFormat ${a.dataFormat}`);
        return conv2dInputGrad(backend, base, dy, filter, g);
      },
    },
    {
      kernel: "Conv3D",
      reason: "slow",
      via: "depth taps folded into input channels (or output channels when they are few) + XNNPACK Conv2D",
      func: ({ inputs, backend, attrs }) => {
        const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
        const a = attrs as Attrs;
        float32Only("Conv3D", x, filter);
        const g = conv3dGeometry(x.shape, filter.shape, a.strides, a.pad, a.dataFormat, a.dilations);
        if (!g) {
          // Dilated 3D convolutions keep the backend's own forward kernel (correct, only slow).
          if (originalConv3d) return originalConv3d({ inputs, backend, attrs });
          unsupported("Conv3D", `dilations ${a.dilations}`);
        }
        return conv3dForward(backend, base, x, filter, g);
      },
    },
    {
      kernel: "Conv3DBackpropInputV2",
      reason: "wrong",
      via: "depth-folded Conv2DBackpropInput + depth scatter-add (or spread dy when it has few channels)",
      func: ({ inputs, backend, attrs }) => {
        const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
        const a = attrs as Attrs;
        float32Only("Conv3DBackpropInputV2", dy, filter);
        const g = conv3dGeometry(a.inputShape, filter.shape, a.strides, a.pad, a.dataFormat);
        if (!g) unsupported("Conv3DBackpropInputV2", `dataFormat ${a.dataFormat}`);
        return conv3dInputGrad(backend, base, dy, filter, g);
      },
    },
    {
      kernel: "Conv3DBackpropFilterV2",
      reason: "wrong",
      via: "depth gather + Conv2DBackpropFilter",
      func: ({ inputs, backend, attrs }) => {
        const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
        const a = attrs as Attrs;
        float32Only("Conv3DBackpropFilterV2", x, dy);
        const g = conv3dGeometry(x.shape, a.filterShape, a.strides, a.pad, a.dataFormat);
        if (!g) unsupported("Conv3DBackpropFilterV2", `dataFormat ${a.dataFormat}`);
        return conv3dFilterGrad(backend, base, x, dy, g);
      },
    },
    {
      kernel: "Slice",
      reason: "slow",
      via: "contiguous heap-to-heap runs for any rank (no whole-input copy)",
      func: ({ inputs, backend, attrs }) => {
        const { x } = inputs as { x: TensorInfo };
        const a = attrs as Attrs;
        if (x.dtype === "string" || x.dtype === "complex64") return originalSlice({ inputs, backend, attrs });
        const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, a.begin, a.size);
        return sliceHeap(backend, x, begin, size);
      },
    },
    {
      kernel: "Sum",
      reason: "slow",
      via: "a contiguous block of axes summed in place on the heap (no whole-tensor transpose); other cases keep the backend's",
      func: ({ inputs, backend, attrs }) => {
        const { x } = inputs as { x: TensorInfo };
        const a = attrs as Attrs;
        const axes = tf.util.parseAxisParam(a.axis, x.shape);
        const block = x.dtype === "float32" ? contiguousAxes(axes, x.shape.length) : null;
        if (!block || block[1] === x.shape.length - 1) return originalSum({ inputs, backend, attrs });
        return sumBlockHeap(backend, x, block[0], block[1], Boolean(a.keepDims));
      },
    },
    {
      kernel: "SplitV",
      reason: "slow",
      via: "contiguous heap-to-heap slices (the gradient of concat)",
      func: ({ inputs, backend, attrs }) => {
        const { x } = inputs as { x: TensorInfo };
        const a = attrs as Attrs;
        if (x.dtype === "string" || x.dtype === "complex64") return originalSplit({ inputs, backend, attrs });
        const axis = tf.util.parseAxisParam(a.axis, x.shape)[0]!;
        return splitHeap(backend, x, prepareSplitSize(x, a.numOrSizeSplits, axis), axis) as unknown as TensorInfo;
      },
    },
    {
      kernel: "UnsortedSegmentSum",
      reason: "missing",
      via: "one pass adding rows into their segments on the heap (tf.gather's gradient)",
      func: ({ inputs, backend, attrs }) => {
        const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
        if (x.dtype !== "float32" && x.dtype !== "int32") unsupported("UnsortedSegmentSum", `dtype ${x.dtype}`);
        if (segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) unsupported("UnsortedSegmentSum", `segment ids of shape [${segmentIds.shape}] for x [${x.shape}]`);
        return unsortedSegmentSumHeap(backend, x, segmentIds, (attrs as Attrs).numSegments as number);
      },
    },
  ];

  for (const k of pack) {
    if (tf.getKernel(k.kernel, "wasm")) tf.unregisterKernel(k.kernel, "wasm");
    tf.registerKernel({
      kernelName: k.kernel,
      backendName: "wasm",
      kernelFunc: k.func as unknown as tf.KernelFunc,
    });
  }
  installed = pack.map(({ kernel, reason, via }) => ({ kernel, reason, via }));
  return installed;
}
