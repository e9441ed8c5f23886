// What the losses share: argument checks that fail with a clear BAD_OPTION, a numerically stable
// softplus, cross-entropy against class 0 (the InfoNCE form), and detaching a tensor from the tape.
import { tf } from "../engine/tf.js";
import type { Tensor } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";

export function badOption(message: string): never {
  throw new UnpairedError("BAD_OPTION", message);
}

export function sameShape(what: string, aName: string, a: Tensor, bName: string, b: Tensor): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    badOption(`${what}: ${aName} [${a.shape}] and ${bName} [${b.shape}] must have the same shape`);
  }
}

export function checkRankIn(what: string, name: string, x: Tensor, ranks: readonly number[], layout: string): void {
  if (!ranks.includes(x.rank)) badOption(`${what}: ${name} must be ${layout}, got shape [${x.shape}]`);
}

export function checkFloat(what: string, name: string, x: Tensor): void {
  if (x.dtype !== "float32") badOption(`${what}: ${name} must be float32, got ${x.dtype}`);
}

export function checkPositive(what: string, name: string, v: number): void {
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) badOption(`${what}: ${name} must be a finite number > 0, got ${v}`);
}

/** softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), exact for large |x| either sign. */
export function softplus(x: Tensor): Tensor {
  return tf.add(tf.relu(x), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

/** Cross-entropy of each row of logits [R, M] with target class 0: logsumexp(row) - row[0]; [R]. */
export function crossEntropyFirst(logits: tf.Tensor2D): tf.Tensor1D {
  const [rows] = logits.shape;
  const first = tf.reshape(tf.slice(logits, [0, 0], [rows, 1]), [rows]);
  return tf.sub(tf.logSumExp(logits, 1), first) as tf.Tensor1D;
}

const detachOp = tf.customGrad((x, _save) => ({
  value: tf.clone(x as Tensor),
  gradFunc: (dy: Tensor) => tf.zerosLike(dy),
}));

/**
 * The same values with no gradient flowing back (PyTorch's `.detach()`). tfjs-core 4.22 has no
 * stopGradient op, so this is a custom-gradient identity whose gradient is zero: a tf.grad with
 * respect to anything upstream of `x` sees exactly 0 through this path (and no "no path" error).
 */
export function detach<T extends Tensor>(x: T): T {
  return detachOp(x) as T;
}
