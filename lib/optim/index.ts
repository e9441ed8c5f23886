// Optimisation, below the methods that use it: the Adam optimiser (PyTorch's update, fused on
// torch) and the learning-rate schedules.
export type { Optimizer, OptimizerState } from "./optimizer.js";
export { Adam, type AdamOptions } from "./adam.js";
export { linearDecayFactor, linearDecaySchedule, constantSchedule, type LrSchedule, type LinearDecayOptions } from "./schedule.js";
