// `npm run figures`: runs experiments and writes what they found to figures/: NAME.{html,png,svg}
// per plotly figure, NAME.png per image grid, NAME.csv per table, NAME.md with the reading, and
// figures/manifest.json (experiment, profile, seed, backend, commit, durations, key numbers).
// Every file is written atomically, so an interrupted run never leaves a half-written figure.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { initEngine, engineInfo } from "../engine/index.js";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { UnpairedError } from "../util/errors.js";
import { writeCsv, toMarkdown } from "../analysis/tables.js";
import { closeSharedExporter, exportFigure, type ExportFormat } from "../viz/export.js";
import { writePng } from "../viz/png.js";
import type { Experiment, ExperimentConfig, ExperimentResult, KeyNumber } from "./types.js";

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
}

export interface FiguresManifest {
  generated: string;
  commit: string | null;
  backend: string | null;
  node: string;
  experiments: ManifestEntry[];
}

/** The commit the figures come from (null outside a git checkout). */
export function currentCommit(cwd = process.cwd()): string | null {
  try {
    const sha = execFileSync("git", ["rev-parse", "HEAD"], { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return null;
  }
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
  const only = o.only?.length ? o.only : known;
  const unknown = only.filter((n) => !known.includes(n));
  if (unknown.length) throw new UnpairedError("BAD_OPTION", `--only ${unknown.join(",")}: no such experiment; choose from ${known.join(", ")}`);
  const out = resolve(o.out ?? "figures");
  mkdirSync(out, { recursive: true });
  await initEngine({ quiet: true });
  const manifestPath = join(out, "manifest.json");
  // Keep the entries of experiments not run this time (e.g. --only one of them).
  const previous: ManifestEntry[] = existsSync(manifestPath) ? ((JSON.parse(readFileSync(manifestPath, "utf8")) as FiguresManifest).experiments ?? []) : [];
  const entries = new Map(previous.map((e) => [e.experiment, e]));
  const chosen = o.experiments.filter((e) => only.includes(e.name));
  try {
    for (const [i, exp] of chosen.entries()) {
      o.onStage?.({ experiment: exp.name, index: i, total: chosen.length, state: "start" });
      const t0 = performance.now();
      const result = await exp.run(o.config);
      const files = await writeResult(result, out, o.formats ?? ["html", "png", "svg"]);
      const seconds = (performance.now() - t0) / 1000;
      entries.set(exp.name, { experiment: exp.name, title: result.title, profile: result.profile, seed: result.seed, seconds, files, numbers: result.numbers, reading: result.reading, runs: result.runs });
      o.onStage?.({ experiment: exp.name, index: i, total: chosen.length, state: "done", seconds });
    }
  } finally {
    await closeSharedExporter();
  }
  const info = engineInfo();
  const manifest: FiguresManifest = {
    generated: new Date().toISOString(),
    commit: currentCommit(),
    backend: info ? `${info.backend} (${info.package} ${info.version}, ${info.threads} thread${info.threads === 1 ? "" : "s"})` : null,
    node: process.version,
    experiments: known.filter((n) => entries.has(n)).map((n) => entries.get(n)!),
  };
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
