#!/usr/bin/env node
// The `unpaired-lab` command line. Each command calls the library; errors a user can cause
// print one line that says what to do, never a stack trace.
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { describeEngine, initEngine, torchBuildInfo as buildInfo, torchHostCache, torchStatus } from "./engine/index.js";
import { UnpairedError } from "./util/errors.js";
import { setOptions } from "./util/setOptions.js";
import { ProgressBar } from "./util/progress.js";
import { PHANTOM_KINDS, writePhantom, type PhantomKind } from "./data/phantoms/write.js";
import { loadManifest } from "./data/manifest.js";
import { trainRun } from "./train/run.js";
import { translateFile } from "./inference/translate.js";
import { METHODS, PROFILES, type Profile } from "./methods/config.js";
import { METHOD_SPECS } from "./methods/registry.js";
import { writeBrainExample } from "./data/brainExample.js";
import { preprocess } from "./data/loader.js";
import { selectSubjects } from "./data/manifest.js";
import { histogramMatch } from "./analysis/histogramMatch.js";
import { nonZeroMask, scoreTranslation } from "./analysis/translationScore.js";
import { readNifti, readNiftiLabels } from "./volume/niftiRead.js";
import { writeNifti } from "./volume/niftiWrite.js";
import { makeVolume } from "./volume/volume.js";
import { EXPERIMENTS, brainIntensities, experimentConfig, runFigures } from "./experiments/index.js";

const USAGE = `usage: unpaired-lab <command> [options]

commands:
  doctor        start the tensor engine and report the backend, its device and threads, the
                kernels the kit replaced, or why a faster one was skipped
                (UNPAIRED_BACKEND=torch|tensorflow|wasm|cpu forces one; UNPAIRED_DEVICE=cpu|cuda,
                UNPAIRED_THREADS=N for torch)
  phantom       write a phantom dataset (NIfTI images, labels and manifest.json)
                  --kind crossmoda|axon|toy  --out DIR  [--seed N]
                  [--count N | --count source=60,target=60,targetTest=24]
                  [--shape 64,64,32] [--spacing 0.41,0.41,1] [--quiet]
  validate      check a manifest and every file it names, reporting all problems at once
                  --manifest FILE [--data-root DIR]
  methods       list the methods: each one's role, what it needs from the data, one line on it
  train         train a method on a dataset into a run folder (resumable; Ctrl-C saves)
                  --method cyclegan|cut|fastcut|intrastyler|unified|multinets|nodiverse|segmenter|syndiff
                  --manifest FILE [--data-root DIR] [--profile smoke|quick|paper]
                  --out runs/NAME [--resume] [--set key=value ...] [--quiet]
  translate     translate (or segment) a NIfTI volume with a trained run
                  --run runs/NAME --input FILE --out FILE (--output FILE also works)
                  [--exemplar FILE | --site NAME | --reverse]
  brain-example write unpaired T1 and T2 brain MRI built from Debian's mricron-data (Colin27
                skull-stripped T1, a T2 rendered from its anatomy; test T1s with a co-registered
                T2 and brain mask), plus manifest.json
                  --out DIR  [--templates /usr/share/mricron/templates] [--seed N] [--spacing MM]
                  [--count t1=8,t2=8,test=4] [--deformation MM] [--quiet]
  histmatch     the baseline of a translation: an image histogram-matched to reference images
                (brain voxels, on the training scale [-1, 1]; -1 outside the brain)
                  --input FILE --reference FILE,FILE... | --reference manifest.json (its target
                  training images)  --out FILE  [--invert] [--mask FILE]
  compare       score a translation against a co-registered truth within a mask: SSIM and mean
                absolute error, each image on its own masked percentile scale
                  --prediction FILE --truth FILE [--mask FILE (default: the truth's non-zero voxels)] [--json]
  figures       run the experiments and write figures/ (NAME.html/.png/.svg/.csv/.md and
                manifest.json); trained models are cached in runs/ and reused
                  [--profile smoke|quick|paper] [--only NAME,NAME] [--seed N]
                  [--out figures] [--runs runs] [--data-root DIR] [--jobs N] [--list] [--quiet]
                --jobs N runs N experiments at once, one process each (default: 2, or 1 on a
                single core, each with its share of the cores for torch's threads; 1 on a GPU;
                shared trained runs are trained once)
  help          this text

options:
  --version     print the version`;

async function doctor(): Promise<void> {
  const info = await initEngine({ quiet: true });
  console.log(describeEngine(info));
  const torch = torchStatus();
  if (torch) {
    console.log(`  torch: libtorch ${torch.version} built against ${torch.source}, device ${torch.device}${torch.gpu ? ` (${torch.gpu})` : ""}, ${torch.threads} thread${torch.threads === 1 ? "" : "s"} (UNPAIRED_THREADS), conv layout ${torch.layout} (UNPAIRED_TORCH_LAYOUT)`);
    const cache = torchHostCache();
    if (cache) console.log(`  torch: host cache ${cache.enabled ? `keeps up to ${(cache.limitBytes / 2 ** 30).toFixed(1)} GiB of freed blocks for reuse` : "off"} (UNPAIRED_CPU_CACHE_MB)`);
  } else {
    const b = buildInfo();
    const skipped = info.skipped.find((s) => s.backend === "torch");
    if (b?.ok && !skipped) console.log(`  torch: built (against ${b.libtorch}) but not chosen: UNPAIRED_BACKEND=${info.backend}`);
    else console.log(`  torch: not running (${skipped?.reason ?? b?.reason ?? "the addon is not built"}); for it: apt-get install libtorch-dev g++ (or LIBTORCH=/path/to/libtorch), then npm run build:native`);
  }
  for (const k of info.replacedKernels) console.log(`  kernel ${k.kernel} (${k.reason} in the backend): ${k.via}`);
  for (const g of info.fixedGradients) console.log(`  gradient ${g}: registered by the kit`);
  console.log(`node ${process.version}, ${process.platform} ${process.arch}`);
}

/** Parses a command's options; an unknown or malformed one is a BAD_OPTION naming it. */
function options<T extends Record<string, { type: "string" | "boolean"; multiple?: boolean }>>(command: string, args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UnpairedError("BAD_OPTION", `${command}: ${err instanceof Error ? err.message : String(err)}. See: unpaired-lab help`);
  }
}

function numberList(flag: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const xs = value.split(",").map((v) => Number(v.trim()));
  if (!xs.length || xs.some((x) => !Number.isFinite(x))) throw new UnpairedError("BAD_OPTION", `${flag} ${value}: expected numbers separated by commas, e.g. 64,64,32`);
  return xs;
}

function countOption(value: string | undefined): number | Record<string, number> | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const out: Record<string, number> = {};
  for (const part of value.split(",")) {
    const m = /^\s*([A-Za-z][\w-]*)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m) throw new UnpairedError("BAD_OPTION", `--count ${value}: expected a number or name=number pairs, e.g. source=60,target=60,targetTest=24`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

async function phantom(args: string[]): Promise<void> {
  const o = options("phantom", args, {
    kind: { type: "string" },
    out: { type: "string" },
    seed: { type: "string" },
    count: { type: "string" },
    shape: { type: "string" },
    spacing: { type: "string" },
    quiet: { type: "boolean" },
  });
  if (!o.kind || !PHANTOM_KINDS.includes(o.kind as PhantomKind)) {
    throw new UnpairedError("BAD_OPTION", `phantom: --kind must be one of ${PHANTOM_KINDS.join(", ")}${o.kind ? ` (got "${o.kind}")` : ""}`);
  }
  if (!o.out) throw new UnpairedError("BAD_OPTION", "phantom: --out DIR is required (the folder to write the files and manifest.json into)");
  const seed = o.seed === undefined ? undefined : Number(o.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new UnpairedError("BAD_OPTION", `phantom: --seed ${o.seed} must be a whole number`);
  const count = countOption(o.count);
  const shape = numberList("--shape", o.shape);
  const spacing = numberList("--spacing", o.spacing);
  const bar = new ProgressBar(`phantom ${o.kind}`, 1, { quiet: Boolean(o.quiet) });
  const manifest = await writePhantom(o.kind as PhantomKind, o.out, {
    ...(seed === undefined ? {} : { seed }),
    ...(count === undefined ? {} : { counts: count }),
    ...(shape ? { shape } : {}),
    ...(spacing ? { spacing } : {}),
    onProgress: (e) => bar.update(e),
  });
  bar.finish();
  console.log(manifest);
}

async function brainExample(args: string[]): Promise<void> {
  const o = options("brain-example", args, {
    out: { type: "string" },
    templates: { type: "string" },
    seed: { type: "string" },
    spacing: { type: "string" },
    count: { type: "string" },
    deformation: { type: "string" },
    quiet: { type: "boolean" },
  });
  if (!o.out) throw new UnpairedError("BAD_OPTION", "brain-example: --out DIR is required (the folder to write the volumes and manifest.json into)");
  const num = (flag: string, v: string | undefined, integer: boolean) => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new UnpairedError("BAD_OPTION", `brain-example: --${flag} ${v} must be a ${integer ? "whole " : ""}number`);
    return x;
  };
  const seed = num("seed", o.seed, true);
  const spacing = num("spacing", o.spacing, false);
  const deformation = num("deformation", o.deformation, false);
  const count = countOption(o.count);
  if (typeof count === "number") throw new UnpairedError("BAD_OPTION", "brain-example: --count takes t1=N,t2=N,test=N");
  if (count) for (const k of Object.keys(count)) if (!["t1", "t2", "test"].includes(k)) throw new UnpairedError("BAD_OPTION", `brain-example: unknown count "${k}"; its parts are t1, t2, test`);
  const bar = new ProgressBar("brain-example", 1, { quiet: Boolean(o.quiet) });
  const ex = await writeBrainExample(o.out, {
    ...(o.templates ? { templates: o.templates } : {}),
    ...(seed === undefined ? {} : { seed }),
    ...(spacing === undefined ? {} : { spacing }),
    ...(deformation === undefined ? {} : { deformationMm: deformation }),
    ...(count ? { counts: count } : {}),
    onProgress: (e) => bar.update(e),
  });
  bar.finish();
  console.log(ex.manifestPath);
}

async function histmatchCommand(args: string[]): Promise<void> {
  const o = options("histmatch", args, { input: { type: "string" }, reference: { type: "string" }, out: { type: "string" }, invert: { type: "boolean" }, mask: { type: "string" } });
  for (const k of ["input", "reference", "out"] as const) if (!o[k]) throw new UnpairedError("BAD_OPTION", `histmatch: --${k} is required`);
  const refs = o.reference!.endsWith(".json")
    ? selectSubjects(await loadManifest(o.reference!), { role: "target", split: "train" }).map((s) => s.image)
    : o.reference!.split(",").map((f) => f.trim()).filter((f) => f);
  if (!refs.length) throw new UnpairedError("BAD_OPTION", `histmatch: --reference ${o.reference} names no image (a manifest needs target training subjects)`);
  const pooled = await brainIntensities(refs);
  const raw = await readNifti(o.input!);
  const input = preprocess(raw, undefined).image;
  const mask = o.mask ? (await readNiftiLabels(o.mask)).data : nonZeroMask(raw);
  if (mask.length !== input.data.length) throw new UnpairedError("BAD_VOLUME", `histmatch: ${o.mask} has ${mask.length} voxels and ${o.input} ${input.data.length}; give a mask on the input's grid`);
  const out = histogramMatch(input.data, pooled, { mask, invert: Boolean(o.invert), background: -1 });
  await writeNifti(o.out!, makeVolume(out, input.shape, input.spacing, input.affine), { description: `histogram-matched to ${refs.length} reference(s)` });
  console.log(o.out);
}

async function compareCommand(args: string[]): Promise<void> {
  const o = options("compare", args, { prediction: { type: "string" }, truth: { type: "string" }, mask: { type: "string" }, json: { type: "boolean" } });
  for (const k of ["prediction", "truth"] as const) if (!o[k]) throw new UnpairedError("BAD_OPTION", `compare: --${k} is required`);
  const prediction = await readNifti(o.prediction!);
  const truth = await readNifti(o.truth!);
  const mask = o.mask ? (await readNiftiLabels(o.mask)).data : nonZeroMask(truth);
  if (mask.length !== truth.data.length) throw new UnpairedError("BAD_VOLUME", `compare: ${o.mask} has ${mask.length} voxels and ${o.truth} ${truth.data.length}; give a mask on the truth's grid`);
  if (prediction.shape.some((n, a) => n !== truth.shape[a]) || prediction.shape.length !== truth.shape.length) {
    throw new UnpairedError("BAD_VOLUME", `compare: ${o.prediction} is [${prediction.shape}] and ${o.truth} [${truth.shape}]; the truth must be co-registered with the translated input (same grid)`);
  }
  const s = scoreTranslation(prediction, truth, mask);
  if (o.json) console.log(JSON.stringify({ prediction: o.prediction, truth: o.truth, ...s }));
  else console.log(`masked SSIM ${s.ssim.toFixed(4)}, masked MAE ${s.mae.toFixed(4)} (${s.voxels} voxels in the mask)`);
}

async function validate(args: string[]): Promise<void> {
  const o = options("validate", args, { manifest: { type: "string" }, "data-root": { type: "string" } });
  if (!o.manifest) throw new UnpairedError("BAD_OPTION", "validate: --manifest FILE is required");
  const d = await loadManifest(o.manifest, o["data-root"] === undefined ? {} : { dataRoot: o["data-root"] });
  const byDomain = new Map<string, number>();
  for (const s of d.subjects) byDomain.set(`${s.domain}/${s.site}/${s.split}`, (byDomain.get(`${s.domain}/${s.site}/${s.split}`) ?? 0) + 1);
  console.log(`${d.id}: ${d.subjects.length} subjects under ${d.root}, all files present and consistent`);
  for (const [k, n] of [...byDomain].sort()) console.log(`  ${k}: ${n}`);
}

async function trainCommand(args: string[]): Promise<void> {
  const o = options("train", args, {
    method: { type: "string" },
    manifest: { type: "string" },
    "data-root": { type: "string" },
    profile: { type: "string" },
    out: { type: "string" },
    resume: { type: "boolean" },
    set: { type: "string", multiple: true },
    quiet: { type: "boolean" },
  });
  if (!o.resume && (!o.method || !(METHODS as readonly string[]).includes(o.method))) {
    throw new UnpairedError("BAD_OPTION", `train: --method must be one of ${METHODS.join(", ")}${o.method ? ` (got "${o.method}")` : ""}`);
  }
  if (o.profile && !(PROFILES as readonly string[]).includes(o.profile)) {
    throw new UnpairedError("BAD_OPTION", `train: --profile must be one of ${PROFILES.join(", ")} (got "${o.profile}")`);
  }
  if (!o.manifest) throw new UnpairedError("BAD_OPTION", "train: --manifest FILE is required (e.g. data-manifests/crossmoda-phantom.json)");
  if (!o.out) throw new UnpairedError("BAD_OPTION", "train: --out DIR is required (the run folder, e.g. runs/cut-ear)");
  const r = await trainRun({
    method: o.method ?? "",
    manifest: o.manifest,
    ...(o["data-root"] === undefined ? {} : { dataRoot: o["data-root"] }),
    profile: (o.profile ?? "quick") as Profile,
    out: o.out,
    resume: Boolean(o.resume),
    overrides: setOptions(o.set),
    progress: !o.quiet,
    handleSigint: true,
  });
  r.trainer.dispose();
  console.log(`${r.result.stopped === "interrupted" ? "interrupted" : "finished"} at step ${r.result.steps}: ${r.runDir}`);
}

async function translateCommand(args: string[]): Promise<void> {
  const o = options("translate", args, {
    run: { type: "string" },
    input: { type: "string" },
    out: { type: "string" },
    output: { type: "string" },
    exemplar: { type: "string" },
    site: { type: "string" },
    reverse: { type: "boolean" },
    quiet: { type: "boolean" },
  });
  // --out like every other command; --output, its earlier name, still works.
  if (o.out && o.output && o.out !== o.output) throw new UnpairedError("BAD_OPTION", "translate: give --out FILE once (--output is its other name), not two different files");
  const output = o.out ?? o.output;
  for (const k of ["run", "input"] as const) if (!o[k]) throw new UnpairedError("BAD_OPTION", `translate: --${k} is required`);
  if (!output) throw new UnpairedError("BAD_OPTION", "translate: --out FILE is required (where to write the translated volume)");
  await translateFile({
    run: o.run!,
    input: o.input!,
    output,
    ...(o.exemplar ? { exemplar: o.exemplar } : {}),
    ...(o.site ? { site: o.site } : {}),
    ...(o.reverse ? { reverse: true } : {}),
    progress: !o.quiet,
  });
  console.log(output);
}

async function figuresCommand(args: string[]): Promise<void> {
  const o = options("figures", args, {
    profile: { type: "string" },
    only: { type: "string" },
    seed: { type: "string" },
    out: { type: "string" },
    runs: { type: "string" },
    "data-root": { type: "string" },
    jobs: { type: "string" },
    list: { type: "boolean" },
    quiet: { type: "boolean" },
  });
  if (o.list) {
    for (const e of EXPERIMENTS) console.log(`${e.name.padEnd(20)} ${e.summary}${e.byNameOnly ? " [--only]" : ""}`);
    return;
  }
  const profile = o.profile ?? process.env["UNPAIRED_PROFILE"] ?? "quick";
  if (!(PROFILES as readonly string[]).includes(profile)) throw new UnpairedError("BAD_OPTION", `figures: --profile must be one of ${PROFILES.join(", ")} (got "${profile}")`);
  const seed = o.seed === undefined ? 0 : Number(o.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UnpairedError("BAD_OPTION", `figures: --seed must be a whole number >= 0 (got "${o.seed}")`);
  const only = o.only ? o.only.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
  const out = o.out ?? "figures";
  // The default fits the engine. The single-threaded engines (wasm) get a process per core, at
  // most two. So does torch on a CPU, each process with its share of the cores: at the quick
  // profile's sizes (64x64 slices, 8-32 channels) libtorch's threads cost more than they give
  // (measured on 2 cores: a CUT step 230 ms on one thread, 467 ms on two). torch on a GPU (and
  // libtensorflow) run one experiment at a time.
  const engine = o.jobs === undefined ? await initEngine({ quiet: true }) : null;
  const oneAtATime = engine !== null && (engine.backend === "tensorflow" || (engine.backend === "torch" && engine.device.startsWith("cuda")));
  const jobs = o.jobs === undefined ? (oneAtATime ? 1 : Math.min(2, availableParallelism())) : Number(o.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UnpairedError("BAD_OPTION", `figures: --jobs must be a whole number >= 1 (got "${o.jobs}")`);
  const t0 = performance.now();
  // Each worker's share of the cores for torch's threads (unless UNPAIRED_THREADS says otherwise).
  const workerEnv = jobs > 1 && process.env["UNPAIRED_THREADS"] === undefined ? { UNPAIRED_THREADS: String(Math.max(1, Math.floor(availableParallelism() / jobs))) } : undefined;
  const manifest = await runFigures({
    jobs,
    ...(workerEnv ? { workerEnv } : {}),
    experiments: EXPERIMENTS,
    config: experimentConfig({ profile: profile as Profile, seed, runsDir: o.runs ?? "runs", progress: !o.quiet, liveDisplay: false, ...(o["data-root"] ? { dataRoot: o["data-root"] } : {}) }),
    out,
    ...(only ? { only } : {}),
    onLog: (experiment, line) => {
      if (!o.quiet) console.error(`  ${experiment}: ${line}`);
    },
    onStage: (e) => {
      if (o.quiet) return;
      if (e.state === "start") console.error(`[${e.index + 1}/${e.total}] ${e.experiment} (${profile}${jobs > 1 ? `, ${jobs} at once` : ""})`);
      else console.error(`[${e.index + 1}/${e.total}] ${e.experiment} done in ${(e.seconds ?? 0).toFixed(0)} s`);
    },
  });
  const ran = manifest.experiments.filter((e) => !only || only.includes(e.experiment));
  for (const e of ran) console.log(`${e.experiment}: ${e.files.length} files in ${out}/ (${e.seconds.toFixed(0)} s)`);
  console.log(`figures: ${out}/manifest.json, ${((performance.now() - t0) / 1000).toFixed(0)} s in all`);
}

/** One entry per method: its name, role, what it needs from the dataset, and its summary. */
function methodListing(): string {
  return METHODS.map((m) => {
    const spec = METHOD_SPECS[m];
    const quick = spec.defaults("quick", 3);
    const needs = [spec.needsSourceLabels?.(quick) ? "source labels" : "", spec.fromDataset ? "named target sites" : "", spec.bothWays ? "translates both ways" : ""].filter((x) => x);
    return `${m.padEnd(14)}${spec.role}${needs.length ? ` (${needs.join(", ")})` : ""}\n${" ".repeat(14)}${spec.summary}`;
  }).join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--version") {
    const pkg = createRequire(import.meta.url)("../package.json") as { version: string };
    console.log(pkg.version);
    return 0;
  }
  if (!command || command === "help" || command === "--help" || command === "-h" || rest.includes("--help") || rest.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  if (command === "doctor") {
    if (rest.length) throw new UnpairedError("BAD_OPTION", `doctor takes no arguments (got ${rest.join(" ")})`);
    await doctor();
    return 0;
  }
  if (command === "methods") {
    if (rest.length) throw new UnpairedError("BAD_OPTION", `methods takes no arguments (got ${rest.join(" ")})`);
    console.log(methodListing());
    return 0;
  }
  if (command === "phantom") {
    await phantom(rest);
    return 0;
  }
  if (command === "train") {
    await trainCommand(rest);
    return 0;
  }
  if (command === "translate") {
    await translateCommand(rest);
    return 0;
  }
  if (command === "figures") {
    await figuresCommand(rest);
    return 0;
  }
  if (command === "brain-example") {
    await brainExample(rest);
    return 0;
  }
  if (command === "histmatch") {
    await histmatchCommand(rest);
    return 0;
  }
  if (command === "compare") {
    await compareCommand(rest);
    return 0;
  }
  if (command === "validate") {
    await validate(rest);
    return 0;
  }
  console.error(`unpaired-lab: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UnpairedError) {
      console.error(`unpaired-lab: error [${e.code}]: ${e.message}`);
      process.exitCode = 1;
    } else {
      throw e;
    }
  },
);
