// The three IntraStyler style figures end to end at the smoke profile (fig-style-space,
// fig-exemplars, fig-interpolation): their figures, tables and numbers are present and in range,
// the result files are written, and a second run reuses the cached IntraStyler run and analysis.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experimentConfig, writeResult, type ExperimentResult } from "../../lib/experiments/index.js";
import { styleSpaceExperiment } from "../../lib/experiments/intrastyler/styleSpace.js";
import { exemplarsExperiment } from "../../lib/experiments/intrastyler/exemplars.js";
import { interpolationExperiment, DEFAULT_TS, marginPath, mostDistantPair } from "../../lib/experiments/intrastyler/interpolation.js";
import { releaseStyleFigures, styleCrops, STYLE_SPACE_FILE, cosine, type ExemplarInfo } from "../../lib/experiments/intrastyler/styleRun.js";
import { makeVolume } from "../../lib/volume/volume.js";

const inRange = (v: unknown, lo: number, hi: number, what: string) => {
  assert.equal(typeof v, "number", `${what} is a number (got ${String(v)})`);
  assert.ok((v as number) >= lo - 1e-9 && (v as number) <= hi + 1e-9, `${what} = ${String(v)} lies in [${lo}, ${hi}]`);
};

test("styleCrops: 2D networks see slices around the middle, 3D networks blocks, centred in-plane at the patch size", () => {
  const v = makeVolume(Float32Array.from({ length: 8 * 6 * 10 }, (_, i) => i), [8, 6, 10]);
  const slices = styleCrops(v, [4, 4], { crops: 3, step: 2 });
  assert.equal(slices.length, 3);
  for (const s of slices) assert.deepEqual(s.shape, [4, 4]);
  // Slice z = 3 (middle 5 - 2), row y = 1, columns x = 2..5.
  assert.deepEqual(Array.from(slices[0]!.data.subarray(0, 4)), [3 * 48 + 1 * 8 + 2, 3 * 48 + 8 + 3, 3 * 48 + 8 + 4, 3 * 48 + 8 + 5]);
  const blocks = styleCrops(v, [4, 4, 4], { crops: 5 });
  assert.ok(blocks.length >= 2 && blocks.length <= 5, "distinct blocks only");
  for (const b of blocks) assert.deepEqual(b.shape, [4, 4, 4]);
  // Bigger patch than volume: the whole slice.
  assert.deepEqual(styleCrops(v, [64, 64], { crops: 1 })[0]!.shape, [6, 8]);
});

test("mostDistantPair picks the exemplars with the lowest cosine", () => {
  const ex = (cluster: number, vector: number[]): ExemplarInfo => ({ cluster, index: cluster, id: `e${cluster}`, site: "s", trueStyle: null, size: 1, vector });
  const pair = mostDistantPair([ex(0, [1, 0, 0]), ex(1, [0.9, 0.1, 0]), ex(2, [0, 0, 1])]);
  assert.deepEqual(pair.map((e) => e.cluster), [0, 2]);
  assert.ok(Math.abs(cosine([1, 0], [0, 2])) < 1e-12);
});

test("marginPath judges monotonicity on t in [0, 1] and reports what the extrapolated t add", () => {
  const ts = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5];
  const ideal = [-0.4, -0.2, 0, 0.2, 0.4, 0.55, 0.7];
  // Rises inside [0, 1], a little further at 1.25, back down at 1.5 (the falling step lies outside).
  const p = marginPath(ts, [-0.3, -0.25, -0.2, -0.1, 0, 0.05, -0.05], ideal);
  assert.equal(p.decreasingSteps, 0);
  assert.equal(p.interpolationSteps, 4);
  assert.ok(Math.abs(p.strength - 0.3 / 0.8) < 1e-12, `strength ${p.strength}`);
  assert.ok(Math.abs(p.largestStepShare - 0.1 / 0.3) < 1e-12, `largest step share ${p.largestStepShare}`);
  assert.equal(p.extrapolationContinues, false);
  assert.deepEqual(p.extrapolationPeak, { t: 1.25, margin: 0.05 });
  // The same path given in shuffled t order, with one fall inside [0, 1].
  const order = [4, 0, 6, 2, 1, 5, 3];
  const m = [-0.3, -0.25, -0.28, -0.1, 0, 0.05, 0.2];
  const q = marginPath(order.map((j) => ts[j]!), order.map((j) => m[j]!), order.map((j) => ideal[j]!));
  assert.equal(q.decreasingSteps, 1);
  assert.equal(q.extrapolationContinues, true);
  assert.deepEqual(q.extrapolationPeak, { t: 1.5, margin: 0.2 });
  // Without t > 1 there is nothing to say about extrapolation.
  const r = marginPath([0, 0.5, 1], [0, 0.1, 0.2], [-0.4, 0, 0.4]);
  assert.equal(r.extrapolationContinues, null);
  assert.equal(r.extrapolationPeak, null);
});

test("the style figures at the smoke profile: style space, exemplar grid, interpolation, then reuse", { timeout: 240_000 }, async () => {
  const runsDir = mkdtempSync(join(tmpdir(), "style-figures-"));
  const cfg = experimentConfig({ profile: "smoke", seed: 0, runsDir, progress: false, liveDisplay: false });
  try {
    // fig-style-space
    const t0 = performance.now();
    const space = await styleSpaceExperiment.run(cfg);
    const firstSeconds = (performance.now() - t0) / 1000;
    assert.equal(space.name, "fig-style-space");
    assert.deepEqual(space.figures.map((f) => f.name), ["", "true-style", "silhouette"]);
    const n = space.numbers;
    assert.equal(n["images"], 60);
    inRange(n["k"], 2, 12, "k");
    inRange(n["ariTrueStyle"], -1, 1, "ARI against true styles");
    inRange(n["ariSite"], -1, 1, "ARI against sites");
    inRange(n["silhouette"], -1, 1, "silhouette");
    assert.equal(n["trainedNow"], true);
    const images = space.tables.find((t) => t.name === "images")!.rows;
    assert.equal(images.length, 60);
    assert.deepEqual(Object.keys(images[0]!).slice(0, 8), ["id", "site", "true_style", "cluster", "exemplar", "typicality", "pc1", "pc2"]);
    assert.equal(images.filter((r) => r["exemplar"]).length, n["k"], "one exemplar per cluster");
    const stars = space.figures[0]!.figure.data.find((t) => t.name === "exemplars") as { x: unknown[] } | undefined;
    assert.equal(stars?.x.length, n["k"], "an exemplar star per cluster");
    assert.ok(space.tables.find((t) => t.name === "ari")!.rows.every((r) => r["ari"] === null || ((r["ari"] as number) >= -1 && (r["ari"] as number) <= 1)));
    assert.ok(space.reading.length > 100 && /Adjusted Rand index/.test(space.reading));
    assert.ok(existsSync(join(space.runs[0]!, STYLE_SPACE_FILE)), "the analysis is cached in the run folder");

    // fig-exemplars (the grid reuses the open run and the analysis; trains the Oracle)
    const ex = await exemplarsExperiment.run(cfg);
    const e = ex.numbers;
    const nSrc = e["sources"] as number;
    const nEx = e["exemplars"] as number;
    assert.equal(nSrc, 2);
    assert.ok(nEx >= 2 && nEx <= (n["k"] as number));
    assert.equal(ex.tables.find((t) => t.name === "translations")!.rows.length, nSrc * nEx, "one row per translation");
    // Exemplar row + each source row (source + translations).
    assert.equal(ex.figures[0]!.figure.data.length, nEx + nSrc * (1 + nEx), "grid cells = exemplars + sources x (1 + exemplars)");
    const grid = ex.images[0]!.image;
    assert.ok(grid.width > 0 && grid.height > 0);
    for (const key of ["cosOwn", "cosOther", "cosSourceToExemplar", "cosExemplarToExemplar"]) inRange(e[key], -1, 1, key);
    for (const key of ["pairwiseDiceMean", "diceToLabelsMean", "ownClosestShare"]) inRange(e[key], 0, 1, key);
    assert.equal(ex.tables.find((t) => t.name === "anatomy")!.rows.length, nSrc * 3, "per source and structure");
    assert.equal(ex.runs.length, 2, "IntraStyler and Oracle runs");
    assert.equal(ex.runs[0], space.runs[0], "the same IntraStyler run as the style space");

    // fig-interpolation
    const ip = await interpolationExperiment.run(cfg);
    const path = ip.tables.find((t) => t.name === "path")!.rows;
    assert.deepEqual(path.map((r) => r["t"]), [...DEFAULT_TS]);
    for (const r of path) for (const key of ["cos_to_A", "cos_to_B", "cos_to_target", "perfect_cos_to_A", "perfect_cos_to_B"]) inRange(r[key], -1, 1, `${key} at t = ${String(r["t"])}`);
    assert.equal(path[0]!["perfect_cos_to_A"], 1, "t = 0 is exemplar A");
    assert.equal(path[4]!["perfect_cos_to_B"], 1, "t = 1 is exemplar B");
    assert.deepEqual(ip.figures.map((f) => f.name), ["", "cosine"]);
    const nIp = ip.numbers["sources"] as number;
    assert.equal(ip.tables.find((t) => t.name === "outputs")!.rows.length, nIp * DEFAULT_TS.length);
    assert.ok(ip.numbers["clusterA"] !== ip.numbers["clusterB"]);

    // The results serialise (CSV, PNG grids, reading; html only: no browser needed).
    const out = mkdtempSync(join(tmpdir(), "style-figs-out-"));
    for (const r of [space, ex, ip] as ExperimentResult[]) await writeResult(r, out, ["html"]);
    const files = readdirSync(out);
    for (const f of ["fig-style-space.html", "fig-style-space-images.csv", "fig-style-space-ari.csv", "fig-exemplars-grid.png", "fig-exemplars-anatomy.csv", "fig-interpolation-cosine.html", "fig-interpolation-path.csv", "fig-interpolation.md"]) {
      assert.ok(files.includes(f), `${f} written`);
    }
    rmSync(out, { recursive: true, force: true });

    // A second run (a fresh process would see the same: the in-memory cache is dropped) reuses
    // the trained run and the cached analysis.
    await releaseStyleFigures();
    const t1 = performance.now();
    const again = await styleSpaceExperiment.run(cfg);
    const secondSeconds = (performance.now() - t1) / 1000;
    assert.equal(again.numbers["trainedNow"], false);
    assert.equal(again.numbers["analysisFromCache"], true);
    assert.equal(again.numbers["ariTrueStyle"], n["ariTrueStyle"]);
    assert.equal(again.runs[0], space.runs[0]);
    assert.ok(secondSeconds < Math.max(5, firstSeconds / 3), `reuse is fast (${secondSeconds.toFixed(1)} s vs ${firstSeconds.toFixed(1)} s)`);
  } finally {
    await releaseStyleFigures();
    rmSync(runsDir, { recursive: true, force: true });
  }
});
