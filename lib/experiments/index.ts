// lib/experiments: one module per figure or lesson, each a function from a config to results;
// the registry below is what `npm run figures` runs, in this order.
import type { Experiment } from "./types.js";

export * from "./types.js";
export * from "./runCache.js";
export * from "./figures.js";
export * from "./data.js";
export * from "./derive.js";
export * from "./ear.js";

/** Every experiment `npm run figures` knows, in the order it runs them. */
export const EXPERIMENTS: readonly Experiment[] = [];
