// CUT's PatchNCE loss: each output patch (query) must pick out the input patch at the same
// location (its positive key) among the other sampled patches of the same image (negatives).
import { tf } from "../engine/tf.js";
import { badOption, checkFloat, checkPositive, crossEntropyFirst, detach, sameShape } from "./common.js";

export interface PatchNceOptions {
  /** Images in the batch, B: the rows of query/key are image-major, [B * P, C]. */
  batchSize: number;
  /** Temperature tau (CUT's nce_T), default 0.07. */
  tau?: number;
  /**
   * CUT's nce_includes_all_negatives_from_minibatch: false (default) takes the negatives only
   * from the same image's P patches; true takes them from all B * P patches of the minibatch.
   */
  allNegativesFromMinibatch?: boolean;
}

/** The value the self-similarity q_i . k_i takes among the negatives (before dividing by tau). */
export const PATCH_NCE_MASK_VALUE = -10;

function checkLayer(what: string, query: tf.Tensor, key: tf.Tensor, opts: PatchNceOptions): void {
  if (query.rank !== 2) badOption(`${what}: query must be [batch * patches, channels], got shape [${query.shape}]`);
  sameShape(what, "query", query, "key", key);
  checkFloat(what, "query", query);
  checkFloat(what, "key", key);
  const b = opts.batchSize;
  if (!(Number.isInteger(b) && b >= 1)) badOption(`${what}: batchSize must be a whole number >= 1, got ${b}`);
  const rows = query.shape[0]!;
  if (rows === 0 || rows % b !== 0) badOption(`${what}: ${rows} feature rows do not split into batchSize ${b} images of equal patch count`);
  checkPositive(what, "tau", opts.tau ?? 0.07);
}

/**
 * PatchNCE of one layer. query [B*P, C] from the output image, key [B*P, C] from the input image
 * at the same P locations (row b*P + p is patch p of image b; features already L2-normalised by
 * the projection head). The key is detached here: no gradient reaches it (see `detach`).
 * Row i's logits are [q_i . k_i, q_i . k_j for the j of its group] / tau, where the group is the
 * same image (default) or the whole minibatch, and the j == i entry is set to -10 before the
 * division; cross-entropy with target 0, averaged over all B*P rows (= the mean over images of
 * the mean over patches).
 */
export function patchNceLayerLoss(query: tf.Tensor2D, key: tf.Tensor2D, opts: PatchNceOptions): tf.Scalar {
  checkLayer("patchNceLayerLoss", query, key, opts);
  const tau = opts.tau ?? 0.07;
  const [rows, channels] = query.shape;
  const groups = opts.allNegativesFromMinibatch ? 1 : opts.batchSize;
  const perGroup = rows / groups;
  return tf.tidy(() => {
    const k = detach(key);
    const lPos = tf.sum(tf.mul(query, k), 1, true); // [R, 1]
    const q3 = tf.reshape(query, [groups, perGroup, channels]);
    const k3 = tf.reshape(k, [groups, perGroup, channels]);
    const lNeg = tf.matMul(q3, k3, false, true); // [G, M, M]: q_i . k_j within the group
    const eye = tf.eye(perGroup);
    const masked = tf.add(tf.mul(lNeg, tf.sub(1, eye)), tf.mul(eye, PATCH_NCE_MASK_VALUE));
    const logits = tf.div(tf.concat([lPos, tf.reshape(masked, [rows, perGroup])], 1), tau) as tf.Tensor2D;
    return tf.mean(crossEntropyFirst(logits)) as tf.Scalar;
  });
}

/**
 * PatchNCE over several encoder layers (CUT: layers 0, 4, 8, 12, 16), one query/key pair per
 * layer (P may differ between layers). perLayer[l] is patchNceLayerLoss of layer l; total is
 * sum(perLayer) / L, as CUT's calculate_NCE_loss. The caller disposes total and every perLayer.
 */
export function patchNceLosses(
  queries: readonly tf.Tensor2D[],
  keys: readonly tf.Tensor2D[],
  opts: PatchNceOptions,
): { total: tf.Scalar; perLayer: tf.Scalar[] } {
  if (queries.length === 0) badOption("patchNceLosses: no layers given");
  if (queries.length !== keys.length) badOption(`patchNceLosses: ${queries.length} query layers but ${keys.length} key layers`);
  queries.forEach((q, l) => checkLayer(`patchNceLosses (layer ${l})`, q, keys[l]!, opts));
  return tf.tidy(() => {
    const perLayer = queries.map((q, l) => patchNceLayerLoss(q, keys[l]!, opts));
    const total = tf.div(tf.addN(perLayer), perLayer.length) as tf.Scalar;
    return { total, perLayer };
  });
}

/** The multi-layer PatchNCE total only: sum over layers of the per-layer loss / number of layers. */
export function patchNceLoss(queries: readonly tf.Tensor2D[], keys: readonly tf.Tensor2D[], opts: PatchNceOptions): tf.Scalar {
  return tf.tidy(() => patchNceLosses(queries, keys, opts).total);
}
