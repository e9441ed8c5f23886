// The CycleGAN lecture: its budgets, the toy pairs, the mirror ambiguity of the cycle loss, the
// ear-phantom study, and the experiment that runs them in order (what notebook 01 steps through).
export * from "./budget.js";
export * from "./toys.js";
export * from "./mirror.js";
export * from "./ear.js";
export * from "./lectureCycleGan.js";
