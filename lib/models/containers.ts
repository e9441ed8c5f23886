// Containers that give the networks the parameter names of their PyTorch references: a Slots
// module holds children under chosen names (the indices of a reference nn.Sequential, where
// parameter-free layers keep their place), so a conv at index 4 is `model.4.weight`.
import { Module } from "../nn/module.js";

/** Children under names chosen by the owner (sparse Sequential indices, or any label). */
export class Slots extends Module {
  /** Registers `m` under `name` and returns it. */
  add<M extends Module>(name: string | number, m: M): M {
    return this.child(String(name), m);
  }
}
