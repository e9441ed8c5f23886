// CycleGAN's image pool (Shrivastava et al. 2017): the discriminator sees a history of 50 generated
// images, half the time an older one, which steadies training. Seeded and checkpointable.
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import type { Rng } from "../util/random.js";

/** The JSON half of a pool's state (the stored images are the tensor half). */
export interface ImagePoolState {
  size: number;
  count: number;
}

export type StoredImages = Map<string, { shape: number[]; data: Float32Array }>;

/**
 * A pool of up to `size` images ([1, ...] each). query() takes a batch and, per image, as the
 * reference ImagePool does: while the pool is not full, stores the image and returns it; once full,
 * with probability 0.5 returns a randomly chosen stored image and stores the new one in its place,
 * else returns the new image. Size 0 passes batches through. Randomness comes from the Rng given
 * (its owner saves its state; the pool saves only its images). The pool owns its stored tensors.
 */
export class ImagePool {
  private readonly images: tf.Tensor[] = [];
  private disposed = false;

  constructor(
    readonly size: number,
    private readonly rng: Rng,
  ) {
    if (!(Number.isInteger(size) && size >= 0)) throw new UnpairedError("BAD_OPTION", `ImagePool: size must be a whole number >= 0, got ${size}`);
  }

  /** Images stored now. */
  get count(): number {
    return this.images.length;
  }

  /**
   * The batch the discriminator should see, [b, ...] like `images`; always a new tensor that the
   * caller disposes (`images` is neither disposed nor kept). Use it outside gradient tapes or
   * treat it as a constant: the pool stores values, not graph history.
   */
  query(images: tf.Tensor): tf.Tensor {
    this.checkAlive();
    if (images.rank < 1 || images.shape[0]! < 1) throw new UnpairedError("BAD_OPTION", `ImagePool: expected a batch [b, ...], got shape [${images.shape}]`);
    if (this.size === 0) return tf.clone(images);
    const first = this.images[0];
    if (first && (first.rank !== images.rank || first.shape.some((n, i) => i > 0 && n !== images.shape[i]))) {
      throw new UnpairedError("BAD_OPTION", `ImagePool: images of shape [${images.shape.slice(1)}] cannot join a pool of [${first.shape.slice(1)}]`);
    }
    const replaced: tf.Tensor[] = [];
    const out = tf.tidy(() => {
      const parts: tf.Tensor[] = [];
      const b = images.shape[0]!;
      for (let i = 0; i < b; i++) {
        const image = b === 1 ? images : tf.slice(images, i, 1);
        if (this.images.length < this.size) {
          this.images.push(tf.keep(tf.clone(image)));
          parts.push(image);
        } else if (this.rng.chance(0.5)) {
          const id = this.rng.int(this.size);
          const old = this.images[id]!;
          parts.push(old);
          replaced.push(old);
          this.images[id] = tf.keep(tf.clone(image));
        } else {
          parts.push(image);
        }
      }
      return parts.length === 1 ? tf.clone(parts[0]!) : tf.concat(parts, 0);
    });
    for (const t of replaced) t.dispose();
    return out;
  }

  /** The JSON half of the state. */
  state(): ImagePoolState {
    return { size: this.size, count: this.images.length };
  }

  /** The stored images as "<prefix>.<index>" entries (read back from the device). */
  tensors(prefix: string): StoredImages {
    this.checkAlive();
    const out: StoredImages = new Map();
    this.images.forEach((t, i) => out.set(`${prefix}.${i}`, { shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) }));
    return out;
  }

  /** Both halves of the state, for a trainer's extraState / extraTensors. */
  exportState(prefix: string): { json: ImagePoolState; tensors: StoredImages } {
    return { json: this.state(), tensors: this.tensors(prefix) };
  }

  /**
   * Replaces the stored images with the "<prefix>.<index>" entries of `tensors` (others are
   * ignored); with `json`, checks that size and count agree. Throws BAD_CHECKPOINT on a mismatch
   * and then changes nothing.
   */
  importState(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, prefix: string, json?: ImagePoolState): void {
    this.checkAlive();
    const mine: { index: number; shape: readonly number[]; data: Float32Array }[] = [];
    const problems: string[] = [];
    for (const [key, t] of tensors) {
      if (!key.startsWith(`${prefix}.`)) continue;
      const rest = key.slice(prefix.length + 1);
      if (!/^(0|[1-9]\d*)$/.test(rest)) {
        problems.push(`unexpected entry ${key}`);
        continue;
      }
      mine.push({ index: Number(rest), shape: t.shape, data: t.data });
    }
    mine.sort((a, b) => a.index - b.index);
    mine.forEach((m, i) => {
      if (m.index !== i) problems.push(`${prefix}.${i} is missing`);
    });
    if (mine.length > this.size) problems.push(`${mine.length} stored images for a pool of ${this.size}`);
    if (json && json.size !== this.size) problems.push(`a pool of size ${json.size} was saved, this one holds ${this.size}`);
    if (json && json.count !== mine.length) problems.push(`${json.count} images recorded, ${mine.length} found`);
    const shape = mine[0]?.shape;
    for (const m of mine) {
      if (m.shape[0] !== 1 || m.shape.length !== shape!.length || m.shape.some((n, i) => n !== shape![i])) problems.push(`${prefix}.${m.index}: shape [${m.shape}]`);
      else if (m.data.length !== m.shape.reduce((a, b) => a * b, 1)) problems.push(`${prefix}.${m.index}: ${m.data.length} values for shape [${m.shape}]`);
    }
    if (problems.length) throw new UnpairedError("BAD_CHECKPOINT", `ImagePool "${prefix}": the saved pool does not fit (${problems.join("; ")})`);
    this.clear();
    for (const m of mine) this.images.push(tf.keep(tf.tensor(m.data, [...m.shape], "float32")));
  }

  /** Empties the pool (disposing its images). */
  clear(): void {
    for (const t of this.images) t.dispose();
    this.images.length = 0;
  }

  dispose(): void {
    this.clear();
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new UnpairedError("BAD_OPTION", "ImagePool: this pool was disposed");
  }
}
