// The kit's networks, 2D and 3D: the CycleGAN/CUT ResNet generator (plain and DIN-conditioned),
// IntraStyler's style encoder, the PatchGAN discriminator, CUT's PatchNCE projection head and
// an nnU-Net-style U-Net segmenter, and SynDiff's diffusive generator and time-conditioned
// discriminator with their embeddings and adaptive group norm.
export * from "./containers.js";
export * from "./resnetGenerator.js";
export * from "./styleEncoder.js";
export * from "./patchGan.js";
export * from "./patchNceHead.js";
export * from "./unet.js";
export * from "./diffusionEmbedding.js";
export * from "./diffusionNorm.js";
export * from "./diffusionGenerator.js";
export * from "./timeDiscriminator.js";
