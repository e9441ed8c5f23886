// The optimiser interface the trainers and checkpoints share: named parameters in, named state
// out (so a checkpoint can save and restore it exactly), a learning rate that schedules can scale.
import type { tf } from "../engine/tf.js";

export interface OptimizerState {
  /** Steps taken (Adam's t). */
  step: number;
  /** Per-parameter state tensors by "<parameter name>.<slot>", e.g. "conv1.weight.exp_avg". */
  slots: Map<string, { shape: number[]; data: Float32Array }>;
  /** Hyper-parameters, for the record (lr, betas, eps, ...). */
  hyper: Record<string, number | number[]>;
}

export interface Optimizer {
  /** Base learning rate (before the schedule's factor). */
  readonly lr: number;
  /** Multiplies the base learning rate (the schedule sets it every step). */
  setLearningRateFactor(f: number): void;
  /** Applies one update from gradients keyed by parameter name; disposes nothing it was given. */
  apply(grads: Record<string, tf.Tensor>): void;
  getState(): OptimizerState;
  setState(s: OptimizerState): void;
  dispose(): void;
}
