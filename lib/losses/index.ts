// The kit's losses: adversarial, reconstruction, PatchNCE (CUT), IntraStyler's style losses and
// the segmentation losses; each a pure function of tensors returning a scalar tensor.
export { detach, softplus } from "./common.js";
export { GAN_MODES, discriminatorLoss, ganLoss, generatorLoss, r1Penalty } from "./gan.js";
export type { GanMode } from "./gan.js";
export { cycleLoss, identityLoss, l1Loss } from "./reconstruction.js";
export { PATCH_NCE_MASK_VALUE, patchNceLayerLoss, patchNceLoss, patchNceLosses } from "./patchNce.js";
export type { PatchNceOptions } from "./patchNce.js";
export { STYLE_TAU, styleConsistencyLoss, styleContrastiveLoss } from "./style.js";
export type { StyleContrastiveOptions } from "./style.js";
export { diceCeLoss, segmentationCrossEntropy, shapeConsistencyLoss, softDiceLoss } from "./segmentation.js";
export type { DiceCeOptions, SoftDiceOptions } from "./segmentation.js";
