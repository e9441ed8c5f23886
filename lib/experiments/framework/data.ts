// The shipped manifests the experiments train on, found next to the package (lib/ or dist/ both
// sit beside data-manifests/), so experiments run the same from a checkout, dist/ or a notebook.
import { fileURLToPath } from "node:url";

const manifest = (name: string) => fileURLToPath(new URL(`../../../data-manifests/${name}.json`, import.meta.url));

/** The ear MRI phantom (CrossMoDA-like: ceT1 source, T2 target with 4 true styles in 3 named sites). */
export const EAR_MANIFEST = manifest("crossmoda-phantom");
/** The axon histology phantom (TEM source, three targets of increasing dissimilarity). */
export const AXON_MANIFEST = manifest("axon-phantom");
/** The lecture's toy domains (colour, texture, geometry). */
export const TOY_MANIFEST = manifest("toy-phantom");
