// The embedded phantom datasets in one place: the ear MRI phantom with its scanner styles, the
// axon histology phantom and the lecture's toy domains (drawing primitives stay internal).
export * from "./ear.js";
export * from "./styles.js";
export * from "./axon.js";
export * from "./toy.js";
