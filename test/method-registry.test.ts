// The method registry: one spec per method whose defaults, role and directions agree with the
// trainer it builds; the generic resolver keeps its checks; and no code outside lib/methods asks
// which method a config is (the switches the registry replaced do not come back).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { tf } from "../lib/engine/tf.js";
import { METHODS, PROFILES } from "../lib/methods/config.js";
import { createTrainer, METHOD_SPECS, methodSpec, resolveConfig, totalSteps, translatesBothWays, warmupSteps } from "../lib/methods/registry.js";
import { isStyleTranslator } from "../lib/methods/trainer.js";
import { UnpairedError } from "../lib/util/errors.js";
import { seeded, startSuiteEngine } from "./helpers.js";

before(startSuiteEngine);

/** The smallest networks each method builds on 16 x 16 images. */
const tiny = (method: string): Record<string, unknown> => {
  const spec = methodSpec(method);
  const d = spec.defaults("smoke", 2) as unknown as Record<string, unknown>;
  const over: Record<string, unknown> = { patch: [16, 16] };
  for (const [k, v] of Object.entries({ ngf: 4, ndf: 4, numPatches: 8, base: 4, styleBase: 4, styleDim: 8, diffChannels: 4 })) if (k in d) over[k] = v;
  if ("sites" in d) over["sites"] = ["a", "b"];
  return over;
};

describe("method specs", () => {
  test("every method has a spec under its own name, whose defaults name it at every profile", () => {
    assert.deepEqual(Object.keys(METHOD_SPECS).sort(), [...METHODS].sort());
    for (const m of METHODS) {
      assert.equal(METHOD_SPECS[m].name, m);
      for (const p of PROFILES) for (const dims of [2, 3] as const) {
        const d = METHOD_SPECS[m].defaults(p, dims);
        assert.equal(d.method, m, `${m}/${p}/${dims}D`);
        assert.equal(d.profile, p);
        assert.equal(d.dims, dims);
      }
    }
  });

  test("an unknown method or option is a BAD_CONFIG error naming it", () => {
    assert.throws(() => methodSpec("cyclegun"), (e: unknown) => e instanceof UnpairedError && e.code === "BAD_CONFIG" && /unknown method "cyclegun"; choose one of cyclegan, cut/.test(e.message));
    assert.throws(() => resolveConfig("cut", "smoke", 2, { lambdaNce: 2 }), /cut: unknown option "lambdaNce" for cut/);
    // A spec's own checks run through the generic resolver.
    assert.throws(() => resolveConfig("cut", "smoke", 2, { blocks: 3 }), /nceLayers include 16 \(residual block 5\) but blocks is 3/);
    assert.throws(() => resolveConfig("intrastyler", "smoke", 2, { styleWarmupSteps: 1.5 }), /styleWarmupSteps must be a whole number/);
    assert.throws(() => resolveConfig("syndiff", "smoke", 2, { patch: [34, 34] }), /must be multiples of 4/);
  });

  test("warm-up steps come from the spec: IntraStyler's encoder warm-up, none elsewhere", () => {
    const is = resolveConfig("intrastyler", "quick", 2, { styleWarmupSteps: 7 });
    assert.equal(warmupSteps(is), 7);
    assert.equal(totalSteps(is), 7 + is.constantSteps + is.decaySteps);
    const cut = resolveConfig("cut", "quick", 2);
    assert.equal(totalSteps(cut), cut.constantSteps + cut.decaySteps);
  });

  for (const m of METHODS) {
    test(`${m}: the trainer shows the spec's role, and translates both ways exactly when the spec says so`, () => {
      const spec = methodSpec(m);
      const cfg = resolveConfig(m, "smoke", 2, tiny(m));
      const trainer = createTrainer(cfg);
      try {
        assert.equal(trainer.role, spec.role);
        assert.equal(isStyleTranslator(trainer), m === "intrastyler");
        const x = tf.tensor(seeded(16 * 16, 1), [1, 16, 16, 1]);
        const before = tf.memory().numTensors;
        if (trainer.role === "segmenter") {
          const p = trainer.segment(x);
          const sums = tf.sum(p, -1);
          const s = sums.dataSync();
          assert.ok(s.every((v) => Math.abs(v - 1) < 1e-5), "class probabilities sum to 1");
          tf.dispose([p, sums]);
        } else {
          const opts = spec.preview?.(cfg, x) ?? {};
          const y = trainer.translate(x, opts);
          assert.deepEqual(y.shape, [1, 16, 16, 1]);
          y.dispose();
          if (translatesBothWays(m)) trainer.translate(x, { ...opts, reverse: true }).dispose();
          else assert.throws(() => trainer.translate(x, { ...opts, reverse: true }), /one way only/);
        }
        assert.equal(tf.memory().numTensors, before, "inference leaves no tensors behind");
        x.dispose();
      } finally {
        trainer.dispose();
      }
    });
  }
});

describe("layout", () => {
  /** Every .ts file under a folder. */
  const sources = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? sources(join(dir, f)) : f.endsWith(".ts") ? [join(dir, f)] : []));

  test("no code outside lib/methods switches on a method's name", () => {
    const names = METHODS.join("|");
    const asks = new RegExp(`(method\\s*[!=]==\\s*"(${names})"|"(${names})"\\s*[!=]==\\s*[\\w.]*method\\b|case\\s+"(${names})"\\s*:)`);
    const found: string[] = [];
    for (const f of sources("lib")) {
      if (f.startsWith(join("lib", "methods"))) continue;
      readFileSync(f, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (asks.test(line)) found.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(found, [], "ask the method's spec (methods/registry.ts) instead");
  });
});

test("CLI: `methods` lists every method with its role and what it needs from the data", async () => {
  const { spawnSync } = await import("node:child_process");
  const cli = new URL("../lib/cli.ts", import.meta.url).pathname;
  const r = spawnSync(process.execPath, ["--import", "tsx", cli, "methods"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const heads = r.stdout.trim().split("\n").filter((l) => !l.startsWith(" "));
  assert.deepEqual(heads.map((l) => l.split(/\s+/)[0]), [...METHODS]);
  assert.match(r.stdout, /^segmenter\s+segmenter \(source labels\)$/m);
  assert.match(r.stdout, /^unified\s+translator \(named target sites\)$/m);
  assert.match(r.stdout, /^syndiff\s+translator \(translates both ways\)$/m);
  const bad = spawnSync(process.execPath, ["--import", "tsx", cli, "methods", "extra"], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /methods takes no arguments/);
});
