// `npm run bench -- real-mri`: is the real-MRI result the kit's or the method's? CUT at the quick
// profile on the Colin27 example (fig-real-mri's data), trained by the kit and by the PyTorch
// peer (bench/peers/real_mri_cut.py) on the very same batches, in one invocation (the two at once,
// one thread each); each test T1 is then translated and scored as fig-real-mri scores it (masked
// SSIM and MAE on the scoring scale, and the masked correlation with the co-registered T2 and with
// the input), next to histogram matching of the inverted T1. Options: `--steps N` (default 1200,
// half decaying), `--set key=value` (CUT options, e.g. lambdaNCE=10; invertSource=true turns the
// T1's contrast round first: the kit by its option, the peer given the turned-round numbers).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { peerEnv } from "./peerEnv.js";
import { initEngine, setEngineThreads } from "../lib/engine/index.js";
import { openDataset } from "../lib/data/openDataset.js";
import { preprocess, unpairedLoader, VolumeStore } from "../lib/data/loader.js";
import { selectSubjects } from "../lib/data/manifest.js";
import { brainExampleData, brainExampleRoot, brainIntensities, pairScorer, realMriPlan, type PairScore } from "../lib/experiments/realMri/realMri.js";
import { histogramMatch } from "../lib/analysis/histogramMatch.js";
import { configFor, createTrainer } from "../lib/methods/registry.js";
import type { CutConfig } from "../lib/methods/cut.js";
import type { TrainBatch } from "../lib/methods/trainer.js";
import { linearDecaySchedule } from "../lib/optim/schedule.js";
import { translateVolume } from "../lib/inference/translate.js";
import { readNifti, readNiftiLabels } from "../lib/volume/niftiRead.js";
import { makeVolume, type Volume } from "../lib/volume/volume.js";

export interface RealMriBenchOptions {
  steps?: number;
  overrides?: Record<string, unknown>;
}

/** Brain voxels (above the normalised background, -1) negated: the T1's contrast turned round, as invertSource does. */
const invertBrain = (x: Float32Array): Float32Array => Float32Array.from(x, (v) => (v > -1 ? -v : -1));

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function runPeer(dir: string): Promise<{ secondsPerStep: number; torch: string; losses: Record<string, number> }> {
  const script = fileURLToPath(new URL("./peers/real_mri_cut.py", import.meta.url));
  const python = process.env["UNPAIRED_PYTHON"] ?? "/usr/bin/python3";
  return new Promise((resolvePeer, reject) => {
    const child = spawn(python, [script, "--dir", dir], { env: peerEnv(1), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`the PyTorch peer failed (${python} ${script}): ${err.trim().split("\n").pop() ?? code}`));
      else resolvePeer(JSON.parse(out.trim().split("\n").pop()!));
    });
  });
}

export async function benchRealMri(opts: RealMriBenchOptions = {}): Promise<void> {
  const steps = opts.steps ?? 1200;
  const plan = realMriPlan("quick", 0);
  const { manifest, pairs } = await brainExampleData(brainExampleRoot(), plan.data);
  const dataset = await openDataset(manifest);
  const cfg = configFor("cut", "quick", dataset, { constantSteps: Math.floor(steps / 2), decaySteps: steps - Math.floor(steps / 2), ...opts.overrides }) as CutConfig;
  const total = cfg.constantSteps + cfg.decaySteps;
  const invert = cfg.invertSource;
  const dir = mkdtempSync(join(tmpdir(), "unpaired-real-mri-"));
  try {
    // Test volumes, normalised as training sees them; the peer's turned round with invertSource.
    const tests = await Promise.all(
      pairs.map(async (p) => {
        const raw = await readNifti(p.t1);
        const mask = (await readNiftiLabels(p.mask)).data;
        const t1 = preprocess(raw, undefined).image;
        return { id: p.id, t1, mask, score: pairScorer(t1, await readNifti(p.t2), mask) };
      }),
    );
    // The batches, drawn once: the kit trains on them in memory, the peer reads the same numbers
    // (turned round with invertSource, which the kit does itself).
    const loader = unpairedLoader(new VolumeStore(), dataset, { patch: cfg.patch, batchSize: 1, seed: cfg.seed });
    const batches: TrainBatch[] = [];
    const per = cfg.patch[0]! * cfg.patch[1]!;
    const source = new Float32Array(total * per);
    const target = new Float32Array(total * per);
    for (let s = 0; s < total; s++) {
      const b = await loader.next();
      source.set(invert ? invertBrain(b.source.images) : b.source.images, s * per);
      target.set(b.target.images, s * per);
      batches.push(b);
    }
    writeFileSync(join(dir, "source.f32"), source);
    writeFileSync(join(dir, "target.f32"), target);
    tests.forEach((t, k) => writeFileSync(join(dir, `input-${k}.f32`), invert ? invertBrain(t.t1.data) : t.t1.data));
    writeFileSync(join(dir, "meta.json"), JSON.stringify({ config: cfg, patch: [...cfg.patch].reverse(), tests: tests.map((t, k) => ({ k, shape: t.t1.shape })) }));

    console.log(`real-mri: CUT (quick: ngf ${cfg.ngf}, ndf ${cfg.ndf}, patch ${cfg.patch.join("x")}, lambdaNCE ${cfg.lambdaNCE}), ${total} steps on the same batches${invert ? ", the T1 turned round first (invertSource)" : ""}; kit and PyTorch at once, one thread each ...`);
    const peer = runPeer(dir);
    await initEngine({ backend: "torch", quiet: true });
    setEngineThreads(1);
    const trainer = createTrainer(cfg);
    const schedule = linearDecaySchedule({ constantSteps: cfg.constantSteps, decaySteps: cfg.decaySteps });
    const t0 = performance.now();
    let last: Record<string, number> = {};
    for (let s = 0; s < total; s++) {
      trainer.setLearningRateFactor(schedule(s));
      last = await trainer.step(batches[s]!);
    }
    const kitSeconds = (performance.now() - t0) / 1000 / total;
    const kitOut = tests.map((t) => translateVolume(trainer, cfg, t.t1));
    trainer.dispose();
    const p = await peer;

    const reference = await brainIntensities(selectSubjects(dataset, { role: "target", split: "train" }).map((s) => s.image));
    const rows: Record<string, PairScore[]> = { "histogram matching": [], kit: [], PyTorch: [] };
    tests.forEach((t, k) => {
      const hist = makeVolume(histogramMatch(t.t1.data, reference, { mask: t.mask, invert: true, background: -1 }), t.t1.shape, t.t1.spacing, t.t1.affine);
      rows["histogram matching"]!.push(t.score(hist));
      rows["kit"]!.push(t.score(kitOut[k]!));
      const buf = readFileSync(join(dir, `translation-${k}.f32`));
      rows["PyTorch"]!.push(t.score(makeVolume(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4), t.t1.shape, t.t1.spacing, t.t1.affine)));
    });
    const f = (v: number) => (v >= 0 ? " " : "") + v.toFixed(3);
    console.log(`\n${"".padEnd(20)}  SSIM    MAE     corr(T2)  corr(T1 input)   (means over ${tests.length} test subjects)`);
    for (const [name, rs] of Object.entries(rows)) {
      console.log(`${name.padEnd(20)} ${f(mean(rs.map((r) => r.ssim)))}  ${f(mean(rs.map((r) => r.mae)))}  ${f(mean(rs.map((r) => r.correlation.truth)))}    ${f(mean(rs.map((r) => r.correlation.input)))}`);
    }
    const ks = mean(rows["kit"]!.map((r) => r.ssim));
    const ps = mean(rows["PyTorch"]!.map((r) => r.ssim));
    console.log(`\nkit - PyTorch: SSIM ${f(ks - ps)}, correlation with the T2 ${f(mean(rows["kit"]!.map((r) => r.correlation.truth)) - mean(rows["PyTorch"]!.map((r) => r.correlation.truth)))}`);
    console.log(`seconds per step: kit ${kitSeconds.toFixed(3)}, PyTorch ${p.secondsPerStep.toFixed(3)} (torch ${p.torch}; ratio ${(kitSeconds / p.secondsPerStep).toFixed(2)}, both running at once)`);
    console.log(`last step: kit ${JSON.stringify(Object.fromEntries(Object.entries(last).map(([k, v]) => [k, +v.toFixed(3)])))}, PyTorch ${JSON.stringify(Object.fromEntries(Object.entries(p.losses).map(([k, v]) => [k, +v.toFixed(3)])))}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
