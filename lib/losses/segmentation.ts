// Segmentation losses: nnU-Net's soft Dice + cross-entropy on softmax logits with integer labels,
// and the shape-consistency loss of Zhang et al. 2018 (a segmentor's CE on translated images).
import { tf } from "../engine/tf.js";
import type { Tensor } from "../engine/tf.js";
import { badOption, checkFloat, checkPositive } from "./common.js";

export interface SoftDiceOptions {
  /** Count class 0 (background) in the Dice mean; default false (nnU-Net's do_bg = False). */
  includeBackground?: boolean;
  /** Added to numerator and denominator, default 1e-5 (nnU-Net). */
  smooth?: number;
}

export interface DiceCeOptions extends SoftDiceOptions {
  /** Weight of the soft Dice term, default 1. */
  diceWeight?: number;
  /** Weight of the cross-entropy term, default 1. */
  ceWeight?: number;
}

/**
 * Checks logits [B, ...spatial, C] (float32, C >= 2 or >= 1 with background) against labels
 * [B, ...spatial] (or [B, ...spatial, 1]) int32 and returns the labels as [voxels] plus C.
 * Label values are not read back (that would stall the device): values outside [0, C) give an
 * all-zero one-hot row, i.e. the voxel counts as no class.
 */
function prepare(what: string, logits: Tensor, labels: Tensor): { flatLabels: tf.Tensor1D; classes: number; voxels: number } {
  checkFloat(what, "logits", logits);
  if (logits.rank < 3) badOption(`${what}: logits must be [batch, ...spatial, classes] (2D or 3D), got shape [${logits.shape}]`);
  if (labels.dtype !== "int32") badOption(`${what}: labels must be int32 class indices, got ${labels.dtype}`);
  const spatial = logits.shape.slice(0, -1);
  const lab = labels.shape;
  const matches =
    (lab.length === spatial.length && lab.every((d, i) => d === spatial[i])) ||
    (lab.length === spatial.length + 1 && lab[lab.length - 1] === 1 && spatial.every((d, i) => d === lab[i]));
  if (!matches) badOption(`${what}: labels [${lab}] must be [${spatial}] (or with a trailing 1) for logits [${logits.shape}]`);
  const classes = logits.shape[logits.rank - 1]!;
  const voxels = spatial.reduce((a, b) => a * b, 1);
  if (voxels === 0) badOption(`${what}: logits are empty (shape [${logits.shape}])`);
  return { flatLabels: tf.reshape(labels, [voxels]) as tf.Tensor1D, classes, voxels };
}

/** float32 one-hot [V, C] of labels [V]; tf.oneHot refuses C = 1, so compare with 0..C-1. */
function oneHot(flatLabels: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.cast(tf.equal(tf.expandDims(flatLabels, 1), tf.range(0, classes, 1, "int32")), "float32") as tf.Tensor2D;
}

function softDice(logits: Tensor, labels: Tensor, opts: SoftDiceOptions, what: string): tf.Scalar {
  const smooth = opts.smooth ?? 1e-5;
  checkPositive(what, "smooth", smooth);
  const includeBackground = opts.includeBackground ?? false;
  return tf.tidy(() => {
    const { flatLabels, classes, voxels } = prepare(what, logits, labels);
    const first = includeBackground ? 0 : 1;
    if (classes - first < 1) badOption(`${what}: logits have ${classes} class(es), no foreground class to score (set includeBackground or give >= 2 classes)`);
    const p = tf.softmax(tf.reshape(logits, [voxels, classes]) as tf.Tensor2D); // [V, C]
    const gf = oneHot(flatLabels, classes); // [V, C]
    // Per class over batch and spatial axes together (nnU-Net's batch_dice).
    const intersection = tf.sum(tf.mul(p, gf), 0); // [C]
    const denominator = tf.add(tf.sum(p, 0), tf.sum(gf, 0));
    const dice = tf.div(tf.add(tf.mul(intersection, 2), smooth), tf.add(denominator, smooth));
    const scored = tf.slice(dice, [first], [classes - first]);
    return tf.sub(1, tf.mean(scored)) as tf.Scalar;
  });
}

/**
 * Soft Dice loss, nnU-Net style: p = softmax(logits) over the last axis, g = one-hot(labels);
 * per class c, over batch and spatial axes together,
 *   dice_c = (2 * sum(p_c * g_c) + smooth) / (sum(p_c) + sum(g_c) + smooth);
 * loss = 1 - mean of dice_c over the foreground classes 1..C-1 (all C with includeBackground).
 * logits [B, (D,) H, W, C] float32; labels [B, (D,) H, W] int32 (a trailing 1 is accepted).
 */
export function softDiceLoss(logits: Tensor, labels: Tensor, opts: SoftDiceOptions = {}): tf.Scalar {
  return softDice(logits, labels, opts, "softDiceLoss");
}

function crossEntropy(logits: Tensor, labels: Tensor, what: string): tf.Scalar {
  return tf.tidy(() => {
    const { flatLabels, classes, voxels } = prepare(what, logits, labels);
    const logP = tf.logSoftmax(tf.reshape(logits, [voxels, classes]) as tf.Tensor2D);
    const picked = tf.sum(tf.mul(logP, oneHot(flatLabels, classes)), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/**
 * Multi-class cross-entropy, mean over voxels (and batch): mean_v -log softmax(logits_v)[label_v].
 * Shapes as softDiceLoss.
 */
export function segmentationCrossEntropy(logits: Tensor, labels: Tensor): tf.Scalar {
  return crossEntropy(logits, labels, "segmentationCrossEntropy");
}

/** nnU-Net's training loss: diceWeight * softDiceLoss + ceWeight * cross-entropy (both 1 by default). */
export function diceCeLoss(logits: Tensor, labels: Tensor, opts: DiceCeOptions = {}): tf.Scalar {
  const diceWeight = opts.diceWeight ?? 1;
  const ceWeight = opts.ceWeight ?? 1;
  for (const [name, w] of [["diceWeight", diceWeight], ["ceWeight", ceWeight]] as const) {
    if (!(Number.isFinite(w) && w >= 0)) badOption(`diceCeLoss: ${name} must be a finite number >= 0, got ${w}`);
  }
  return tf.tidy(() =>
    tf.add(tf.mul(softDice(logits, labels, opts, "diceCeLoss"), diceWeight), tf.mul(crossEntropy(logits, labels, "diceCeLoss"), ceWeight)) as tf.Scalar,
  );
}

/**
 * Shape consistency (Zhang et al. 2018), one direction: CE(S_A(G_A(x_B)), y_B), the segmentor's
 * logits on a translated image against the labels of the image before translation. The method
 * adds both directions: shapeConsistencyLoss(S_A(G_A(x_B)), y_B) + shapeConsistencyLoss(S_B(G_B(x_A)), y_A).
 */
export function shapeConsistencyLoss(segLogitsOfTranslated: Tensor, labels: Tensor): tf.Scalar {
  return crossEntropy(segLogitsOfTranslated, labels, "shapeConsistencyLoss");
}
