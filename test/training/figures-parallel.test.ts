// Parallel figures: experiments in worker processes (runFigures jobs > 1), a cross-process file
// lock so shared trained runs and phantoms are made once, and the longest-first schedule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { withFileLock } from "../../lib/util/fileLock.js";
import { experimentConfig, runFigures, scheduleOrder, type Experiment, type FiguresManifest, type ManifestEntry } from "../../lib/experiments/index.js";
import { EXPERIMENTS as FIXTURES } from "../fixtures/figures-registry.js";

const registry = resolve("test/fixtures/figures-registry.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("withFileLock runs one holder at a time, releases on error, and takes over a dead process's lock", async () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-lock-"));
  const lock = join(dir, "sub", "work.lock");
  const spans: [number, number][] = [];
  const work = (ms: number) => withFileLock(lock, async () => {
    const s = performance.now();
    await sleep(ms);
    spans.push([s, performance.now()]);
    return ms;
  }, { pollMs: 20 });
  assert.deepEqual(await Promise.all([work(120), work(60), work(30)]), [120, 60, 30]);
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], `holders overlapped: ${JSON.stringify(spans)}`);
  assert.ok(!existsSync(lock), "released");

  await assert.rejects(withFileLock(lock, async () => { throw new Error("inside"); }), /inside/);
  assert.ok(!existsSync(lock), "released after an error");

  // A lock whose process has exited (same host) is stale: taken over at once.
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
  writeFileSync(lock, JSON.stringify({ pid: dead, host: hostname(), since: "then" }));
  assert.equal(await withFileLock(lock, async () => "took over", { pollMs: 20 }), "took over");

  // A lock held by a live process is waited for (onWait names it) until it goes.
  writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: hostname(), since: "now" }));
  const waited: number[] = [];
  const t0 = performance.now();
  setTimeout(() => rmSync(lock), 250);
  await withFileLock(lock, async () => undefined, { pollMs: 20, onWait: (h) => waited.push(h.pid) });
  assert.deepEqual(waited, [process.ppid]);
  assert.ok(performance.now() - t0 >= 200, "waited for the holder");
});

test("scheduleOrder puts the longest experiments (by the previous manifest, same profile) first", () => {
  const exp = (name: string) => ({ name }) as Experiment;
  const prev = (experiment: string, seconds: number, profile = "quick") => ({ experiment, seconds, profile }) as ManifestEntry;
  const chosen = ["a", "b", "c", "d"].map(exp);
  assert.deepEqual(scheduleOrder(chosen, [prev("b", 10), prev("c", 300), prev("d", 50, "smoke")], "quick").map((e) => e.name), ["c", "b", "a", "d"]);
  assert.deepEqual(scheduleOrder(chosen, [], "quick").map((e) => e.name), ["a", "b", "c", "d"]);
});

test("figures with 2 jobs: experiments run at once in their own processes, a shared run is trained once, a failure is reported and the rest kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-parallel-"));
  const runsDir = join(dir, "runs");
  const out = join(dir, "figures");
  const config = experimentConfig({ profile: "smoke", seed: 0, runsDir, phantomRoot: join(dir, "toy"), progress: true });
  const shared = FIXTURES.filter((e) => e.name.startsWith("shared"));
  const logs: string[] = [];
  const m = await runFigures({ experiments: FIXTURES, registry, only: shared.map((e) => e.name), jobs: 2, config, out, formats: ["html"], workerEnv: { UNPAIRED_THREADS: "1" }, onLog: (e, l) => logs.push(`${e}: ${l}`) });
  assert.equal(m.jobs, 2);
  assert.equal(m.fullRun, undefined, "a run of some experiments is not a full run");
  assert.ok(m.experiments.every((e) => e.commit === m.commit), "each entry names the commit it was made from");
  assert.deepEqual(m.experiments.map((e) => e.experiment), ["shared-a", "shared-b"]);
  const [a, b] = ["shared-a", "shared-b"].map((n) => JSON.parse(readFileSync(join(runsDir, `log-${n}.json`), "utf8")) as { pid: number; start: number; end: number; trained: boolean; runDir: string; threads: string | null });
  assert.deepEqual([a!.threads, b!.threads], ["1", "1"], "each worker got workerEnv");
  assert.notEqual(a!.pid, b!.pid, "two worker processes");
  assert.notEqual(a!.pid, process.pid);
  assert.ok(Math.max(a!.start, b!.start) < Math.min(a!.end, b!.end), "the two ran at the same time");
  assert.equal(a!.runDir, b!.runDir);
  assert.equal(Number(a!.trained) + Number(b!.trained), 1, "one trained the shared run, the other waited and reused it");
  assert.ok(existsSync(join(a!.runDir, "complete.json")));
  assert.ok(!existsSync(`${a!.runDir}.lock`), "lock released");
  assert.ok(logs.some((l) => /^shared-[ab]: train cut/.test(l)), `progress lines relayed: ${logs.slice(0, 5).join(" | ")}`);
  for (const n of ["shared-a", "shared-b"]) assert.ok(existsSync(join(out, `${n}.md`)));

  await assert.rejects(
    runFigures({ experiments: FIXTURES, registry, only: ["shared-a", "fails"], jobs: 2, config, out, formats: ["html"] }),
    (e: Error & { code?: string }) => e.code === "EXPERIMENT_FAILED" && /fails: this experiment always fails/.test(e.message) && !/at .*figuresWorker/.test(e.message),
  );
  const after = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as FiguresManifest;
  assert.deepEqual(after.experiments.map((e) => e.experiment), ["shared-a", "shared-b"], "the finished experiment's entry is kept");

  const stray = { name: "not-registered", title: "", summary: "", run: async () => { throw new Error("never"); } } as Experiment;
  await assert.rejects(
    runFigures({ experiments: [...FIXTURES, stray], registry, only: ["shared-a", "not-registered"], jobs: 2, config, out }),
    (e: Error & { code?: string }) => e.code === "BAD_OPTION" && /not-registered/.test(e.message),
  );
});
