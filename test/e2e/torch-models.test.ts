// End-to-end: the kit's networks against the same layouts built with torch.nn (Debian's
// python3-torch) by test/e2e/torch_models.py. Each case builds a network with a seed, sets every
// parameter (biases and norm scales included) to seeded values of a realistic size, writes the
// parameters (raw float32 per tensor + a JSON index) and an input; the peer loads them by name
// into the PyTorch layout (strictly: the names must be the reference's state_dict keys), runs
// the forward pass in float32 and writes its output. Outputs must agree to
// max |difference| <= 1e-4 x max(1, max |torch|).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "../../lib/engine/index.js";
import { ConditionalResnetGenerator, PatchGan, ResnetGenerator, StyleEncoder, UNet } from "../../lib/models/index.js";
import type { Module } from "../../lib/nn/index.js";
import { Rng } from "../../lib/util/random.js";
import { seeded, size, startWasm } from "../helpers.js";
import { python } from "./python.js";

interface Case {
  name: string;
  kind: "resnet" | "patchgan" | "style" | "unet";
  /** The architecture as the peer reads it (every option spelled out). */
  arch: Record<string, unknown>;
  build: () => Module & { apply: (...a: tf.Tensor[]) => tf.Tensor };
  input: number[];
  cond?: number[];
}

const gen = (dims: 2 | 3, o: Record<string, unknown>) => ({
  dims,
  inChannels: 1,
  outChannels: 1,
  ngf: 4,
  blocks: 2,
  norm: "instance",
  antialias: false,
  upsample: "transpose",
  useBias: true,
  ...o,
});

const CASES: Case[] = [
  (() => {
    const arch = gen(2, { inChannels: 2, outChannels: 3, ngf: 8 });
    return { name: "resnet-2d", kind: "resnet", arch, build: () => new ResnetGenerator(arch as never, new Rng(1)), input: [2, 32, 24, 2] } as Case;
  })(),
  (() => {
    const arch = gen(3, { outChannels: 2, norm: "instance-affine" });
    return { name: "resnet-3d", kind: "resnet", arch, build: () => new ResnetGenerator(arch as never, new Rng(2)), input: [1, 8, 16, 12, 1] } as Case;
  })(),
  (() => {
    const arch = gen(2, { antialias: true, upsample: "blur", blocks: 3 });
    return { name: "resnet-antialias-2d", kind: "resnet", arch, build: () => new ResnetGenerator(arch as never, new Rng(3)), input: [1, 24, 32, 1] } as Case;
  })(),
  (() => {
    const arch = gen(3, { upsample: "resize-conv", useBias: false, inChannels: 2 });
    return { name: "resnet-resize-conv-3d", kind: "resnet", arch, build: () => new ResnetGenerator(arch as never, new Rng(4)), input: [1, 8, 12, 16, 2] } as Case;
  })(),
  (() => {
    const arch = gen(3, { conditionDim: 5, antialias: true });
    return { name: "conditional-resnet-3d", kind: "resnet", arch, build: () => new ConditionalResnetGenerator(arch as never, new Rng(5)), input: [2, 8, 16, 12, 1], cond: [2, 5] } as Case;
  })(),
  (() => {
    const arch = { dims: 2, inChannels: 3, ndf: 8, nLayers: 3, norm: "instance", useBias: true };
    return { name: "patchgan-2d", kind: "patchgan", arch, build: () => new PatchGan(arch as never, new Rng(6)), input: [2, 40, 32, 3] } as Case;
  })(),
  (() => {
    const arch = { dims: 3, inChannels: 1, ndf: 4, nLayers: 2, norm: "instance-affine", useBias: true };
    return { name: "patchgan-3d", kind: "patchgan", arch, build: () => new PatchGan(arch as never, new Rng(7)), input: [1, 16, 16, 20, 1] } as Case;
  })(),
  (() => {
    const arch = { dims: 3, inChannels: 1, base: 4, styleDim: 16, downsamples: 2, norm: "instance" };
    return { name: "style-encoder-3d", kind: "style", arch, build: () => new StyleEncoder(arch as never, new Rng(8)), input: [2, 8, 16, 12, 1] } as Case;
  })(),
  (() => {
    const arch = { dims: 2, inChannels: 2, nClasses: 3, base: 4, depth: 4, maxChannels: 320 };
    return { name: "unet-2d", kind: "unet", arch, build: () => new UNet(arch as never, new Rng(9)), input: [2, 32, 24, 2] } as Case;
  })(),
  (() => {
    const arch = { dims: 3, inChannels: 1, nClasses: 2, base: 4, depth: 3, maxChannels: 12 };
    return { name: "unet-3d", kind: "unet", arch, build: () => new UNet(arch as never, new Rng(10)), input: [1, 8, 16, 12, 1] } as Case;
  })(),
];

/** Seeded values of a realistic size for every parameter: weights uniform with std about
 * 1/sqrt(fan-in) (kit filters are [k.., in, out] or [k.., out, in]: fan-in = all but the
 * last axis, near enough), biases +-0.5, norm scales (the only 1-D weights) 1 +- 0.5. */
function randomise(net: Module, seed: number): void {
  const state = new Map<string, { shape: number[]; data: Float32Array }>();
  net.namedParameters().forEach(([name, v], i) => {
    const u = seeded(v.size, seed * 1000 + i);
    let data: Float32Array;
    if (v.rank >= 2) {
      const fanIn = v.shape.slice(0, -1).reduce((a, b) => a * b, 1);
      data = u.map((x) => (x * Math.sqrt(3)) / Math.sqrt(fanIn));
    } else if (name.endsWith("weight")) {
      data = u.map((x) => 1 + 0.5 * x);
    } else data = u.map((x) => 0.5 * x);
    state.set(name, { shape: v.shape, data });
  });
  net.loadState(state);
}

function writeF32(path: string, data: Float32Array): void {
  writeFileSync(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

describe("the kit's networks compute what the PyTorch layouts compute", () => {
  const root = mkdtempSync(join(tmpdir(), "unpaired-torch-"));
  const ours = new Map<string, { shape: number[]; data: Float32Array }>();

  // Built once, by the first test that needs it; if the peer cannot run (torch missing), every
  // test fails with its message.
  let ready: Promise<void> | undefined;
  const prepared = () => (ready ??= prepare());
  async function prepare(): Promise<void> {
    await startWasm();
    // Fails (does not skip) with the install command when torch or numpy is missing.
    const exe = python(["torch", "numpy"]);
    for (const c of CASES) {
      const dir = join(root, c.name);
      mkdirSync(dir);
      const net = c.build();
      randomise(net, CASES.indexOf(c) + 1);
      const params = net.namedParameters().map(([name, v], i) => {
        writeF32(join(dir, `p${i}.f32`), v.dataSync() as Float32Array);
        return { name, shape: v.shape, file: `p${i}.f32` };
      });
      const xd = seeded(size(c.input), 77);
      writeF32(join(dir, "input.f32"), xd);
      const x = tf.tensor(xd, c.input);
      const args = [x];
      const index: Record<string, unknown> = { kind: c.kind, arch: c.arch, params, input: { shape: c.input, file: "input.f32" } };
      if (c.cond) {
        const cd = seeded(size(c.cond), 78);
        writeF32(join(dir, "cond.f32"), cd);
        args.push(tf.tensor(cd, c.cond));
        index["cond"] = { shape: c.cond, file: "cond.f32" };
      }
      writeFileSync(join(dir, "index.json"), JSON.stringify(index));
      const y = net.apply(...args);
      ours.set(c.name, { shape: y.shape, data: Float32Array.from(y.dataSync() as Float32Array) });
      tf.dispose([...args, y]);
      net.dispose();
    }
    execFileSync(exe, [new URL("torch_models.py", import.meta.url).pathname, root], { stdio: ["ignore", "inherit", "inherit"] });
  }

  after(() => rmSync(root, { recursive: true, force: true }));

  for (const c of CASES) {
    test(c.name, async (t) => {
      await prepared();
      const meta = JSON.parse(readFileSync(join(root, c.name, "output.json"), "utf8")) as { shape: number[]; torch: string };
      const theirs = readF32(join(root, c.name, "output.f32"));
      const mine = ours.get(c.name)!;
      assert.deepEqual(mine.shape, meta.shape, `${c.name}: output shape`);
      let scale = 1;
      let worst = 0;
      for (let i = 0; i < theirs.length; i++) {
        scale = Math.max(scale, Math.abs(theirs[i]!));
        worst = Math.max(worst, Math.abs(mine.data[i]! - theirs[i]!));
      }
      let spread = 0;
      for (let i = 1; i < theirs.length; i++) spread = Math.max(spread, Math.abs(theirs[i]! - theirs[0]!));
      assert.ok(spread > 1e-2, `${c.name}: the torch output varies (a meaningful comparison), spread ${spread}`);
      t.diagnostic(`${c.name}: max |kit - torch ${meta.torch}| = ${worst.toExponential(2)}, max |torch| = ${scale.toFixed(3)}`);
      assert.ok(worst <= 1e-4 * scale, `${c.name}: max |difference| ${worst} exceeds 1e-4 x ${scale}`);
    });
  }
});
