// The kit's networks, 2D and 3D: the CycleGAN/CUT ResNet generator (plain and DIN-conditioned),
// IntraStyler's style encoder, the PatchGAN discriminator, CUT's PatchNCE projection head and
// an nnU-Net-style U-Net segmenter.
export * from "./containers.js";
export * from "./resnetGenerator.js";
export * from "./styleEncoder.js";
export * from "./patchGan.js";
export * from "./patchNceHead.js";
export * from "./unet.js";
