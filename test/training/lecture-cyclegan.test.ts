// The CycleGAN lecture experiment: the mirror ambiguity of the cycle loss on a tiny untrained
// CycleGAN (equal cycle losses, different translations), the squareness measure of the geometry
// toy, and the whole experiment at the smoke profile (figures, tables, numbers; cached reruns).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine, tf } from "../../lib/engine/index.js";
import { type CycleGanConfig } from "../../lib/methods/config.js";
import { resolveConfig } from "../../lib/methods/registry.js";
import { CycleGanTrainer } from "../../lib/methods/cyclegan.js";
import { makeVolume } from "../../lib/volume/volume.js";
import { experimentConfig } from "../../lib/experiments/framework/types.js";
import { flipAmbiguity, lectureBudget, lectureCycleGan, mirrorImages } from "../../lib/experiments/lecture/index.js";
import { squareness } from "../../lib/analysis/imageMeasures.js";
import { seeded } from "../helpers.js";

test("a CycleGAN and its mirrored twin (T∘G, F∘T⁻¹) are equally cycle consistent but translate differently", async () => {
  await initEngine({ quiet: true });
  // Larger initial weights than the reference's N(0, 0.02), so the untrained G is far from constant.
  const cfg = resolveConfig("cyclegan", "smoke", 2, { patch: [16, 16], ngf: 4, ndf: 4, blocks: 1, initGain: 0.3 }) as CycleGanConfig;
  const t = new CycleGanTrainer(cfg);
  const xs = tf.tensor4d(seeded(3 * 16 * 16, 1), [3, 16, 16, 1]);
  const ys = tf.tensor4d(seeded(2 * 16 * 16, 2), [2, 16, 16, 1]);
  const before = tf.memory().numTensors;
  try {
    const f = flipAmbiguity((x) => t.G_A.apply(x), (y) => t.G_B.apply(y), xs, ys);
    assert.equal(tf.memory().numTensors, before, "no tensors leak");
    assert.equal(f.imagesX, 6, "the X images and their mirror images");
    assert.equal(f.imagesY, 4);
    // X -> Y -> X: F(T^-1(T(G(x)))) is F applied to the very same pixels.
    assert.equal(f.mirrored.cycleX, f.original.cycleX);
    assert.equal(f.reconstructionMaxDiff, 0);
    // Y -> X -> Y: the same per-image losses summed in another order.
    const tol = 1e-6 * (f.original.cycleX + f.original.cycleY);
    assert.ok(f.absDifference.cycleY <= tol, `cycle Y ${f.original.cycleY} vs ${f.mirrored.cycleY}`);
    assert.ok(f.relDifference < 1e-6, `relative difference ${f.relDifference}`);
    assert.ok(f.original.cycleX > 0.01 && f.original.cycleY > 0.01, "an untrained pair is far from cycle consistent");
    // ...while the translations differ by a mirror.
    assert.ok(f.translationChange > 1e-3, `translation change ${f.translationChange}`);
    assert.ok(f.translationSpread > 0);
    // The mirror is its own inverse.
    const back = tf.tidy(() => tf.max(tf.abs(tf.sub(mirrorImages(mirrorImages(xs)), xs))).dataSync()[0]);
    assert.equal(back, 0);
  } finally {
    tf.dispose([xs, ys]);
    t.dispose();
  }
});

test("squareness: a disc fills about pi/4 of its bounding box (less when pixelated), an axis-aligned square all of it", () => {
  const n = 48;
  const draw = (inside: (x: number, y: number) => boolean) => {
    const d = new Float32Array(n * n).fill(-1);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (inside(x, y)) d[y * n + x] = 1;
    return makeVolume(d, [n, n]);
  };
  const disc = squareness(draw((x, y) => (x - 12) ** 2 + (y - 12) ** 2 <= 81 || (x - 34) ** 2 + (y - 34) ** 2 <= 64));
  assert.equal(disc.length, 2);
  // A pixelated disc of radius r fills about pi r^2 / (2r + 1)^2 of its box: 0.70 at r = 8 or 9.
  for (const s of disc) assert.ok(s > 0.65 && s < Math.PI / 4, `disc ${s}`);
  assert.deepEqual(squareness(draw((x, y) => x >= 10 && x < 30 && y >= 5 && y < 25)), [1]);
  assert.deepEqual(squareness(draw((x, y) => x < 3 && y < 3)), [], "components under minArea are left out");
});

test("lecture-cyclegan at the smoke profile: figures, tables and numbers; a rerun reuses every cached run", async () => {
  const runsDir = mkdtempSync(join(tmpdir(), "lecture-runs-"));
  try {
    const cfg = experimentConfig({ profile: "smoke", seed: 0, runsDir, progress: false, liveDisplay: false });
    const t0 = performance.now();
    const r = await lectureCycleGan.run(cfg);
    const first = (performance.now() - t0) / 1000;
    assert.equal(r.name, "lecture-cyclegan");
    assert.equal(r.profile, "smoke");
    assert.deepEqual(
      r.figures.map((f) => f.name),
      ["", "curves", "flip", "flip-images", "ear", "ear-curves", "dice", "anatomy"],
    );
    for (const f of r.figures) assert.ok(f.figure.data.length > 0, `figure ${f.name || "(main)"} has traces`);
    assert.deepEqual(r.tables.map((t) => t.name), ["toys", "flip", "dice", "dice-cases"]);
    const toys = r.tables[0]!.rows;
    assert.deepEqual(toys.map((row) => row["toy"]), ["colour", "texture", "geometry"]);
    const b = lectureBudget("smoke");
    const perCase = r.tables[3]!.rows;
    // 3 segmenters on the test subjects + the Oracle on each translated set, 3 structures each.
    assert.equal(perCase.length, 3 * (3 * b.testSubjects! + 2 * b.sourceSubjects!));
    for (const row of perCase) assert.ok(typeof row["value"] === "number" && row["value"] >= 0 && row["value"] <= 1);
    const n = r.numbers;
    assert.equal(n["flip_toy"], "colour");
    assert.ok(Math.abs((n["flip_cycle_original"] as number) - (n["flip_cycle_mirrored"] as number)) < 1e-5);
    assert.ok((n["flip_cycle_rel_difference"] as number) < 1e-5);
    assert.ok((n["flip_translation_change"] as number) > 0);
    for (const k of ["dice_t2_test_plain", "dice_t2_test_shape", "dice_t2_test_oracle", "dice_anatomy_plain", "dice_anatomy_shape", "geometry_squareness_translation"]) {
      assert.equal(typeof n[k], "number", k);
    }
    assert.match(r.reading, /Smoke profile/);
    assert.match(r.reading, /Mirror ambiguity/);
    // 3 toy pairs, 2 ear CycleGANs, 2 segmenters on translations, the Oracle.
    assert.equal(r.runs.length, 8);
    for (const dir of r.runs) assert.ok(existsSync(join(dir, "complete.json")), `${dir} complete`);

    const t1 = performance.now();
    const again = await lectureCycleGan.run(cfg);
    const second = (performance.now() - t1) / 1000;
    assert.deepEqual(again.runs, r.runs, "the same run folders");
    assert.deepEqual(again.numbers, r.numbers, "reused runs give the same numbers");
    assert.ok(second < first * 0.7, `the rerun took ${second.toFixed(1)} s, the first run ${first.toFixed(1)} s`);
  } finally {
    rmSync(runsDir, { recursive: true, force: true });
  }
});
