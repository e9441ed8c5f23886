// The built command line (dist/cli.js, as `npx unpaired-lab` runs it): doctor reports the
// engine, bad input gets one clear line and a non-zero exit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, ...env } });

test("dist/cli.js exists and is executable (npm install builds it; npx runs it directly)", () => {
  assert.ok(existsSync(cli), "run npm install (or npm run build) first");
  assert.ok((statSync(cli).mode & 0o111) !== 0, "dist/cli.js is not executable");
});

test("doctor reports the wasm backend and the replaced kernels, and why torch does not run", () => {
  const r = run(["doctor"], { UNPAIRED_BACKEND: "wasm" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^wasm backend/);
  assert.match(r.stdout, /kernel Conv2DBackpropFilter \(missing in the backend\)/);
  assert.match(r.stdout, /gradient MirrorPad/);
  assert.match(r.stdout, /torch: (built \(against .+\) but not chosen: UNPAIRED_BACKEND=wasm|not running .*apt-get install libtorch-dev g\+\+)/);
  assert.equal(r.stderr, "");
});

test("doctor on the default engine: torch with its version, device and threads where its addon is built", (t) => {
  const r = run(["doctor"], { UNPAIRED_BACKEND: "", UNPAIRED_THREADS: "1" });
  assert.equal(r.status, 0, r.stderr);
  if (!/^torch backend/.test(r.stdout)) {
    if (process.env["UNPAIRED_REQUIRE_TORCH"] === "1") assert.fail(`torch required, doctor says: ${r.stdout}`);
    return t.skip(`torch engine not built: ${r.stdout.split("\n")[0]}`);
  }
  assert.match(r.stdout, /^torch backend \(libtorch \d+\.\d+\.\d+, (cpu|cuda:\d+)[^,]*, 1 thread\)/);
  assert.match(r.stdout, /torch: libtorch \S+ built against .+, device (cpu|cuda:\d+).*, 1 thread \(UNPAIRED_THREADS\), conv layout auto/);
});

test("a backend that is not installed: one line, exit 1, no stack trace", () => {
  const r = run(["doctor"], { UNPAIRED_BACKEND: "tensorflow" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^unpaired-lab: error \[BACKEND_UNAVAILABLE\]/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test("an unknown command prints usage and exits 2", () => {
  const r = run(["frobnicate"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.match(r.stderr, /usage: unpaired-lab/);
});

test("`<command> --help` prints usage and exits 0, whatever else is on the line", () => {
  for (const args of [["figures", "--help"], ["train", "--method", "cut", "-h"]]) {
    const r = run(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /usage: unpaired-lab/);
  }
});

test("figures: a bad --jobs is one clear line before any work", () => {
  for (const bad of ["0", "two", "1.5"]) {
    const r = run(["figures", "--jobs", bad, "--profile", "smoke", "--out", join(tmpdir(), "never-written")]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`error \\[BAD_OPTION\\]: figures: --jobs must be a whole number >= 1 \\(got "${bad.replace(".", "\\.")}"\\)`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test("phantom writes NIfTI files and a manifest that validate accepts; the same seed gives the same bytes", () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-cli-"));
  const a = run(["phantom", "--kind", "toy", "--count", "2", "--shape", "24,20", "--seed", "3", "--out", join(dir, "a")]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout.trim(), join(dir, "a", "manifest.json"));
  assert.match(a.stderr, /phantom toy \[#+\] 12\/12 100% in /);
  const b = run(["phantom", "--kind", "toy", "--count", "2", "--shape", "24,20", "--seed", "3", "--out", join(dir, "b"), "--quiet"]);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stderr, "");
  const files = readdirSync(join(dir, "a")).sort();
  assert.equal(files.length, 12 * 2 + 1);
  for (const f of files) if (f.endsWith(".nii.gz")) assert.deepEqual(readFileSync(join(dir, "b", f)), readFileSync(join(dir, "a", f)), f);
  const v = run(["validate", "--manifest", join(dir, "a", "manifest.json")]);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^toy-phantom: 12 subjects under .*, all files present and consistent/);
  assert.match(v.stdout, /geometry-B\/geometry\/train: 1/);
});

test("phantom and validate: bad options and bad data are one clear line each", () => {
  const cases: [string[], RegExp][] = [
    [["phantom", "--out", "x"], /error \[BAD_OPTION\]: phantom: --kind must be one of crossmoda, axon, toy$/m],
    [["phantom", "--kind", "mri", "--out", "x"], /--kind must be one of crossmoda, axon, toy \(got "mri"\)/],
    [["phantom", "--kind", "toy"], /--out DIR is required/],
    [["phantom", "--kind", "crossmoda", "--out", "x", "--count", "lots"], /--count lots: expected a number or name=number pairs/],
    [["phantom", "--kind", "crossmoda", "--out", "x", "--shape", "64,x"], /--shape 64,x: expected numbers separated by commas/],
    [["phantom", "--kind", "toy", "--out", "x", "--colour", "red"], /phantom: Unknown option '--colour'/],
    [["validate"], /validate: --manifest FILE is required/],
    [["validate", "--manifest", "/nonexistent/m.json"], /error \[FILE_NOT_FOUND\]: \/nonexistent\/m\.json: no such manifest/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  const dir = mkdtempSync(join(tmpdir(), "unpaired-cli-"));
  writeFileSync(join(dir, "m.json"), JSON.stringify({ id: "x", dimensions: 3, labels: { "0": "bg" }, domains: {}, subjects: [] }));
  const r = run(["validate", "--manifest", join(dir, "m.json")]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error \[BAD_MANIFEST\]: .*m\.json: 1 problem\(s\):\n  - \(top level\): a manifest needs 'subjects'/);
});

test("train, resume and translate through the command line; bad options fail before work", () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-cli-train-"));
  const ph = run(["phantom", "--kind", "toy", "--count", "2", "--shape", "32,32", "--out", join(dir, "toy"), "--quiet"]);
  assert.equal(ph.status, 0, ph.stderr);
  const manifest = join(dir, "toy", "manifest.json");
  const common = ["--manifest", manifest, "--profile", "smoke", "--set", "patch=16,16", "--set", "ngf=4", "--set", "ndf=4", "--set", "numPatches=8"];
  const t = run(["train", "--method", "cut", ...common, "--out", join(dir, "run"), "--quiet"]);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /finished at step 4: /);
  const again = run(["train", "--method", "cut", ...common, "--out", join(dir, "run"), "--quiet"]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds a run; pass --resume to continue it/);
  const resumed = run(["train", "--manifest", manifest, "--out", join(dir, "run"), "--resume", "--quiet"]);
  assert.equal(resumed.status, 0, resumed.stderr);
  const input = readdirSync(join(dir, "toy")).find((f) => f.endsWith("_A_0000.nii.gz"))!;
  const tr = run(["translate", "--run", join(dir, "run"), "--input", join(dir, "toy", input), "--out", join(dir, "out.nii.gz"), "--quiet"]);
  assert.equal(tr.status, 0, tr.stderr);
  assert.ok(existsSync(join(dir, "out.nii.gz")));
  // --output, the earlier name of --out, still works and writes the same volume.
  const alias = run(["translate", "--run", join(dir, "run"), "--input", join(dir, "toy", input), "--output", join(dir, "out2.nii.gz"), "--quiet"]);
  assert.equal(alias.status, 0, alias.stderr);
  assert.ok(readFileSync(join(dir, "out.nii.gz")).equals(readFileSync(join(dir, "out2.nii.gz"))));
  const cases: [string[], RegExp][] = [
    [["train", "--method", "cutt", "--manifest", manifest, "--out", join(dir, "x")], /--method must be one of cyclegan, cut, fastcut/],
    [["train", "--method", "cut", "--manifest", manifest, "--out", join(dir, "x"), "--set", "lambdaNce=2"], /error \[BAD_CONFIG\]: cut: unknown option "lambdaNce" for cut/],
    [["train", "--method", "cut", "--manifest", manifest, "--out", join(dir, "x"), "--profile", "fast"], /--profile must be one of smoke, quick, paper/],
    [["translate", "--run", join(dir, "nope"), "--input", "a", "--output", "b"], /not a run folder \(no config\.json\)/],
    [["translate", "--run", join(dir, "run"), "--input", "a", "--out", "b", "--output", "c"], /give --out FILE once/],
    [["translate", "--run", join(dir, "run"), "--input", "a"], /--out FILE is required/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.ok(!existsSync(join(dir, "x")), "a rejected run writes nothing");
});
