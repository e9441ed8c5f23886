// Backend choice and its errors: the order, forcing with UNPAIRED_BACKEND, clear errors for a
// backend that is not there or a name that is not a backend, layouts the kernel pack refuses,
// and a training loop whose live tensor count does not grow from step to step (the 200-step
// torch training runs are in test/training/torch-memory.test.ts).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { UnpairedError, describeEngine, engineInfo, initEngine, tf } from "../lib/index.js";
import { ResnetGenerator } from "../lib/models/resnetGenerator.js";
import { Rng } from "../lib/util/random.js";
import { loadTorchAddon } from "../lib/engine/torch/native.js";
import { spawnSync } from "node:child_process";
import { liveCounts, seeded, torchAvailable } from "./helpers.js";
import { torchHostCache } from "../lib/engine/index.js";
import { createTrainer } from "../lib/methods/index.js";
import { resolveConfig } from "../lib/methods/registry.js";

async function withEnv<T>(value: string | undefined, f: () => Promise<T>): Promise<T> {
  const old = process.env["UNPAIRED_BACKEND"];
  if (value === undefined) delete process.env["UNPAIRED_BACKEND"];
  else process.env["UNPAIRED_BACKEND"] = value;
  try {
    return await f();
  } finally {
    if (old === undefined) delete process.env["UNPAIRED_BACKEND"];
    else process.env["UNPAIRED_BACKEND"] = old;
  }
}

describe("initEngine", () => {
  test("the default is torch when its addon is built, else wasm, saying why the ones before were skipped", async () => {
    let torchBuilt = true;
    try {
      loadTorchAddon();
    } catch {
      torchBuilt = false;
    }
    if (process.env["UNPAIRED_REQUIRE_TORCH"] === "1") assert.ok(torchBuilt, "UNPAIRED_REQUIRE_TORCH=1 but the torch addon does not load");
    const info = await withEnv(undefined, () => initEngine({ quiet: true }));
    assert.equal(info.forced, false);
    assert.equal(engineInfo(), info);
    if (torchBuilt) {
      assert.equal(info.backend, "torch");
      assert.equal(tf.getBackend(), "torch");
      assert.deepEqual(info.skipped, []);
      assert.ok(info.threads >= 1);
      assert.match(info.device, /^(cpu|cuda:\d+)$/);
      assert.match(describeEngine(info), /^torch backend \(libtorch \d+\.\d+/);
    } else {
      assert.equal(info.backend, "wasm");
      assert.match(info.skipped.map((s) => `${s.backend}: ${s.reason}`).join(" "), /torch: .*libtorch-dev.*tensorflow: .*tfjs-node not installed/);
    }
  });

  test("forced wasm runs the kit's kernel pack and gradient fixes on one thread", async () => {
    const info = await withEnv("wasm", () => initEngine({ quiet: true }));
    assert.equal(info.backend, "wasm");
    assert.equal(tf.getBackend(), "wasm");
    assert.equal(info.forced, true);
    assert.ok(info.replacedKernels.length >= 5);
    assert.deepEqual(info.fixedGradients, ["MirrorPad", "Conv3DBackpropInputV2", "Tanh", "Sigmoid", "Exp", "Elu", "LeakyRelu", "Maximum", "Minimum", "Greater", "Less", "LessEqual", "Equal", "NotEqual", "LogicalAnd", "LogicalOr", "LogicalNot", "AvgPoolGrad", "Conv2DBackpropFilter", "Conv3DBackpropFilterV2"]);
    assert.equal(info.threads, 1);
    assert.match(describeEngine(info), /^wasm backend \(@tensorflow\/tfjs-backend-wasm 4\.22\.0/);
  });

  test("a malformed UNPAIRED_THREADS or UNPAIRED_DEVICE is an error naming the variable, not a silent fallback", async (t) => {
    try {
      loadTorchAddon();
    } catch (e) {
      if (process.env["UNPAIRED_REQUIRE_TORCH"] === "1") throw e;
      return t.skip(`torch engine not built: ${e instanceof Error ? e.message : e}`);
    }
    // The torch backend validates these once, when it first starts: check them in a fresh process.
    const script = `import { initEngine } from ${JSON.stringify(new URL("../lib/engine/index.js", import.meta.url).href)}; try { await initEngine({ quiet: true }); console.log("started"); } catch (e) { console.log(e.code + " " + e.message); }`;
    for (const [name, value, pattern] of [["UNPAIRED_THREADS", "zero", /BAD_OPTION UNPAIRED_THREADS=zero/], ["UNPAIRED_DEVICE", "tpu", /BAD_OPTION UNPAIRED_DEVICE=tpu/], ["UNPAIRED_CPU_CACHE_MB", "lots", /BAD_OPTION UNPAIRED_CPU_CACHE_MB=lots/]] as const) {
      const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, UNPAIRED_BACKEND: "", [name]: value } });
      assert.match(r.stdout, pattern, r.stderr);
    }
  });

  test("UNPAIRED_BACKEND=cpu forces the cpu backend, and wasm can be forced back", async () => {
    const cpu = await withEnv("cpu", () => initEngine({ quiet: true }));
    assert.equal(cpu.backend, "cpu");
    assert.equal(cpu.forced, true);
    assert.equal(tf.getBackend(), "cpu");
    const wasm = await initEngine({ backend: "wasm", quiet: true });
    assert.equal(wasm.backend, "wasm");
    assert.equal(tf.getBackend(), "wasm");
  });

  test("asking for tensorflow when it is not installed is a clear error", async () => {
    await assert.rejects(
      withEnv("tensorflow", () => initEngine({ quiet: true })),
      (e: unknown) =>
        e instanceof UnpairedError &&
        e.code === "BACKEND_UNAVAILABLE" &&
        /tfjs-node/.test(e.message) &&
        /unset UNPAIRED_BACKEND/.test(e.message),
    );
  });

  test("a name that is not a backend is a clear error naming the variable", async () => {
    await assert.rejects(
      withEnv("webgpu", () => initEngine({ quiet: true })),
      (e: unknown) => e instanceof UnpairedError && e.code === "BAD_OPTION" && /UNPAIRED_BACKEND=webgpu/.test(e.message),
    );
  });
});

describe("kernel pack refuses what it cannot do correctly", () => {
  test("channels-first filter gradient is an error, not wrong numbers", async () => {
    await initEngine({ backend: "wasm", quiet: true });
    const x = tf.zeros([1, 2, 5, 5]);
    const dy = tf.zeros([1, 3, 5, 5]);
    assert.throws(
      () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { strides: 1, pad: "same", filterShape: [3, 3, 2, 3], dataFormat: "NCHW" }),
      (e: unknown) => e instanceof UnpairedError && e.code === "KERNEL_UNSUPPORTED" && /channels-last/.test(e.message),
    );
    tf.dispose([x, dy]);
  });
});

describe("training loop memory", () => {
  for (const dims of [2, 3] as const) {
    test(`live tensors and wasm buffers stay constant over Adam steps (${dims}D generator)`, async () => {
      await initEngine({ backend: "wasm", quiet: true });
      const net = new ResnetGenerator({ dims, inChannels: 1, outChannels: 1, ngf: 4, blocks: 1 }, new Rng(1));
      const shape = dims === 2 ? [1, 16, 16, 1] : [1, 8, 16, 16, 1];
      const n = shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(seeded(n, 1), shape);
      const target = tf.tensor(seeded(n, 2), shape);
      const opt = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
      const losses: number[] = [];
      const step = () => {
        const loss = opt.minimize(() => tf.mean(tf.abs(tf.sub(net.apply(x), target))) as tf.Scalar, true, net.parameters())!;
        losses.push(loss.dataSync()[0]!);
        loss.dispose();
      };
      step(); // Adam creates its moment variables on the first step
      const after1 = liveCounts();
      for (let i = 0; i < 4; i++) step();
      assert.deepEqual(liveCounts(), after1);
      assert.ok(losses.every(Number.isFinite));
      opt.dispose();
      tf.dispose([x, target]);
      net.dispose();
    });
  }
});

describe("torch host cache", () => {
  test("a freed block is handed out again, and a training step in steady state allocates nothing new", async (t) => {
    const avail = await torchAvailable();
    if (!avail.ok) return t.skip(avail.reason);
    await initEngine({ backend: "torch", quiet: true });
    const c0 = torchHostCache()!;
    assert.ok(c0.enabled && c0.limitBytes > 0, "on by default");
    const a = tf.fill([1 << 20], 1.5); // 4 MiB
    a.dispose();
    const before = torchHostCache()!;
    assert.ok(before.idleBytes >= 4 << 20, "the freed block is kept");
    const b = tf.fill([1 << 20], 2.5);
    const after = torchHostCache()!;
    assert.equal(after.hits, before.hits + 1, "the same size is served from the cache");
    assert.deepEqual(Array.from(b.dataSync().slice(0, 3)), [2.5, 2.5, 2.5], "and holds the new values");
    b.dispose();

    const cfg = resolveConfig("cut", "smoke", 2, { patch: [64, 64], ngf: 8, ndf: 8, numPatches: 16 });
    const trainer = createTrainer(cfg);
    const rng = new Rng("host-cache");
    const shape = [1, 64, 64, 1];
    const image = () => ({ images: Float32Array.from({ length: 64 * 64 }, () => Math.tanh(rng.normal())), shape, subjects: [] });
    for (let i = 0; i < 3; i++) await trainer.step({ source: image(), target: image() });
    const warm = torchHostCache()!;
    for (let i = 0; i < 5; i++) await trainer.step({ source: image(), target: image() });
    const steady = torchHostCache()!;
    trainer.dispose();
    assert.ok(steady.hits > warm.hits, "steps reuse blocks");
    assert.equal(steady.misses, warm.misses, "no fresh large allocation once the first steps have run");
    assert.ok(steady.idleBytes <= steady.limitBytes);
  });

  test("UNPAIRED_CPU_CACHE_MB sets the limit; 0 turns the cache off", async (t) => {
    const avail = await torchAvailable();
    if (!avail.ok) return t.skip(avail.reason);
    const script = `import { initEngine, torchHostCache, tf } from ${JSON.stringify(new URL("../lib/engine/index.js", import.meta.url).href)}; await initEngine({ backend: "torch", quiet: true }); tf.fill([1 << 20], 1).dispose(); console.log(JSON.stringify(torchHostCache()));`;
    const run = (mb: string) => {
      const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, UNPAIRED_CPU_CACHE_MB: mb } });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split("\n").pop()!) as { enabled: boolean; idleBytes: number; limitBytes: number };
    };
    const off = run("0");
    assert.equal(off.enabled, false);
    assert.equal(off.idleBytes, 0);
    const small = run("2");
    assert.equal(small.limitBytes, 2 << 20);
    assert.equal(small.idleBytes, 0, "a 4 MiB block does not fit a 2 MiB cache");
    const big = run("64");
    assert.ok(big.idleBytes >= 4 << 20, "and fits a 64 MiB one");
  });
});
