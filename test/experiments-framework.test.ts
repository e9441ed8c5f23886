// The experiment framework: runFigures writes every figure, image and table of a result
// atomically with a manifest naming profile, seed, backend, commit and key numbers; run folders
// are named by a hash of what determines them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { currentCommit } from "../lib/experiments/framework/figures.js";
import { runFigures, runDirFor, experimentConfig, type Experiment, type FiguresManifest } from "../lib/experiments/index.js";
import type { Dataset } from "../lib/data/manifest.js";
import { makeBitmap, decodePng } from "../lib/viz/png.js";

const fake = (name: string, calls: string[]): Experiment => ({
  name,
  title: `Fake ${name}`,
  summary: "a test experiment",
  async run(cfg) {
    calls.push(name);
    return {
      name,
      title: `Fake ${name}`,
      profile: cfg.profile,
      seed: cfg.seed,
      figures: [{ name: "", figure: { data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }], layout: { title: { text: name }, width: 300, height: 200 } } }],
      images: [{ name: "grid", image: makeBitmap(4, 3, 1, [200]) }],
      tables: [{ name: "cases", rows: [{ case: "c1", dice: 0.5 }, { case: "c2", dice: 0.75 }] }],
      numbers: { meanDice: 0.625 },
      reading: "The fake shows nothing.",
      runs: [],
      seconds: 0.01,
    };
  },
});

test("runFigures writes html/png/svg per figure, png per image, csv per table, a reading and the manifest", async () => {
  const out = mkdtempSync(join(tmpdir(), "figs-"));
  const calls: string[] = [];
  const m = await runFigures({ experiments: [fake("one", calls), fake("two", calls)], config: experimentConfig({ profile: "smoke", seed: 3, progress: false }), out });
  assert.deepEqual(calls, ["one", "two"]);
  const files = readdirSync(out).sort();
  for (const f of ["one.html", "one.png", "one.svg", "one-grid.png", "one-cases.csv", "one.md", "two.html", "manifest.json", "plotly.min.js"]) assert.ok(files.includes(f), `${f} written`);
  assert.ok(!files.some((f) => f.includes(".tmp")), "no temporary files left");
  assert.equal(decodePng(readFileSync(join(out, "one-grid.png"))).width, 4);
  assert.equal(readFileSync(join(out, "one-cases.csv"), "utf8").split("\n")[0], "case,dice");
  const onDisk = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as FiguresManifest;
  assert.deepEqual(onDisk, m);
  assert.equal(m.experiments.length, 2);
  assert.equal(m.experiments[0]!.profile, "smoke");
  assert.equal(m.experiments[0]!.seed, 3);
  assert.deepEqual(m.experiments[0]!.numbers, { meanDice: 0.625 });
  assert.match(m.backend ?? "", /^(torch|wasm|cpu|tensorflow) \(/);
  assert.ok(m.experiments[0]!.files.includes("one.png"));
  assert.match(readFileSync(join(out, "one.md"), "utf8"), /The fake shows nothing/);

  // --only keeps the other experiments' entries from the last run.
  const again: string[] = [];
  const m2 = await runFigures({ experiments: [fake("one", again), fake("two", again)], config: experimentConfig({ profile: "smoke", progress: false }), out, only: ["two"], formats: ["html"] });
  assert.deepEqual(again, ["two"]);
  assert.deepEqual(m2.experiments.map((e) => e.experiment), ["one", "two"]);
  // The full run's duration survives a partial re-render; the partial one is the last invocation.
  assert.ok(m.fullRun && m.fullRun.wallSeconds === m.wallSeconds && m.fullRun.jobs === 1 && m.fullRun.profile === "smoke", "a run of every experiment is recorded as the full run");
  assert.deepEqual(m2.fullRun, m.fullRun);
  assert.notEqual(m2.wallSeconds, m.wallSeconds);
  await assert.rejects(runFigures({ experiments: [fake("one", [])], config: experimentConfig({ progress: false }), out, only: ["nope"] }), (e: Error & { code?: string }) => e.code === "BAD_OPTION" && /nope.*one/.test(e.message));
});

test("an experiment run by name only is left out of a plain run, kept in the manifest, and runs when named", async () => {
  const out = mkdtempSync(join(tmpdir(), "figs-"));
  const calls: string[] = [];
  const extra: Experiment = { ...fake("extra", calls), byNameOnly: true };
  await runFigures({ experiments: [fake("one", calls), extra], config: experimentConfig({ profile: "smoke", progress: false }), out, only: ["extra"], formats: ["html"] });
  assert.deepEqual(calls, ["extra"]);
  const m = await runFigures({ experiments: [fake("one", calls), extra], config: experimentConfig({ profile: "smoke", progress: false }), out, formats: ["html"] });
  assert.deepEqual(calls, ["extra", "one"], "a plain run leaves the by-name-only experiment out");
  assert.deepEqual(m.experiments.map((e) => e.experiment), ["one", "extra"], "its earlier entry stays in the manifest");
  assert.ok(m.fullRun, "a plain run of every default experiment counts as a full run");
});

test("a failing experiment leaves the figures already written and no half-written files", async () => {
  const out = mkdtempSync(join(tmpdir(), "figs-"));
  writeFileSync(join(out, "bad.png"), "old");
  const bad: Experiment = { name: "bad", title: "Bad", summary: "fails", run: async () => { throw new Error("boom"); } };
  await assert.rejects(runFigures({ experiments: [fake("ok", []), bad], config: experimentConfig({ progress: false }), out, formats: ["html"] }), /boom/);
  assert.ok(existsSync(join(out, "ok.html")));
  assert.equal(readFileSync(join(out, "bad.png"), "utf8"), "old");
  assert.ok(!readdirSync(out).some((f) => f.includes(".tmp")));
});

test("run folders are named by a hash of the resolved config and the dataset", () => {
  const cfg = experimentConfig({ profile: "smoke", runsDir: "/r" });
  const dataset = (id: string) => ({ id, dimensions: 2, labels: { 0: "background", 1: "axon" }, subjects: [] }) as unknown as Dataset;
  const ear = dataset("ear");
  const a = runDirFor(cfg, { method: "cut", manifest: "m.json" }, ear);
  assert.match(a, /^\/r\/cut-smoke-[0-9a-f]{10}$/);
  assert.equal(runDirFor(cfg, { method: "cut", manifest: "other.json" }, ear), a, "the dataset id counts, not the manifest path");
  assert.notEqual(runDirFor(cfg, { method: "cut", manifest: "m.json", overrides: { lambdaNCE: 2 } }, ear), a);
  assert.equal(runDirFor(cfg, { method: "cut", manifest: "m.json", overrides: { lambdaNCE: 1 } }, ear), a, "an override equal to the default is the default run");
  assert.notEqual(runDirFor({ ...cfg, seed: 1 }, { method: "cut", manifest: "m.json" }, ear), a);
  assert.notEqual(runDirFor({ ...cfg, profile: "quick" }, { method: "cut", manifest: "m.json", label: "cut" }, ear).replace("quick", "smoke"), a, "the profile's defaults count");
  assert.notEqual(runDirFor(cfg, { method: "cut", manifest: "m.json" }, dataset("axon")), a);
  assert.notEqual(runDirFor(cfg, { method: "cut", manifest: "m.json", transform: { name: "x", batch: (b) => b } }, ear), a, "a transform's name counts");
  const o1 = runDirFor(cfg, { method: "cut", manifest: "m.json", overrides: { lambdaNCE: 2, nceTau: 0.1 } }, ear);
  assert.equal(o1, runDirFor(cfg, { method: "cut", manifest: "m.json", overrides: { nceTau: 0.1, lambdaNCE: 2 } }, ear), "key order does not matter");
});

test("currentCommit: the HEAD sha, +dirty when tracked files changed, not counting the figures folder", () => {
  const repo = mkdtempSync(join(tmpdir(), "commit-"));
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@example.org", "-c", "user.name=t", ...args], { cwd: repo, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  git("init", "-q");
  mkdirSync(join(repo, "figures"));
  writeFileSync(join(repo, "code.ts"), "1");
  writeFileSync(join(repo, "figures", "a.md"), "old");
  git("add", ".");
  git("commit", "-q", "-m", "x");
  const sha = git("rev-parse", "HEAD");
  assert.equal(currentCommit(repo, "figures"), sha);
  writeFileSync(join(repo, "figures", "a.md"), "new");
  assert.equal(currentCommit(repo, "figures"), sha, "re-rendered figures do not make the code dirty");
  assert.equal(currentCommit(repo), `${sha}+dirty`);
  assert.equal(currentCommit(join(repo, "figures"), "."), sha, "from inside the folder too");
  writeFileSync(join(repo, "code.ts"), "2");
  assert.equal(currentCommit(repo, "figures"), `${sha}+dirty`);
  assert.equal(currentCommit(tmpdir() + "/no-such-dir"), null);
});
