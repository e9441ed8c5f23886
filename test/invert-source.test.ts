// Translators' `invertSource`: the networks see the source with its contrast turned round (values
// above the normalised background negated), in training and in translation, and a translation
// back into the source domain is turned round again. Checked against a second trainer without the
// option, with the same weights, given the inverted images by hand.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../lib/engine/tf.js";
import { createTrainer, resolveConfig } from "../lib/methods/registry.js";
import type { TrainBatch, TrainingFace, Translator } from "../lib/methods/trainer.js";
import type { TranslatorConfig } from "../lib/methods/config.js";
import type { Subject } from "../lib/data/manifest.js";
import { seeded, startSuiteEngine } from "./helpers.js";

before(startSuiteEngine);

const SHAPE = [1, 16, 16, 1];
const n = 16 * 16;

/** Images on [-1, 1] with a background of exactly -1 (a quarter of the pixels). */
function image(seed: number): Float32Array {
  const x = Float32Array.from(seeded(n, seed), (v) => Math.tanh(v));
  for (let i = 0; i < n; i += 4) x[i] = -1;
  return x;
}

/** The inversion written out: background (-1) kept, everything else negated. */
const inverted = (x: Float32Array) => Float32Array.from(x, (v) => (v > -1 ? -v : -1));

const subject = { id: "s", domain: "d", site: "a", image: "s.nii.gz", split: "train" } as unknown as Subject;
const batch = (a: Float32Array, b: Float32Array): TrainBatch => ({
  source: { images: a, shape: SHAPE, subjects: [subject] },
  target: { images: b, shape: SHAPE, subjects: [subject] },
});

const tiny = { patch: [16, 16], ngf: 4, ndf: 4 };
const pair = (method: "cut" | "cyclegan" | "syndiff") => {
  const extra = method === "cut" ? { numPatches: 8 } : method === "syndiff" ? { diffChannels: 4 } : {};
  const on = createTrainer(resolveConfig(method, "smoke", 2, { ...tiny, ...extra, invertSource: true })) as TrainingFace & Translator;
  const off = createTrainer(resolveConfig(method, "smoke", 2, { ...tiny, ...extra })) as TrainingFace & Translator;
  return { on, off };
};

const run = (t: Translator, x: Float32Array, reverse = false): Float32Array => {
  const input = tf.tensor(x, SHAPE);
  const y = t.translate(input, reverse ? { reverse: true } : {});
  const out = y.dataSync() as Float32Array;
  tf.dispose([input, y]);
  return Float32Array.from(out);
};

describe("invertSource", () => {
  test("is off by default, a boolean option of translators, and no segmenter option", () => {
    const option = (method: string, overrides = {}) => (resolveConfig(method, "quick", 2, overrides) as TranslatorConfig).invertSource;
    assert.equal(option("cut"), false);
    assert.equal(option("cyclegan", { invertSource: true }), true);
    assert.throws(() => resolveConfig("cut", "smoke", 2, { invertSource: "yes" }), /option "invertSource" should be a boolean/);
    assert.throws(() => resolveConfig("segmenter", "smoke", 2, { invertSource: true }), /unknown option "invertSource"/);
  });

  for (const method of ["cut", "cyclegan"] as const) {
    test(`${method}: translating x with it is translating the inverted x without it (same weights)`, () => {
      const { on, off } = pair(method);
      const x = image(1);
      const a = run(on, x);
      const b = run(off, inverted(x));
      assert.deepEqual(a, b);
      // And it does change the result: the plain trainer on x itself differs.
      assert.notDeepEqual(run(off, x), a);
      on.dispose();
      off.dispose();
    });

    test(`${method}: a training step with it is the step without it on the inverted source`, async () => {
      const { on, off } = pair(method);
      const a = image(2);
      const b = image(3);
      const la = await on.step(batch(a, b));
      const lb = await off.step(batch(inverted(a), b));
      assert.deepEqual(la, lb);
      // The weights moved alike: the next translations agree too.
      assert.deepEqual(run(on, a), run(off, inverted(a)));
      on.dispose();
      off.dispose();
    });
  }

  for (const method of ["cyclegan", "syndiff"] as const) {
    test(`${method}: a translation back into the source domain is turned round again, and forward it takes the inverted source`, () => {
      const { on, off } = pair(method);
      const y = image(4);
      assert.deepEqual(run(on, y, true), inverted(run(off, y, true)));
      assert.deepEqual(run(on, y), run(off, inverted(y)));
      on.dispose();
      off.dispose();
    });
  }
});
