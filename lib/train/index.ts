// Training: safetensors, checkpoints and the training loop every method shares (the optimiser
// and schedules are in lib/optim, below the methods; applying a trained run is lib/inference).
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
