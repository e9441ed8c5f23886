// unpaired-lab: unpaired image-to-image translation for medical imaging. The package entry:
// everything a notebook or a user's script imports.
export * from "./engine/index.js";
export { UnpairedError } from "./util/errors.js";
export type { ErrorCode } from "./util/errors.js";
