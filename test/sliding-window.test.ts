// Sliding-window inference: tiles cover the volume, blending reproduces any voxel-wise
// prediction exactly, volumes smaller than a tile work, and the importance map is nnU-Net's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gaussianImportance, slidingWindow, tileStarts } from "../lib/inference/slidingWindow.js";
import { tf } from "../lib/engine/tf.js";
import { startSuiteEngine } from "./helpers.js";

test("tile starts cover the axis evenly with the requested overlap", () => {
  for (const [n, p, o] of [[10, 4, 0.5], [64, 32, 0.5], [100, 32, 0.25], [33, 32, 0.5], [8, 16, 0.5]] as const) {
    const s = tileStarts(n, p, o);
    assert.equal(s[0], 0);
    assert.equal(s.at(-1), Math.max(0, n - p), `${n}/${p}: last tile ends at the border`);
    for (let i = 1; i < s.length; i++) assert.ok(s[i]! - s[i - 1]! <= Math.floor(p * (1 - o)) && s[i]! > s[i - 1]!, `${n}/${p}: gap`);
  }
  assert.deepEqual(tileStarts(64, 32, 0.5), [0, 16, 32]);
});

test("the importance map peaks at the centre, is symmetric and positive", () => {
  const w = gaussianImportance([5, 7]);
  assert.equal(Math.max(...w), w[2 * 7 + 3]);
  assert.ok(Math.abs(w[2 * 7 + 3]! - 1) < 1e-6);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 7; j++) assert.ok(Math.abs(w[i * 7 + j]! - w[(4 - i) * 7 + (6 - j)]!) < 1e-7);
  assert.ok(w.every((v) => v > 0));
});

test("blending voxel-wise predictions gives them back exactly, in 2D and 3D, larger and smaller than a tile", async () => {
  await startSuiteEngine();
  for (const [shape, patch] of [[[20, 30], [8, 16]], [[6, 20, 18], [4, 8, 8]], [[5, 6], [8, 8]]] as const) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 3);
    let tiles = 0;
    const before = tf.memory().numTensors;
    // Two channels: 2x + 1 and x^2: both voxel-wise, so any blend of them is exact.
    const out = slidingWindow({ data, shape }, (t) => tf.concat([tf.add(tf.mul(t, 2), 1), tf.square(t)], -1), {
      patch,
      onTile: () => tiles++,
    });
    assert.equal(tf.memory().numTensors, before, "no tensors left behind");
    assert.equal(out.channels, 2);
    assert.deepEqual(out.shape, shape);
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(out.data[2 * i]! - (2 * data[i]! + 1)) < 1e-5, `${shape}: voxel ${i}`);
      assert.ok(Math.abs(out.data[2 * i + 1]! - data[i]! ** 2) < 1e-5);
    }
    assert.ok(tiles >= 1);
  }
});

test("a prediction that depends on the tile is blended, weighted towards tile centres", async () => {
  await startSuiteEngine();
  // Each tile predicts its own mean: the blend lies between the tile means everywhere.
  const shape = [1, 40];
  const data = Float32Array.from({ length: 40 }, (_, i) => i);
  const out = slidingWindow({ data, shape }, (t) => tf.mul(tf.onesLike(t), tf.mean(t)), { patch: [1, 16] });
  for (let i = 1; i < 40; i++) assert.ok(out.data[i]! >= out.data[i - 1]! - 1e-5, "monotone like the data");
  assert.ok(out.data[0]! >= 7.5 - 1e-5 && out.data[39]! <= 31.5 + 1e-5);
});
