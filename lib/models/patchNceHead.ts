// CUT's PatchSampleF (netF, "mlp_sample"): samples patch locations from each tapped encoder
// feature map and projects them by a per-layer 2-layer MLP onto the unit sphere, for PatchNCE.
//
// Per layer i (channels C_i known up front): `mlp_<i>` = Linear(C_i, nc), ReLU, Linear(nc, nc)
// (parameters `mlp_<i>.0.*` and `mlp_<i>.2.*`, as the reference's state_dict), then
// x / (|x| + 1e-7). Locations: a feature map [batch, s.., C] is flattened to its spatial
// positions in row-major order (position p of a 2D map is row floor(p / W), column p mod W);
// the first numPatches entries of a random permutation (fewer if the map is smaller) are taken,
// the same for every sample in the batch, so outputs are [batch * n, nc], sample-major.
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import { Linear } from "../nn/layers.js";
import { Lambda, Module, Sequential, type InitSpec, type Tensor } from "../nn/module.js";

export interface PatchNceHeadOptions {
  /** Channels of each tapped feature map, in the order `sample` receives them. */
  channels: readonly number[];
  /** Width of the projection (default 256, the reference's netF_nc). */
  nc?: number;
  /** Project through the MLP (default true; false is the reference's plain "sample" netF). */
  mlp?: boolean;
  init?: InitSpec;
}

export interface PatchSample {
  /** Per layer, [batch * n_i, nc] unit vectors (n_i = min(numPatches, positions)). */
  projected: Tensor[];
  /** Per layer, the sampled flat positions (pass them back to sample the same locations). */
  ids: number[][];
}

/** The first k entries of a uniformly random permutation of 0..n-1 (Fisher-Yates from the front). */
export function randomPositions(n: number, k: number, rng: Rng): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  const m = Math.min(k, n);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, m);
}

export class PatchNceHead extends Module {
  readonly channels: readonly number[];
  readonly nc: number;
  readonly mlps: (Sequential | null)[];

  constructor(opts: PatchNceHeadOptions, rng: Rng) {
    super();
    this.channels = [...opts.channels];
    this.nc = opts.nc ?? 256;
    if (this.channels.length === 0 || this.channels.some((c) => !Number.isInteger(c) || c < 1)) {
      throw new UnpairedError("BAD_OPTION", `PatchNceHead: channels must be whole numbers >= 1, one per tapped layer, got [${this.channels}]`);
    }
    if (!Number.isInteger(this.nc) || this.nc < 1) throw new UnpairedError("BAD_OPTION", `PatchNceHead: nc must be a whole number >= 1, got ${this.nc}`);
    const init = opts.init ? { init: opts.init } : {};
    this.mlps = this.channels.map((c, i) =>
      opts.mlp ?? true
        ? this.child(`mlp_${i}`, new Sequential([new Linear(c, this.nc, rng, init), new Lambda("relu", (x) => tf.relu(x)), new Linear(this.nc, this.nc, rng, init)]))
        : null,
    );
  }

  /**
   * Samples `numPatches` locations per feature map (or reuses `ids`, so that queries and keys
   * share locations) and projects them. `rng` draws the locations of layers without ids.
   */
  sample(features: readonly Tensor[], numPatches: number, rng: Rng, ids?: readonly (readonly number[])[]): PatchSample {
    if (features.length !== this.channels.length) {
      throw new UnpairedError("BAD_OPTION", `PatchNceHead: built for ${this.channels.length} feature maps, given ${features.length}`);
    }
    if (!Number.isInteger(numPatches) || numPatches < 1) throw new UnpairedError("BAD_OPTION", `PatchNceHead: numPatches must be a whole number >= 1, got ${numPatches}`);
    if (ids && ids.length !== features.length) {
      throw new UnpairedError("BAD_OPTION", `PatchNceHead: ids for ${ids.length} layers, features for ${features.length}`);
    }
    const chosen = features.map((f, i) => {
      if (f.rank < 3 || f.shape[f.rank - 1] !== this.channels[i]) {
        throw new UnpairedError("BAD_OPTION", `PatchNceHead: feature ${i} must be [batch, spatial.., ${this.channels[i]}], got [${f.shape}]`);
      }
      const positions = f.shape.slice(1, -1).reduce((a, b) => a * b, 1);
      const given = ids?.[i];
      if (given) {
        if (given.length === 0 || given.some((p) => !Number.isInteger(p) || p < 0 || p >= positions)) {
          throw new UnpairedError("BAD_OPTION", `PatchNceHead: ids for layer ${i} must be positions in 0..${positions - 1}`);
        }
        return [...given];
      }
      return randomPositions(positions, numPatches, rng);
    });
    const projected = tf.tidy(() =>
      features.map((f, i) => {
        const b = f.shape[0]!;
        const c = this.channels[i]!;
        const flat = tf.reshape(f, [b, -1, c]);
        const picked = tf.gather(flat, tf.tensor1d(chosen[i]!, "int32"), 1);
        let x = tf.reshape(picked, [b * chosen[i]!.length, c]);
        const mlp = this.mlps[i];
        if (mlp) x = mlp.apply(x);
        // x / (|x| + 1e-7) as the reference, with |x| = sqrt(sum x^2 + 1e-16): the same to 1e-8 for
        // any real feature, but an all-zero row (a blank patch) gets a finite gradient, not 0/0.
        return tf.div(x, tf.add(tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-16)), 1e-7));
      }),
    );
    return { projected, ids: chosen };
  }
}
