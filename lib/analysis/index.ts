// lib/analysis: what a study measures. Segmentation metrics (Dice, ASSD, HD95, boundary ASSD on
// an exact distance transform), image quality (SSIM, PSNR, MAE), the style space (embedding,
// PCA, K-means with silhouette-chosen k, TypiClust exemplars, adjusted Rand index, SLERP) and
// metric tables with summaries.
export { edt, edtSquared, type EdtOptions } from "./edt.js";
export { surfaceMask, labelSurface, interfaceMask, maskIndices } from "./surface.js";
export { dice, overlapCounts, diceFromCounts, type LabelInput } from "./overlap.js";
export * from "./surfaceDistance.js";
export * from "./imageQuality.js";
export * from "./embed.js";
export * from "./pca.js";
export * from "./kmeans.js";
export * from "./silhouette.js";
export * from "./typiclust.js";
export * from "./rand.js";
export * from "./slerp.js";
export * from "./styleSpace.js";
export * from "./tables.js";
export * from "./histogramMatch.js";
export * from "./translationScore.js";
export * from "./imageMeasures.js";
