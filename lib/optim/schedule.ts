// Learning-rate schedules: the references' linear decay (constant for n_epochs, then linearly
// towards 0 over n_epochs_decay), by epoch as they define it and by step as the kit trains.
import { UnpairedError } from "../util/errors.js";

/**
 * A schedule: the factor on the base learning rate for the step about to run, given the number of
 * steps completed before it (0 for the first step).
 */
export type LrSchedule = (stepsDone: number) => number;

function wholeNumber(what: string, n: number): void {
  if (!(Number.isInteger(n) && n >= 0)) throw new UnpairedError("BAD_OPTION", `${what} must be a whole number >= 0, got ${n}`);
}

/**
 * The references' rule (pytorch-CycleGAN-and-pix2pix `lambda_rule`, with epoch_count 1), epochs
 * counted from 1:  factor(epoch) = 1 - max(0, epoch - nEpochs) / (nEpochsDecay + 1).
 * Epochs 1..nEpochs give 1; the last epoch nEpochs + nEpochsDecay gives 1 / (nEpochsDecay + 1).
 */
export function linearDecayFactor(epoch: number, nEpochs: number, nEpochsDecay: number): number {
  wholeNumber("nEpochs", nEpochs);
  wholeNumber("nEpochsDecay", nEpochsDecay);
  return 1 - Math.max(0, epoch - nEpochs) / (nEpochsDecay + 1);
}

export interface LinearDecayOptions {
  /** Steps at the full learning rate. */
  constantSteps: number;
  /** Steps over which the factor falls linearly towards 0. */
  decaySteps: number;
}

/**
 * The same rule counted in steps: the step about to run, numbered from 1, plays the reference's
 * epoch. With s = steps completed before it (0-based index of the step):
 *
 *   factor(s) = 1 - max(0, s + 1 - constantSteps) / (decaySteps + 1)
 *
 * so steps 1..constantSteps run at 1, step constantSteps + 1 at 1 - 1/(decaySteps + 1), and the
 * last step (constantSteps + decaySteps) at 1/(decaySteps + 1): small but above 0, as in the
 * reference. Past the end the factor keeps falling and is clamped at 0.
 */
export function linearDecaySchedule(opts: LinearDecayOptions): LrSchedule {
  const { constantSteps, decaySteps } = opts;
  wholeNumber("constantSteps", constantSteps);
  wholeNumber("decaySteps", decaySteps);
  return (stepsDone) => Math.max(0, 1 - Math.max(0, stepsDone + 1 - constantSteps) / (decaySteps + 1));
}

/** A constant learning rate (factor 1). */
export const constantSchedule: LrSchedule = () => 1;
