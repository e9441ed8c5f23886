// Adam with PyTorch's exact update (torch.optim.Adam without weight decay or amsgrad) over named
// tf.Variables, with its whole state (moments and per-parameter step counts) exportable by name.
import { tf } from "../engine/tf.js";
import { adamStep } from "../engine/adamStep.js";
import { UnpairedError } from "../util/errors.js";
import type { Optimizer, OptimizerState } from "./optimizer.js";

export interface AdamOptions {
  /** Base learning rate (default 2e-4, the references'). */
  lr?: number;
  /** [beta1, beta2] (default [0.5, 0.999], the references'). */
  betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8, PyTorch's). */
  eps?: number;
}

interface Slot {
  name: string;
  param: tf.Variable;
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
  /** Updates this parameter received (PyTorch keeps `step` per parameter too). */
  step: number;
}

/**
 * Adam over a list of named variables (e.g. `module.namedParameters("G_A.")`). Per parameter p with
 * gradient g, as torch.optim.Adam does it:
 *
 *   t += 1;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * with lr = base lr x the schedule's factor. The bias corrections are computed in double precision
 * on the CPU, as PyTorch computes them in Python. Like PyTorch, a parameter without a gradient in a
 * step (one the loss does not reach) is left alone and its own t does not advance, which is why t
 * is kept per parameter (slot "<name>.step"). Variables that are not trainable are ignored.
 * The moments are allocated (zeros) up front, so memory use is fixed from the first step.
 */
export class Adam implements Optimizer {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private factor = 1;
  private steps = 0;
  private readonly slots: Slot[] = [];
  private readonly byName = new Map<string, Slot>();
  private readonly byVariable = new Map<string, Slot>();
  private readonly ignored = new Set<string>();
  private disposed = false;

  constructor(params: readonly (readonly [string, tf.Variable])[], opts: AdamOptions = {}) {
    this.lr = opts.lr ?? 2e-4;
    [this.beta1, this.beta2] = opts.betas ?? [0.5, 0.999];
    this.eps = opts.eps ?? 1e-8;
    if (!(this.lr >= 0 && Number.isFinite(this.lr))) throw new UnpairedError("BAD_OPTION", `Adam: lr must be a finite number >= 0, got ${this.lr}`);
    for (const b of [this.beta1, this.beta2]) {
      if (!(b >= 0 && b < 1)) throw new UnpairedError("BAD_OPTION", `Adam: betas must lie in [0, 1), got [${this.beta1}, ${this.beta2}]`);
    }
    if (!(this.eps >= 0 && Number.isFinite(this.eps))) throw new UnpairedError("BAD_OPTION", `Adam: eps must be a finite number >= 0, got ${this.eps}`);
    for (const [name, param] of params) {
      if (this.byName.has(name) || this.ignored.has(name)) throw new UnpairedError("BAD_OPTION", `Adam: the parameter name "${name}" appears twice`);
      if (!param.trainable) {
        this.ignored.add(name);
        continue;
      }
      if (this.byVariable.has(param.name)) {
        throw new UnpairedError("BAD_OPTION", `Adam: "${name}" and "${this.byVariable.get(param.name)!.name}" are the same variable (it would be updated twice)`);
      }
      const slot: Slot = { name, param, expAvg: zerosVariable(param), expAvgSq: zerosVariable(param), step: 0 };
      this.slots.push(slot);
      this.byName.set(name, slot);
      this.byVariable.set(param.name, slot);
    }
  }

  /** The names of the parameters this optimiser updates. */
  names(): string[] {
    return this.slots.map((s) => s.name);
  }

  /** Number of apply() calls so far. */
  get step(): number {
    return this.steps;
  }

  /** The learning rate in effect (base lr x the schedule's factor). */
  get currentLr(): number {
    return this.lr * this.factor;
  }

  setLearningRateFactor(f: number): void {
    if (!(f >= 0 && Number.isFinite(f))) throw new UnpairedError("BAD_OPTION", `Adam: the learning-rate factor must be a finite number >= 0, got ${f}`);
    this.factor = f;
  }

  /**
   * One update from gradients keyed by parameter name. Parameters without a gradient are skipped;
   * a gradient for a name this optimiser does not know is an error (a prefix mismatch would
   * otherwise silently train nothing). Disposes nothing it was given; leaves no tensors behind.
   */
  apply(grads: Record<string, tf.Tensor>): void {
    this.checkAlive();
    const todo: [Slot, tf.Tensor][] = [];
    for (const [name, g] of Object.entries(grads)) {
      const slot = this.byName.get(name);
      if (!slot) {
        if (this.ignored.has(name)) continue;
        throw new UnpairedError("BAD_OPTION", `Adam: a gradient for "${name}", which is not one of this optimiser's parameters (${this.describeNames()})`);
      }
      if (!g) continue;
      if (g.shape.length !== slot.param.shape.length || g.shape.some((n, i) => n !== slot.param.shape[i])) {
        throw new UnpairedError("BAD_OPTION", `Adam: the gradient for "${name}" has shape [${g.shape}], the parameter [${slot.param.shape}]`);
      }
      todo.push([slot, g]);
    }
    this.update(todo);
  }

  /**
   * One update from the gradients of tf.variableGrads (keyed by tf.Variable.name). Gradients of
   * variables this optimiser does not hold (another network's, reached through the loss) are ignored.
   */
  applyGradients(grads: tf.NamedTensorMap): void {
    this.checkAlive();
    const todo: [Slot, tf.Tensor][] = [];
    for (const [varName, g] of Object.entries(grads)) {
      const slot = this.byVariable.get(varName);
      if (slot && g) todo.push([slot, g]);
    }
    this.update(todo);
  }

  private update(todo: [Slot, tf.Tensor][]): void {
    const lr = this.lr * this.factor;
    const { beta1, beta2, eps } = this;
    tf.tidy(() => {
      for (const [slot, g] of todo) {
        const t = slot.step + 1;
        const biasCorrection1 = 1 - beta1 ** t;
        const biasCorrection2 = 1 - beta2 ** t;
        const stepSize = lr / biasCorrection1;
        const bc2Sqrt = Math.sqrt(biasCorrection2);
        const grad = g.dtype === "float32" ? g : tf.cast(g, "float32");
        const { param: p, expAvg: m, expAvgSq: v } = adamStep(slot.param, slot.expAvg, slot.expAvgSq, grad, { beta1, beta2, eps, stepSize, bc2Sqrt });
        slot.expAvg.assign(m);
        slot.expAvgSq.assign(v);
        slot.param.assign(p);
      }
    });
    for (const [slot] of todo) slot.step++;
    this.steps++;
  }

  /** Slots "<name>.exp_avg", "<name>.exp_avg_sq" and "<name>.step" (a scalar) for every parameter. */
  getState(): OptimizerState {
    this.checkAlive();
    const slots: OptimizerState["slots"] = new Map();
    for (const s of this.slots) {
      slots.set(`${s.name}.exp_avg`, { shape: [...s.expAvg.shape], data: Float32Array.from(s.expAvg.dataSync() as Float32Array) });
      slots.set(`${s.name}.exp_avg_sq`, { shape: [...s.expAvgSq.shape], data: Float32Array.from(s.expAvgSq.dataSync() as Float32Array) });
      slots.set(`${s.name}.step`, { shape: [], data: Float32Array.of(s.step) });
    }
    return { step: this.steps, slots, hyper: this.hyper() };
  }

  hyper(): Record<string, number | number[]> {
    return { lr: this.lr, betas: [this.beta1, this.beta2], eps: this.eps, weight_decay: 0, lrFactor: this.factor };
  }

  /** What keeps `s` from loading into this optimiser (empty when it fits). */
  stateProblems(s: OptimizerState): string[] {
    const problems: string[] = [];
    const expected = new Map<string, number[]>();
    for (const slot of this.slots) {
      expected.set(`${slot.name}.exp_avg`, slot.param.shape);
      expected.set(`${slot.name}.exp_avg_sq`, slot.param.shape);
      expected.set(`${slot.name}.step`, []);
    }
    for (const [key, shape] of expected) {
      const got = s.slots.get(key);
      if (!got) problems.push(`missing ${key}`);
      else if (got.shape.length !== shape.length || got.shape.some((n, i) => n !== shape[i])) problems.push(`${key}: shape [${got.shape}] in the checkpoint, [${shape}] here`);
      else if (got.data.length !== shape.reduce((a, b) => a * b, 1)) problems.push(`${key}: ${got.data.length} values for shape [${shape}]`);
      else if (key.endsWith(".step") && !(Number.isInteger(got.data[0]) && got.data[0]! >= 0)) problems.push(`${key}: ${got.data[0]} is not a step count`);
    }
    for (const key of s.slots.keys()) if (!expected.has(key)) problems.push(`unexpected ${key}`);
    if (!(Number.isInteger(s.step) && s.step >= 0)) problems.push(`step ${s.step} is not a whole number >= 0`);
    return problems;
  }

  /**
   * Restores moments and step counts (every slot must be present with its shape). The
   * hyper-parameters stay this instance's: the saved ones are for the record.
   */
  setState(s: OptimizerState): void {
    this.checkAlive();
    const problems = this.stateProblems(s);
    if (problems.length) throw new UnpairedError("BAD_CHECKPOINT", `Adam: the saved optimiser state does not fit (${problems.join("; ")})`);
    for (const slot of this.slots) {
      const m = s.slots.get(`${slot.name}.exp_avg`)!;
      const v = s.slots.get(`${slot.name}.exp_avg_sq`)!;
      tf.tidy(() => {
        slot.expAvg.assign(tf.tensor(m.data, slot.param.shape, "float32"));
        slot.expAvgSq.assign(tf.tensor(v.data, slot.param.shape, "float32"));
      });
      slot.step = s.slots.get(`${slot.name}.step`)!.data[0]!;
    }
    this.steps = s.step;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const s of this.slots) {
      s.expAvg.dispose();
      s.expAvgSq.dispose();
    }
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new UnpairedError("BAD_OPTION", "Adam: this optimiser was disposed");
  }

  private describeNames(): string {
    const names = this.names();
    return names.length > 4 ? `${names.slice(0, 4).join(", ")}, ... (${names.length})` : names.join(", ") || "none";
  }
}

function zerosVariable(like: tf.Variable): tf.Variable {
  const z = tf.zerosLike(like);
  const v = tf.variable(z, false);
  z.dispose();
  return v;
}
