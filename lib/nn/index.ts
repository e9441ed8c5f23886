// The kit's neural-network building blocks (modules, layers, blocks), 2D and 3D.
export * from "./module.js";
export * from "./layers.js";
export * from "./blocks.js";
