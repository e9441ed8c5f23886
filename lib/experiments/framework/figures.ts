// `npm run figures`: runs experiments and writes what they found to figures/: NAME.{html,png,svg}
// per plotly figure, NAME.png per image grid, NAME.csv per table, NAME.md with the reading, and
// figures/manifest.json (experiment, profile, seed, backend, commit, durations, key numbers).
// Every file is written atomically, so an interrupted run never leaves a half-written figure.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import { initEngine, engineInfo } from "../../engine/index.js";
import { writeFileAtomic } from "../../util/atomicWrite.js";
import { UnpairedError } from "../../util/errors.js";
import { writeCsv, toMarkdown } from "../../analysis/tables.js";
import { closeSharedExporter, exportFigure, type ExportFormat } from "../../viz/export.js";
import { writePng } from "../../viz/png.js";
import type { Experiment, ExperimentConfig, ExperimentResult, KeyNumber } from "./types.js";
import type { FiguresJob } from "./figuresWorker.js";

export interface FiguresOptions {
  experiments: readonly Experiment[];
  config: ExperimentConfig;
  /** Output folder (default "figures"). */
  out?: string;
  /** Only these experiments (names); unknown names are an error listing the known ones. */
  only?: readonly string[];
  /** Formats of plotly figures (default html, png, svg). */
  formats?: readonly ExportFormat[];
  /** Called as each experiment starts and ends (the CLI prints stage lines). */
  onStage?: (e: { experiment: string; index: number; total: number; state: "start" | "done"; seconds?: number }) => void;
  /**
   * Experiments run at once, each in a process of its own (default 1: in this process, in order).
   * The wasm backend computes on one thread, so on a 2-core machine 2 jobs take about the time
   * of the longest lane instead of the sum. Runs the experiments share are trained once: the
   * others wait for them. Needs the experiments in `registry`.
   */
  jobs?: number;
  /** A module exporting `EXPERIMENTS` that holds the chosen experiments (for jobs > 1; default the kit's registry). */
  registry?: string;
  /** jobs > 1: variables set in each worker's environment over this process's (e.g. UNPAIRED_THREADS). */
  workerEnv?: Readonly<Record<string, string>>;
  /** jobs > 1: each line a worker writes to stderr (its progress lines when config.progress), with its experiment. */
  onLog?: (experiment: string, line: string) => void;
}

export interface ManifestEntry {
  experiment: string;
  title: string;
  profile: string;
  seed: number;
  seconds: number;
  files: string[];
  numbers: Record<string, KeyNumber>;
  reading: string;
  runs: string[];
  /** The commit this entry's figures were made from (entries of experiments not rerun keep theirs). */
  commit?: string | null;
}

export interface FiguresManifest {
  generated: string;
  commit: string | null;
  backend: string | null;
  node: string;
  /** The last invocation: experiments at once, and its wall-clock seconds. */
  jobs?: number;
  wallSeconds?: number;
  /** The last invocation that ran every experiment (kept when a later one runs only some). */
  fullRun?: { generated: string; commit: string | null; profile: string; jobs: number; wallSeconds: number };
  experiments: ManifestEntry[];
}

/**
 * The commit the figures come from (null outside a git checkout), "+dirty" when tracked files
 * differ from it. Changes inside `outputDir` (the figures themselves) do not count.
 */
export function currentCommit(cwd = process.cwd(), outputDir?: string): string | null {
  try {
    const sha = execFileSync("git", ["rev-parse", "HEAD"], { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const top = execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const inside = outputDir ? relative(top, resolve(cwd, outputDir)) : "";
    const exclude = inside && !inside.startsWith("..") && !isAbsolute(inside) ? [`:(exclude)${inside}`] : [];
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no", "--", ".", ...exclude], { cwd: top, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return null;
  }
}

/**
 * Runs one experiment and writes its files into `out`; returns its manifest entry (without the
 * commit, which runFigures adds). The in-process loop and each parallel worker both use it.
 */
export async function runExperiment(exp: Experiment, config: ExperimentConfig, out: string, formats: readonly ExportFormat[]): Promise<ManifestEntry> {
  const t0 = performance.now();
  const result = await exp.run(config);
  const files = await writeResult(result, out, formats);
  const seconds = (performance.now() - t0) / 1000;
  return { experiment: exp.name, title: result.title, profile: result.profile, seed: result.seed, seconds, files, numbers: result.numbers, reading: result.reading, runs: result.runs };
}

/** Writes one experiment's result into `out`; returns the file names written. */
export async function writeResult(result: ExperimentResult, out: string, formats: readonly ExportFormat[] = ["html", "png", "svg"]): Promise<string[]> {
  mkdirSync(out, { recursive: true });
  const stem = (name: string) => (name ? `${result.name}-${name}` : result.name);
  const files: string[] = [];
  for (const f of result.figures) {
    const written = await exportFigure(f.figure, join(out, stem(f.name)), { formats: [...formats], plotly: "beside" });
    files.push(...Object.values(written).map((p) => basename(String(p))));
  }
  for (const im of result.images) {
    const file = `${stem(im.name)}.png`;
    await writePng(join(out, file), im.image);
    files.push(file);
  }
  for (const t of result.tables) {
    const file = `${stem(t.name)}.csv`;
    await writeCsv(join(out, file), t.rows);
    files.push(file);
  }
  const md = [
    `# ${result.title}`,
    "",
    `Profile \`${result.profile}\`, seed ${result.seed}, ${result.seconds.toFixed(0)} s.`,
    "",
    result.reading,
    "",
    ...result.tables.flatMap((t) => [`## ${t.caption ?? t.name}`, "", t.rows.length ? toMarkdown(t.rows) : "(empty)", ""]),
  ].join("\n");
  await writeFileAtomic(join(out, `${result.name}.md`), md);
  files.push(`${result.name}.md`);
  return files;
}

/** Runs the chosen experiments and writes figures/ and figures/manifest.json. */
export async function runFigures(o: FiguresOptions): Promise<FiguresManifest> {
  const known = o.experiments.map((e) => e.name);
  // Without --only: every experiment but those run by name only (costly extras such as the budget sweep).
  const everyDefault = o.experiments.filter((e) => !e.byNameOnly).map((e) => e.name);
  const only = o.only?.length ? o.only : everyDefault;
  const unknown = only.filter((n) => !known.includes(n));
  if (unknown.length) throw new UnpairedError("BAD_OPTION", `--only ${unknown.join(",")}: no such experiment; choose from ${known.join(", ")}`);
  const jobs = o.jobs ?? 1;
  if (!(Number.isInteger(jobs) && jobs >= 1)) throw new UnpairedError("BAD_OPTION", `figures: --jobs must be a whole number >= 1 (got ${jobs})`);
  const out = resolve(o.out ?? "figures");
  mkdirSync(out, { recursive: true });
  await initEngine({ quiet: true });
  const manifestPath = join(out, "manifest.json");
  // Keep the entries of experiments not run this time (e.g. --only one of them).
  const before: Partial<FiguresManifest> = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, "utf8")) as FiguresManifest) : {};
  const previous: ManifestEntry[] = before.experiments ?? [];
  const entries = new Map(previous.map((e) => [e.experiment, e]));
  const chosen = o.experiments.filter((e) => only.includes(e.name));
  const commit = currentCommit(process.cwd(), out);
  const record = (e: ManifestEntry) => entries.set(e.experiment, { ...e, commit });
  const t0 = performance.now();
  const write = async (lanes: number, succeeded = true): Promise<FiguresManifest> => {
    const info = engineInfo();
    const generated = new Date().toISOString();
    const wallSeconds = (performance.now() - t0) / 1000;
    const everything = succeeded && everyDefault.every((n) => chosen.some((e) => e.name === n));
    const manifest: FiguresManifest = {
      generated,
      commit,
      backend: info ? `${info.backend} (${info.package} ${info.version}, ${info.backend === "torch" ? `${info.device}${info.gpu ? ` ${info.gpu}` : ""}, ` : ""}${info.threads} thread${info.threads === 1 ? "" : "s"})` : null,
      node: process.version,
      jobs: lanes,
      wallSeconds,
      ...(everything ? { fullRun: { generated, commit, profile: o.config.profile, jobs: lanes, wallSeconds } } : before.fullRun ? { fullRun: before.fullRun } : {}),
      experiments: known.filter((n) => entries.has(n)).map((n) => entries.get(n)!),
    };
    await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  };
  const lanes = Math.min(jobs, chosen.length);
  if (lanes > 1) {
    const failures = await runParallel(o, chosen, lanes, out, previous, record);
    const manifest = await write(lanes, failures.length === 0);
    if (failures.length) {
      throw new UnpairedError("EXPERIMENT_FAILED", failures.map((f) => `${f.experiment} failed (the other experiments' figures are written):\n${f.message}`).join("\n\n"));
    }
    return manifest;
  }
  try {
    for (const [i, exp] of chosen.entries()) {
      o.onStage?.({ experiment: exp.name, index: i, total: chosen.length, state: "start" });
      const entry = await runExperiment(exp, o.config, out, o.formats ?? ["html", "png", "svg"]);
      record(entry);
      o.onStage?.({ experiment: exp.name, index: i, total: chosen.length, state: "done", seconds: entry.seconds });
    }
  } finally {
    await closeSharedExporter();
  }
  return write(1);
}

/**
 * The order parallel lanes take experiments in: longest first, by the seconds the previous
 * manifest recorded for the same profile (the others after them, in registry order), so the
 * longest experiment does not start last and leave the other lanes idle at the end.
 */
export function scheduleOrder(chosen: readonly Experiment[], previous: readonly ManifestEntry[], profile: string): Experiment[] {
  const seconds = new Map(previous.filter((e) => e.profile === profile).map((e) => [e.experiment, e.seconds]));
  return chosen
    .map((e, i) => ({ e, i, s: seconds.get(e.name) }))
    .sort((a, b) => (a.s === undefined ? (b.s === undefined ? a.i - b.i : 1) : b.s === undefined ? -1 : b.s - a.s || a.i - b.i))
    .map((x) => x.e);
}

/** Runs the experiments in `lanes` worker processes; returns the failures (a failure starts nothing new, the running ones finish). */
async function runParallel(
  o: FiguresOptions,
  chosen: readonly Experiment[],
  lanes: number,
  out: string,
  previous: readonly ManifestEntry[],
  done: (e: ManifestEntry) => void,
): Promise<{ experiment: string; message: string }[]> {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  // The kit's registry sits one folder up (lib/experiments/index), above the experiments it lists.
  const registry = resolve(o.registry ?? join(dirname(here), "..", `index${ext}`));
  const reg = (await import(pathToFileURL(registry).href)) as { EXPERIMENTS?: readonly Experiment[] };
  const missing = chosen.filter((e) => !reg.EXPERIMENTS?.some((r) => r.name === e.name)).map((e) => e.name);
  if (missing.length) throw new UnpairedError("BAD_OPTION", `figures with jobs > 1 runs registered experiments in worker processes; ${registry} has no ${missing.join(", ")} (run them with jobs 1)`);
  const worker = join(dirname(here), `figuresWorker${ext}`);
  const tmp = mkdtempSync(join(tmpdir(), "unpaired-figures-"));
  const queue = scheduleOrder(chosen, previous, o.config.profile);
  const failures: { experiment: string; message: string }[] = [];
  let started = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      if (failures.length) return;
      const exp = queue.shift();
      if (!exp) return;
      const index = started++;
      o.onStage?.({ experiment: exp.name, index, total: chosen.length, state: "start" });
      const t1 = performance.now();
      const jobFile = join(tmp, `${exp.name}.job.json`);
      const entryFile = join(tmp, `${exp.name}.entry.json`);
      // A worker's stderr is a pipe, so its progress bars print a line per 10 % (no in-place
      // redraws to collide); each line goes to onLog with the experiment's name.
      const job: FiguresJob = { registry, experiment: exp.name, config: { ...o.config, liveDisplay: false }, out, formats: [...(o.formats ?? ["html", "png", "svg"])], entryFile };
      writeFileSync(jobFile, JSON.stringify(job));
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((res) => {
        const child = spawn(process.execPath, [...process.execArgv, worker, jobFile], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...o.workerEnv } });
        let err = "";
        let partial = "";
        child.stderr.on("data", (d: Buffer) => {
          const text = d.toString();
          err = (err + text).slice(-8000);
          const lines = (partial + text).split(/\r?\n|\r/);
          partial = lines.pop() ?? "";
          for (const l of lines) if (l.trim()) o.onLog?.(exp.name, l);
        });
        child.on("close", (c) => {
          if (partial.trim()) o.onLog?.(exp.name, partial);
          res({ code: c, stderr: err });
        });
        child.on("error", (e) => res({ code: -1, stderr: String(e) }));
      });
      if (code === 0 && existsSync(entryFile)) {
        const entry = JSON.parse(readFileSync(entryFile, "utf8")) as ManifestEntry;
        done(entry);
        o.onStage?.({ experiment: exp.name, index, total: chosen.length, state: "done", seconds: entry.seconds });
      } else {
        failures.push({ experiment: exp.name, message: stderr.trim() || `its process exited with code ${code} after ${((performance.now() - t1) / 1000).toFixed(0)} s` });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: lanes }, () => lane()));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return failures;
}
