// The tensor engine: one tfjs-core for the whole kit, the backend choice, the wasm kernel
// pack and the gradient fixes.
export { tf } from "./tf.js";
export type { Tensor, TensorInfo, Rank, DataType } from "./tf.js";
export { initEngine, engineInfo, describeEngine, setEngineThreads, BACKEND_ORDER } from "./backend.js";
export { torchHostCache, torchMemory, torchStatus, buildInfo as torchBuildInfo } from "./torch/index.js";
export type { BackendName, EngineInfo, EngineOptions } from "./backend.js";
export type { ReplacedKernel } from "./kernels/index.js";
export { mirrorPadGrad } from "./gradients.js";
