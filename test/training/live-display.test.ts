// The notebook view of training: BMP samples decode back to the pixels, the loss SVG has a line
// per loss, and the listener redraws on schedule into whatever HTML display it is given.
import { test } from "node:test";
import assert from "node:assert/strict";
import { greyBmp, liveTrainingDisplay, lossCurvesSvg } from "../../lib/train/liveDisplay.js";

test("greyBmp writes a valid 8-bit BMP whose pixels are the image (y = 0 at the bottom like lib/viz slices, rows padded to 4 bytes)", () => {
  const w = 5;
  const h = 3;
  const data = Float32Array.from({ length: w * h }, (_, i) => (i / (w * h - 1)) * 2 - 1);
  const bmp = greyBmp({ title: "x", data, width: w, height: h });
  const v = new DataView(bmp.buffer);
  assert.equal(String.fromCharCode(bmp[0]!, bmp[1]!), "BM");
  assert.equal(v.getUint32(2, true), bmp.length);
  assert.equal(v.getInt32(18, true), w);
  assert.equal(v.getInt32(22, true), h);
  assert.equal(v.getUint16(28, true), 8);
  const offset = v.getUint32(10, true);
  const row = 8; // 5 bytes padded to 8
  assert.equal(bmp.length, offset + row * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const stored = bmp[offset + y * row + x]!; // stored bottom-up: image row y is stored row y
      assert.equal(stored, Math.round(((data[y * w + x]! + 1) / 2) * 255), `pixel ${x},${y}`);
    }
  }
});

test("loss curves: one path and legend entry per loss, with the last value", () => {
  const svg = lossCurvesSvg([
    { step: 1, losses: { G: 2, D: 0.5 } },
    { step: 2, losses: { G: 1.5, D: 0.4 } },
    { step: 3, losses: { G: 1, D: 0.45 } },
  ]);
  assert.equal((svg.match(/<path /g) ?? []).length, 2);
  assert.match(svg, />G 1\.00</);
  assert.match(svg, />D 0\.450</);
});

test("the listener redraws every N steps and at the end, with samples", () => {
  const drawn: string[] = [];
  let sampled = 0;
  const listen = liveTrainingDisplay({
    display: { html: (s) => drawn.push(s) },
    every: 3,
    title: "cut",
    samples: () => {
      sampled++;
      return [{ title: "input", data: new Float32Array(4), width: 2, height: 2 }];
    },
  })!;
  for (let step = 1; step <= 7; step++) {
    listen({ step, total: 7, losses: { G: 1 / step }, lrFactor: 1, seconds: 0.1, stepsPerSecond: 10, etaSeconds: 7 - step, checkpointed: false });
  }
  assert.equal(drawn.length, 3, "steps 3, 6 and 7");
  assert.equal(sampled, 3);
  assert.match(drawn.at(-1)!, /<b>cut<\/b> step 7\/7/);
  assert.match(drawn.at(-1)!, /data:image\/bmp;base64,/);
  assert.equal(liveTrainingDisplay({}), undefined, "outside a notebook there is nothing to draw");
});

test("a training run draws its live view into the display it is given", async () => {
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { writePhantom } = await import("../../lib/data/phantoms/write.js");
  const { trainRun } = await import("../../lib/train/run.js");
  const { startSuiteEngine } = await import("../helpers.js");
  await startSuiteEngine();
  const dir = mkdtempSync(join(tmpdir(), "unpaired-live-"));
  const manifest = await writePhantom("toy", join(dir, "toy"), { counts: 1, shape: [32, 32] });
  const drawn: string[] = [];
  const r = await trainRun({
    method: "cut", manifest, profile: "smoke", out: join(dir, "run"), display: { html: (s) => drawn.push(s) },
    overrides: { patch: [16, 16], ngf: 4, ndf: 4, numPatches: 8 },
  });
  r.trainer.dispose();
  assert.equal(drawn.length, 1, "smoke runs 4 steps: drawn at the last");
  assert.match(drawn[0]!, /cut \(smoke\) on toy-phantom/);
  assert.equal((drawn[0]!.match(/data:image\/bmp/g) ?? []).length, 2, "source and its translation");
});
