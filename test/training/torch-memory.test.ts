// Training memory on the torch engine: 200 steps of CUT and of SynDiff at smoke sizes, after
// which the live tfjs tensors, the torch backend's data ids and the libtorch tensors and bytes the
// addon holds are exactly what they were after the first steps (a leak of one tensor per step
// would show as 200).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf } from "../../lib/index.js";
import { Rng } from "../../lib/util/random.js";
import { torchAvailable } from "../helpers.js";
import { torchMemory } from "../../lib/engine/index.js";
import { createTrainer } from "../../lib/methods/index.js";
import { resolveConfig } from "../../lib/methods/registry.js";

describe("torch training memory", () => {
  for (const method of ["cut", "syndiff"] as const) {
    test(`${method}: live tensors, torch slots and native bytes stay flat over 200 steps`, async (t) => {
      const avail = await torchAvailable();
      if (!avail.ok) return t.skip(avail.reason);
      await initEngine({ backend: "torch", quiet: true });
      const cfg = resolveConfig(method, "smoke", 2, { patch: [16, 16], ngf: 4, ndf: 4, ...(method === "cut" ? { numPatches: 16 } : {}) });
      const trainer = createTrainer(cfg);
      const rng = new Rng(`leak:${method}`);
      const shape = [1, 16, 16, 1];
      const image = () => ({ images: Float32Array.from({ length: 256 }, () => Math.tanh(rng.normal())), shape, subjects: [] });
      const step = () => trainer.step({ source: image(), target: image() });
      await step(); // optimiser state appears on the first steps
      await step();
      const base = { tensors: tf.memory().numTensors, ids: tf.engine().backend.numDataIds(), native: torchMemory()! };
      for (let i = 0; i < 200; i++) await step();
      const now = torchMemory()!;
      assert.equal(tf.memory().numTensors, base.tensors, "tfjs tensors");
      assert.equal(tf.engine().backend.numDataIds(), base.ids, "torch backend data ids");
      assert.equal(now.tensors, base.native.tensors, "libtorch tensors held by the addon");
      assert.equal(now.bytes, base.native.bytes, "bytes of the storages they hold");
      trainer.dispose();
    });
  }
});
