// What every trainer shares: the method's own Rng, named networks and Adam optimisers, batches
// turned into tensors, one gradient step that reads its losses back, the learning-rate factor,
// and the RNG state for checkpoints. Per-method trainers subclass it.
import { tf } from "../engine/tf.js";
import type { Batch } from "../data/loader.js";
import type { Module } from "../nn/module.js";
import type { InitSpec } from "../nn/module.js";
import { Adam } from "../optim/adam.js";
import type { Optimizer } from "../optim/optimizer.js";
import { Rng, type RngState } from "../util/random.js";
import type { CommonConfig } from "./config.js";
import type { StepLosses, TrainBatch, TrainingFace } from "./trainer.js";

export abstract class TrainerBase<C extends CommonConfig> implements TrainingFace {
  readonly method: string;
  protected readonly rng: Rng;
  protected readonly nets: Record<string, Module> = {};
  protected readonly opts: Record<string, Adam> = {};

  constructor(readonly cfg: C) {
    this.method = cfg.method;
    this.rng = new Rng(`${cfg.method}:${cfg.seed}`);
  }

  get config(): Record<string, unknown> {
    return { ...this.cfg } as unknown as Record<string, unknown>;
  }

  /** Dimensionality of the networks: the patch's (2D slices of 3D data train 2D networks). */
  protected get netDims(): 2 | 3 {
    return this.cfg.patch.length === 2 ? 2 : 3;
  }

  /** Weight initialisation as the config asks. */
  protected get init(): InitSpec {
    return { kind: this.cfg.init, gain: this.cfg.initGain };
  }

  /** An Rng for building a network: derived from the seed and the network's name. */
  protected netRng(name: string): Rng {
    return new Rng(`${this.cfg.method}:${this.cfg.seed}:init:${name}`);
  }

  /** Registers a network under `name` (its parameters are saved as "<name>.<param>"). */
  protected net<M extends Module>(name: string, m: M): M {
    this.nets[name] = m;
    return m;
  }

  /** An Adam over the named networks' parameters (names "<net>.<param>"). */
  protected adam(name: string, nets: string[], lr = this.cfg.lr, betas: [number, number] = [this.cfg.beta1, this.cfg.beta2]): Adam {
    const params = nets.flatMap((n) => this.nets[n]!.namedParameters(`${n}.`));
    const a = new Adam(params, { lr, betas });
    this.opts[name] = a;
    return a;
  }

  protected variables(nets: string[]): tf.Variable[] {
    return nets.flatMap((n) => this.nets[n]!.parameters());
  }

  /** A batch's images as [b, (d,) h, w, 1]. */
  protected images(b: Batch): tf.Tensor {
    return tf.tensor(b.images, b.shape, "float32");
  }

  /** Whether the source's contrast is turned round for the networks (translators' `invertSource`). */
  protected get invertsSource(): boolean {
    return "invertSource" in this.cfg && this.cfg.invertSource === true;
  }

  /**
   * A source image as the networks see it: with `invertSource`, every value above the
   * normalised background (-1) negated, else the image itself (a new tensor either way). The
   * map is its own inverse, so it also takes a translation into the source domain back.
   */
  protected sourceSide(x: tf.Tensor): tf.Tensor {
    if (!this.invertsSource) return tf.clone(x);
    return tf.tidy(() => tf.where(tf.greater(x, -1), tf.neg(x), x));
  }

  /** A batch's source images as [b, (d,) h, w, 1], as the networks see them (see sourceSide). */
  protected sourceImages(b: Batch): tf.Tensor {
    const x = this.images(b);
    if (!this.invertsSource) return x;
    const y = this.sourceSide(x);
    x.dispose();
    return y;
  }

  /** A batch's labels as int32 [b, (d,) h, w]. */
  protected labels(b: Batch): tf.Tensor {
    if (!b.labels) throw new Error(`${this.method}: this step needs labelled source batches`);
    return tf.tensor(b.labels, b.shape.slice(0, -1), "int32");
  }

  /**
   * One gradient step of `opt` on `vars`: `loss` returns the total and fills `parts` with the
   * named terms (they are kept past the tape and read back). Returns the terms as numbers.
   */
  protected minimize(opt: Adam, vars: tf.Variable[], loss: (parts: Record<string, tf.Scalar>) => tf.Scalar): StepLosses {
    const parts: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const total = loss(parts);
      for (const k of Object.keys(parts)) parts[k] = tf.keep(parts[k]!);
      return total;
    }, vars);
    opt.applyGradients(grads);
    const out: StepLosses = {};
    for (const [k, t] of Object.entries(parts)) {
      out[k] = (t.dataSync() as Float32Array)[0]!;
      t.dispose();
    }
    value.dispose();
    tf.dispose(grads);
    return out;
  }

  abstract step(batch: TrainBatch): Promise<StepLosses>;

  modules(): Record<string, Module> {
    return this.nets;
  }

  optimizers(): Record<string, Optimizer> {
    return this.opts;
  }

  extraState(): { rng: RngState; [key: string]: unknown } {
    return { rng: this.rng.getState() };
  }

  loadExtraState(s: { rng: RngState; [key: string]: unknown }): void {
    this.rng.setState(s.rng);
  }

  setLearningRateFactor(f: number): void {
    for (const o of Object.values(this.opts)) o.setLearningRateFactor(f);
  }

  dispose(): void {
    for (const o of Object.values(this.opts)) o.dispose();
    for (const n of Object.values(this.nets)) n.dispose();
  }
}
