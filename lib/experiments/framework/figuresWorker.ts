// One experiment of a parallel `figures` run, in a process of its own: runFigures with jobs > 1
// starts this file per experiment with a job file, and reads back the manifest entry it writes.
// The wasm backend computes on one thread, so separate processes are how the figures use more
// than one core; runs the experiments share are trained once (cachedRun's lock).
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { closeSharedExporter, type ExportFormat } from "../../viz/export.js";
import { initEngine } from "../../engine/index.js";
import { writeFileAtomic } from "../../util/atomicWrite.js";
import { runExperiment } from "./figures.js";
import type { Experiment, ExperimentConfig } from "./types.js";

export interface FiguresJob {
  /** A module exporting `EXPERIMENTS` (the kit's registry, or a test's). */
  registry: string;
  experiment: string;
  config: ExperimentConfig;
  out: string;
  formats: ExportFormat[];
  /** Where the worker writes its ManifestEntry (JSON). */
  entryFile: string;
}

async function main(jobFile: string): Promise<void> {
  const job = JSON.parse(readFileSync(jobFile, "utf8")) as FiguresJob;
  const registry = (await import(job.registry.startsWith("file:") ? job.registry : pathToFileURL(job.registry).href)) as { EXPERIMENTS?: readonly Experiment[] };
  const exp = registry.EXPERIMENTS?.find((e) => e.name === job.experiment);
  if (!exp) throw new Error(`${job.registry} registers no experiment "${job.experiment}"`);
  await initEngine({ quiet: true });
  try {
    const entry = await runExperiment(exp, job.config, job.out, job.formats);
    await writeFileAtomic(job.entryFile, JSON.stringify(entry));
  } finally {
    await closeSharedExporter();
  }
}

const jobFile = process.argv[2];
if (!jobFile) {
  process.stderr.write("usage: figuresWorker JOB.json (started by runFigures with jobs > 1)\n");
  process.exit(2);
}
main(jobFile).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.name === "UnpairedError" ? err.message : err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
