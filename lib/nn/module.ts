// The kit's module system on tfjs-core: a Module owns named parameters (tf.Variable) and child
// modules, lists them under dotted names (as a PyTorch state_dict does, for checkpoints and
// optimisers), and frees them. Layers and networks are Modules; one definition serves 2D and 3D.
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import type { Rng } from "../util/random.js";

export type Dims = 2 | 3;
export type Tensor = tf.Tensor;

export abstract class Module {
  private readonly ownParams: [string, tf.Variable][] = [];
  private readonly ownChildren: [string, Module][] = [];
  /** Train or evaluation mode (modules that behave differently read it). */
  training = true;

  /** Registers a parameter; the module owns (and later disposes) `value`. */
  protected param(name: string, value: tf.Tensor, trainable = true): tf.Variable {
    if (this.ownParams.some(([n]) => n === name) || this.ownChildren.some(([n]) => n === name)) {
      throw new UnpairedError("BAD_OPTION", `${this.constructor.name}: a parameter or child named "${name}" exists already`);
    }
    const v = tf.variable(value, trainable);
    value.dispose();
    this.ownParams.push([name, v]);
    return v;
  }

  /** Registers a child module under `name` (its parameters become `name.<param>`). */
  protected child<M extends Module>(name: string, m: M): M {
    if (this.ownParams.some(([n]) => n === name) || this.ownChildren.some(([n]) => n === name)) {
      throw new UnpairedError("BAD_OPTION", `${this.constructor.name}: a parameter or child named "${name}" exists already`);
    }
    this.ownChildren.push([name, m]);
    return m;
  }

  /** Every parameter with its dotted name, depth first in registration order. */
  namedParameters(prefix = ""): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = this.ownParams.map(([n, v]) => [prefix + n, v]);
    for (const [n, c] of this.ownChildren) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** The trainable parameters (what an optimiser updates). */
  parameters(): tf.Variable[] {
    return this.namedParameters()
      .map(([, v]) => v)
      .filter((v) => v.trainable);
  }

  parameterCount(): number {
    return this.namedParameters().reduce((n, [, v]) => n + v.size, 0);
  }

  /** Sets train/evaluation mode here and in every child. */
  setTraining(on: boolean): this {
    this.training = on;
    for (const [, c] of this.ownChildren) c.setTraining(on);
    return this;
  }

  /** Copies values into the parameters by name; every parameter must be given, with its shape. */
  loadState(state: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, what = this.constructor.name): void {
    const params = this.namedParameters();
    const problems: string[] = [];
    for (const [name, v] of params) {
      const s = state.get(name);
      if (!s) problems.push(`missing ${name}`);
      else if (s.shape.length !== v.shape.length || s.shape.some((n, i) => n !== v.shape[i])) {
        problems.push(`${name}: shape [${s.shape}] in the checkpoint, [${v.shape}] in the network`);
      }
    }
    const known = new Set(params.map(([n]) => n));
    for (const name of state.keys()) if (!known.has(name)) problems.push(`unexpected ${name}`);
    if (problems.length) {
      throw new UnpairedError("BAD_CHECKPOINT", `${what}: the checkpoint does not fit this network (${problems.slice(0, 6).join("; ")}${problems.length > 6 ? `; and ${problems.length - 6} more` : ""})`);
    }
    for (const [name, v] of params) {
      const s = state.get(name)!;
      tf.tidy(() => v.assign(tf.tensor(s.data, v.shape, "float32")));
    }
  }

  /** Frees every parameter of this module and its children. */
  dispose(): void {
    for (const [, v] of this.ownParams) v.dispose();
    for (const [, c] of this.ownChildren) c.dispose();
  }
}

/** A module that maps one tensor to one tensor. */
export abstract class Layer extends Module {
  abstract apply(x: Tensor): Tensor;
}

/** Applies layers in order (children named 0, 1, 2, ... as in a PyTorch nn.Sequential). */
export class Sequential extends Layer {
  readonly layers: Layer[];
  constructor(layers: Layer[]) {
    super();
    this.layers = layers.map((l, i) => this.child(String(i), l));
  }
  apply(x: Tensor): Tensor {
    return this.layers.reduce((h, l) => l.apply(h), x);
  }
}

/** A parameter-free layer from a function (activations, reshapes). */
export class Lambda extends Layer {
  constructor(
    readonly label: string,
    private readonly f: (x: Tensor) => Tensor,
  ) {
    super();
  }
  apply(x: Tensor): Tensor {
    return this.f(x);
  }
}

// ---------------------------------------------------------------------------------------------
// Initialisation. Values are drawn from the kit's Rng on the CPU, so the same seed gives the same
// network on every backend.

export type InitKind = "normal" | "xavier" | "kaiming";

export interface InitSpec {
  kind: InitKind;
  /** Standard deviation for "normal", gain for "xavier" (the references' init_gain 0.02). */
  gain: number;
}

export const DEFAULT_INIT: InitSpec = { kind: "normal", gain: 0.02 };

/** A [..., fanIn, fanOut]-shaped weight tensor drawn by `init` (fans from the receptive field). */
export function initWeight(rng: Rng, shape: readonly number[], fanIn: number, fanOut: number, init: InitSpec = DEFAULT_INIT): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const std =
    init.kind === "normal" ? init.gain : init.kind === "xavier" ? init.gain * Math.sqrt(2 / (fanIn + fanOut)) : Math.sqrt(2 / fanIn);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = std * rng.normal();
  return tf.tensor(data, [...shape], "float32");
}

/** Values N(mean, std) of a given shape (norm-layer scales: N(1, 0.02) in the references). */
export function normalTensor(rng: Rng, shape: readonly number[], mean: number, std: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = mean + std * rng.normal();
  return tf.tensor(data, [...shape], "float32");
}

/** Spatial axes of a [batch, (depth,) height, width, channels] tensor. */
export const spatialAxes = (dims: Dims): number[] => (dims === 2 ? [1, 2] : [1, 2, 3]);

/** Padding pairs for a [batch, spatial..., channels] tensor: `p` on every spatial side. */
export function spatialPads(dims: Dims, p: number | readonly [number, number]): [number, number][] {
  const pair: [number, number] = typeof p === "number" ? [p, p] : [p[0], p[1]];
  return [[0, 0], ...Array.from({ length: dims }, () => pair), [0, 0]];
}
