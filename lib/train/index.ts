// Training: the Adam optimiser, learning-rate schedules, the image pool, safetensors, checkpoints
// and the training loop every method shares.
export type { Optimizer, OptimizerState } from "./optimizer.js";
export { Adam, type AdamOptions } from "./adam.js";
export { linearDecayFactor, linearDecaySchedule, constantSchedule, type LrSchedule, type LinearDecayOptions } from "./schedule.js";
export { ImagePool, type ImagePoolState, type StoredImages } from "./imagePool.js";
export {
  encodeSafetensors,
  decodeSafetensors,
  writeSafetensors,
  readSafetensors,
  type SafeDType,
  type SafeArray,
  type SafeTensor,
  type SafeTensorInput,
  type SafetensorsContents,
} from "./safetensors.js";
export {
  saveCheckpoint,
  loadCheckpoint,
  readCheckpointState,
  findCheckpoint,
  hasCheckpoint,
  checkCheckpointDir,
  CHECKPOINT_FILES,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointState,
  type SaveCheckpointOptions,
} from "./checkpoint.js";
export { train, type TrainOptions, type TrainResult, type StepInfo, type LoaderStateHooks } from "./loop.js";
