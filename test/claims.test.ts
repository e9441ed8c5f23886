// Targets: verdicts at, above and below the threshold in both directions, missing numbers, the
// manifest keys and the reading's words; the segmentation figure's targets from its numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { holds, targetLine, targetNumbers, targetsReading, type Target } from "../lib/experiments/framework/claims.js";
import { ANATOMY_TARGET, SEGMENTATION_DICE_TIE, SEGMENTATION_GAIN_TARGET, segmentationTargets } from "../lib/experiments/intrastyler/segmentation.js";

const t = (measured: number | null, op: ">=" | "<=", threshold: number, id = "x"): Target => ({ id, claim: "claim", measure: "m", measured, op, threshold });

test("a target holds at its threshold and on its side of it, and is unmeasured without a finite number", () => {
  assert.equal(holds(t(0.6, ">=", 0.6)), true);
  assert.equal(holds(t(0.5999, ">=", 0.6)), false);
  assert.equal(holds(t(0.61, ">=", 0.6)), true);
  assert.equal(holds(t(0.2, "<=", 0.25)), true);
  assert.equal(holds(t(0.3, "<=", 0.25)), false);
  assert.equal(holds(t(null, ">=", 0.6)), null);
  assert.equal(holds(t(Number.NaN, ">=", 0.6)), null);
  assert.deepEqual(targetNumbers([t(0.7, ">=", 0.6, "a"), t(0.1, ">=", 0.6, "b"), t(null, ">=", 0.6, "c")]), { "target.a": true, "target.b": false, "target.c": null });
  assert.equal(targetLine({ ...t(0.61234, ">=", 0.6), claim: "translations keep the anatomy", measure: "Oracle Dice" }), "translations keep the anatomy: Oracle Dice 0.612 (target >= 0.600): holds");
  const r = targetsReading([t(0.7, ">=", 0.6, "a"), t(0.1, ">=", 0.6, "b")], "quick");
  assert.match(r, /^Targets at the quick profile \(1 of 2 hold\): /);
  assert.match(r, /fails\.$/);
  assert.equal(targetsReading([], "quick"), "");
});

test("the segmentation figure's targets: gains over NoAdapt, IntraStyler against the baselines overall and on ukm, anatomy kept", () => {
  const methods = ["NoAdapt", "NoDiverse", "MultiNets", "Unified", "IntraStyler", "Oracle"];
  const numbers = {
    "dice3.NoAdapt": 0.3,
    "dice3.NoDiverse": 0.45,
    "dice3.MultiNets": 0.39,
    "dice3.Unified": 0.41,
    "dice3.IntraStyler": 0.445,
    "dice3ukm.IntraStyler": 0.4,
    "dice3ukm.Unified": 0.42,
    "dice3ukm.MultiNets": 0.3,
    "anatomy.NoDiverse": 0.65,
    "anatomy.IntraStyler": 0.5,
  };
  const targets = segmentationTargets(numbers, methods);
  const v = Object.fromEntries(targets.map((x) => [x.id, holds(x)]));
  assert.equal(SEGMENTATION_GAIN_TARGET, 0.1);
  assert.equal(ANATOMY_TARGET, 0.6);
  assert.deepEqual(v, {
    "gainOverNoAdapt.NoDiverse": true, // 0.15
    "gainOverNoAdapt.MultiNets": false, // 0.09
    "gainOverNoAdapt.Unified": true, // 0.11
    "gainOverNoAdapt.IntraStyler": true, // 0.145
    intraStylerVsNoDiverse: true, // -0.005, within the tie margin
    intraStylerVsUnifiedOnUkm: false, // -0.02
    intraStylerVsMultiNetsOnUkm: true,
    "anatomyKept.NoDiverse": true,
    "anatomyKept.IntraStyler": false,
  });
  assert.ok(SEGMENTATION_DICE_TIE > 0.005 && SEGMENTATION_DICE_TIE < 0.02);
  // An arm that did not run has no targets; a missing number is "not measured".
  const partial = segmentationTargets({ "dice3.NoAdapt": 0.3 }, ["NoAdapt", "NoDiverse"]);
  assert.deepEqual(partial.map((x) => [x.id, holds(x)]), [["gainOverNoAdapt.NoDiverse", null]]);
});
