// The budget sweep's pieces that need no training: where a claim starts to hold along the sweep,
// the chart (log step axis, one dashed target per series, the profile's budget marked), and the
// reading's verdicts from given points.
import { test } from "node:test";
import assert from "node:assert/strict";
import { budgetSweepResult, budgetWhereItHolds, budgetSweepSteps, type BudgetPoint } from "../lib/experiments/intrastyler/budgetSweep.js";
import { experimentConfig } from "../lib/experiments/framework/types.js";
import { budgetSweepFigure } from "../lib/viz/budgetSweepFigure.js";

const point = (steps: number, anatomy: number, dice3: number): BudgetPoint => ({ steps, anatomy, dice3, trainedNow: false, seconds: 1, runDir: `runs/x-${steps}` });

test("budgetWhereItHolds: the first budget from which the claim holds at every larger one", () => {
  const pts = [point(600, 0.1, 0.2), point(4800, 0.7, 0.5), point(1200, 0.65, 0.3), point(2400, 0.5, 0.4)];
  assert.equal(budgetWhereItHolds(pts, (p) => p.anatomy >= 0.6), 4800, "1200 holds but 2400 drops back");
  assert.equal(budgetWhereItHolds(pts, (p) => p.dice3 >= 0.3), 1200);
  assert.equal(budgetWhereItHolds(pts, (p) => p.dice3 >= 0.9), null);
  assert.equal(budgetWhereItHolds(pts, () => true), 600);
  for (const p of ["smoke", "quick", "paper"] as const) {
    const s = budgetSweepSteps(p);
    assert.ok(s.every((n, i) => n % 2 === 0 && (i === 0 || n > s[i - 1]!)), `${p}: even, increasing step counts`);
  }
});

test("the sweep chart: a log step axis, each series with its dashed target, the profile's budget marked", () => {
  const fig = budgetSweepFigure(
    [
      { name: "anatomy", points: [{ steps: 600, value: 0.1 }, { steps: 1200, value: null }], target: { value: 0.6, label: "target" } },
      { name: "dice", points: [{ steps: 1200, value: 0.3 }, { steps: 600, value: Number.NaN }] },
    ],
    { marker: { steps: 1200, label: "quick" } },
  );
  assert.equal(fig.data.length, 3, "two series and one target line");
  assert.deepEqual(fig.data[0]!["y"], [0.1, null], "a missing value is a gap");
  assert.deepEqual(fig.data[2]!["x"], [600, 1200], "points sorted by steps");
  assert.deepEqual(fig.data[2]!["y"], [null, 0.3], "NaN is a gap, in step order");
  assert.equal((fig.data[1]!["line"] as { dash: string }).dash, "dash");
  assert.deepEqual(fig.data[1]!["y"], [0.6, 0.6]);
  assert.equal((fig.layout["xaxis"] as { type: string }).type, "log");
  assert.equal((fig.layout["shapes"] as { x0: number }[])[0]!.x0, 1200);
  assert.throws(() => budgetSweepFigure([]), /no series/);
  assert.throws(() => budgetSweepFigure([{ name: "a", points: [{ steps: 0, value: 1 }] }]), /steps > 0/);
});

test("the sweep's reading and targets come from its points", () => {
  const cfg = experimentConfig({ profile: "quick", progress: false });
  const r = budgetSweepResult(cfg, [point(600, 0.1, 0.25), point(1200, 0.3, 0.35), point(2400, 0.62, 0.42)], { NoAdapt: 0.3, Oracle: 0.8 }, 5);
  assert.equal(r.numbers["anatomyHoldsFrom"], 2400);
  assert.equal(r.numbers["gainHoldsFrom"], 2400, "0.42 >= 0.3 + 0.1; 0.35 is not");
  assert.equal(r.numbers["target.anatomyKeptAtLargestBudget"], true);
  assert.equal(r.numbers["target.gainAtLargestBudget"], true);
  assert.match(r.reading, /at or above the target 0\.6 from 2400 steps on/);
  const low = budgetSweepResult(cfg, [point(600, 0.1, 0.25), point(1200, 0.3, 0.35)], { NoAdapt: 0.3, Oracle: 0.8 }, 5);
  assert.equal(low.numbers["anatomyHoldsFrom"], null);
  assert.equal(low.numbers["target.anatomyKeptAtLargestBudget"], false);
  assert.match(low.reading, /below the target 0\.6 at every budget of the sweep/);
  assert.equal(r.tables[0]!.rows.length, 3);
});
