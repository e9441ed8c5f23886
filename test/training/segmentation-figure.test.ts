// fig-segmentation end to end at the smoke profile in a fresh runs folder: every arm trains and is
// scored, metrics lie in their ranges, the true-style breakdown and every figure are there, and a
// second call reuses every cached run (translators, translations, segmenters) with the same numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experimentConfig } from "../../lib/experiments/index.js";
import {
  SEGMENTATION_BOUNDARY,
  SEGMENTATION_METHODS,
  segmentationFigure,
  segmentationEmptyPenaltyMm,
  segmentationSiteAssignment,
  type SegmentationCaseRow,
} from "../../lib/experiments/intrastyler/segmentation.js";
import type { Subject } from "../../lib/data/manifest.js";

const STRUCTURES = ["intra-meatal VS", "extra-meatal VS", "cochlea"];

test("fig-segmentation (smoke): every arm scored, metrics in range, true-style breakdown, cached runs reused", async () => {
  const runsDir = mkdtempSync(join(tmpdir(), "unpaired-segfig-"));
  const cfg = experimentConfig({ profile: "smoke", runsDir, progress: false, liveDisplay: false });
  const r = await segmentationFigure.run(cfg);
  assert.equal(r.name, "fig-segmentation");
  assert.equal(r.profile, "smoke");

  const cases = r.tables.find((t) => t.name === "cases")!.rows as unknown as SegmentationCaseRow[];
  const caseIds = [...new Set(cases.map((c) => c.case))];
  assert.equal(caseIds.length, 4, "smoke scores one test image per true style");
  for (const m of SEGMENTATION_METHODS) {
    for (const s of [...STRUCTURES, SEGMENTATION_BOUNDARY]) {
      assert.equal(cases.filter((c) => c.method === m && c.structure === s).length, caseIds.length, `${m} / ${s}: one row per test image`);
    }
  }
  const penalty = 49.1;
  for (const c of cases) {
    if (c.structure === SEGMENTATION_BOUNDARY) assert.equal(c.dice, null);
    else assert.ok(c.dice! >= 0 && c.dice! <= 1, `dice ${c.dice}`);
    assert.ok(Number.isFinite(c.assd) && c.assd >= 0 && c.assd <= penalty, `assd ${c.assd} (empty structures count the field-of-view diagonal)`);
  }
  assert.deepEqual([...new Set(cases.map((c) => c.trueStyle))].sort(), ["etz-T2", "ldn-T2", "ukm-T2-a", "ukm-T2-b"]);

  const byStyle = r.tables.find((t) => t.name === "true-style")!.rows;
  assert.equal(byStyle.length, SEGMENTATION_METHODS.length * 4, "a row per method and true style");
  const summary = r.tables.find((t) => t.name === "summary")!.rows;
  for (const m of SEGMENTATION_METHODS) assert.ok(summary.some((s) => s["method"] === m && s["structure"] === "cochlea" && s["metric"] === "dice"));
  assert.ok(summary.some((s) => s["structure"] === SEGMENTATION_BOUNDARY && s["metric"] === "assd"));

  assert.deepEqual(r.figures.map((f) => f.name), ["", "assd", "boundary-assd", "true-style", "examples"]);
  assert.equal(r.images[0]!.name, "example-grid");
  for (const m of SEGMENTATION_METHODS) assert.equal(typeof r.numbers[`dice3.${m}`], "number", `dice3.${m}`);
  assert.equal(typeof r.numbers["intraStylerMinusBestBaseline"], "number");
  assert.ok(r.reading.includes("Median mean Dice"));
  // The Oracle checks the anatomy of each translation arm's translations (2 sources at smoke).
  const anatomy = r.tables.find((t) => t.name === "anatomy")!.rows;
  for (const m of ["NoDiverse", "MultiNets", "Unified", "IntraStyler"]) {
    const rows = anatomy.filter((a) => a["method"] === m);
    assert.equal(rows.length, 2 * STRUCTURES.length, `${m}: 2 checked translations x 3 structures`);
    const mean = rows.reduce((a, x) => a + Number(x["dice"]), 0) / rows.length;
    assert.ok(Math.abs(Number(r.numbers[`anatomy.${m}`]) - mean) < 1e-4, `anatomy.${m} is the mean of its rows`);
  }
  assert.equal(anatomy.filter((a) => a["method"] === "NoAdapt" || a["method"] === "Oracle").length, 0, "untranslated arms have no anatomy check");
  assert.ok(existsSync(join(runsDir, "datasets", readdirSync(join(runsDir, "datasets")).find((f) => f.includes("-online") && !f.endsWith(".json"))!, "anatomy-check", "complete.json")), "IntraStyler's checked translations are cached");
  for (const k of ["gainOverNoAdapt.NoDiverse", "gainOverNoAdapt.IntraStyler", "intraStylerVsNoDiverse", "intraStylerVsUnifiedOnUkm", "intraStylerVsMultiNetsOnUkm", "anatomyKept.NoDiverse", "anatomyKept.IntraStyler"]) {
    assert.equal(typeof r.numbers[`target.${k}`], "boolean", `target.${k}`);
  }
  assert.match(r.reading, /Targets at the smoke profile \(\d of 9 hold\)/);
  assert.ok(r.runs.length >= 10, "translators and segmenters");
  for (const run of r.runs) assert.ok(existsSync(join(run, "complete.json")), `${run} complete`);
  const translations = readdirSync(join(runsDir, "datasets")).filter((f) => f.includes("-synth"));
  assert.ok(translations.length >= 6, "three translated sets with their manifests");

  const firstArms = r.tables.find((t) => t.name === "arms")!.rows;
  for (const a of firstArms) {
    const done = JSON.parse(readFileSync(join(runsDir, String(a["segmenterRun"]), "complete.json"), "utf8")) as Record<string, unknown>;
    const config = (JSON.parse(readFileSync(join(runsDir, String(a["segmenterRun"]), "config.json"), "utf8")) as { config: Record<string, unknown> }).config;
    assert.equal(config["foregroundProbability"], 0.33, `${a["method"]}: every segmenter oversamples foreground alike`);
    assert.equal(done["transform"] !== undefined, a["method"] === "IntraStyler", `${a["method"]}: only IntraStyler translates online`);
  }

  const again = await segmentationFigure.run(cfg);
  const arms = again.tables.find((t) => t.name === "arms")!.rows;
  for (const a of arms) {
    assert.equal(a["segmenterReused"], true, `${a["method"]}: segmenter reused`);
    if (a["translatorReused"] !== null) assert.equal(a["translatorReused"], true, `${a["method"]}: translator reused`);
    assert.equal(a["translationSeconds"], 0, `${a["method"]}: translations reused`);
  }
  assert.deepEqual(again.runs, r.runs);
  const strip = (n: Record<string, unknown>) => Object.fromEntries(Object.entries(n).filter(([k]) => !k.startsWith("seconds.")));
  assert.deepEqual(strip(again.numbers), strip(r.numbers), "a reused run scores the same");
});

test("sources are dealt to the named sites evenly, the same way for a seed", () => {
  const sources = Array.from({ length: 9 }, (_, i) => ({ id: `s${i}` }) as Subject);
  const a = segmentationSiteAssignment(sources, ["etz", "ldn", "ukm"], 0);
  assert.deepEqual(a, segmentationSiteAssignment(sources, ["etz", "ldn", "ukm"], 0));
  const counts: Record<string, number> = {};
  for (const s of a.values()) counts[s] = (counts[s] ?? 0) + 1;
  assert.deepEqual(counts, { etz: 3, ldn: 3, ukm: 3 });
  const b = segmentationSiteAssignment(sources, ["etz", "ldn", "ukm"], 1);
  assert.notDeepEqual(sources.map((s) => a.get(s.id)), sources.map((s) => b.get(s.id)), "another seed deals differently");
  assert.ok(Math.abs(segmentationEmptyPenaltyMm({ shape: [64, 64, 32], spacing: [0.41, 0.41, 1] }) - 49.0) < 0.1);
});
