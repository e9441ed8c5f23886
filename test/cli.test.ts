// The built command line (dist/cli.js, as `npx unpaired-lab` runs it): doctor reports the
// engine, bad input gets one clear line and a non-zero exit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, ...env } });

test("dist/cli.js exists and is executable (npm install builds it; npx runs it directly)", () => {
  assert.ok(existsSync(cli), "run npm install (or npm run build) first");
  assert.ok((statSync(cli).mode & 0o111) !== 0, "dist/cli.js is not executable");
});

test("doctor reports the wasm backend and the replaced kernels", () => {
  const r = run(["doctor"], { UNPAIRED_BACKEND: "" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^wasm backend/);
  assert.match(r.stdout, /kernel Conv2DBackpropFilter \(missing in the backend\)/);
  assert.match(r.stdout, /gradient MirrorPad/);
  assert.equal(r.stderr, "");
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
