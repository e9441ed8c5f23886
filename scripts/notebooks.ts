// `npm run notebooks`: executes every notebooks/*.ipynb on the project's tslab kernel at the quick
// profile (the figures' profile) and commits their outputs into the notebook files, so they read
// on GitHub with their figures (each plotly figure carries a PNG fallback). The notebooks train
// through the same run cache as `npm run figures` (runs/ by default), so after a figures run they
// mostly load trained networks instead of training them again.
//   npm run notebooks [-- --profile quick] [--only 02,05] [--runs runs] [--timeout 3600]
// A notebook is rewritten only when every cell ran without error (written to a temporary file,
// then renamed); a failed one keeps its committed version and the command exits 1, naming the
// cell and its error. Figure files the notebooks export go to a temporary folder, so figures/
// (written by `npm run figures`) is left alone. Needs Debian's python3-nbclient.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { registerTslabKernel, REPO_ROOT } from "./notebook-kernel.js";
import { executeNotebook, NOTEBOOK_DIR, notebookPython, plotlyOutputProblems, pngOutputs, type NotebookJson } from "./notebook-exec.js";

function refuse(why: string): never {
  console.error(`notebooks: ${why}`);
  process.exit(2);
}

let args: { profile?: string; only?: string; runs?: string; timeout?: string };
try {
  args = parseArgs({ options: { profile: { type: "string" }, only: { type: "string" }, runs: { type: "string" }, timeout: { type: "string" }}, strict: true }).values;
} catch (err) {
  refuse(`${(err as Error).message}. usage: npm run notebooks [-- --profile quick] [--only 02,05] [--runs runs] [--timeout SECONDS]`);
}
const profile = args.profile ?? "quick";
if (!["smoke", "quick", "paper"].includes(profile)) refuse(`--profile must be smoke, quick or paper (got "${profile}")`);
const timeout = Number(args.timeout ?? 3600);
if (!Number.isInteger(timeout) || timeout < 1) refuse(`--timeout must be whole seconds >= 1 (got "${args.timeout}")`);
const runs = resolve(args.runs ?? join(REPO_ROOT, "runs"));
const only = (args.only ?? "").split(",").map((s) => s.trim()).filter(Boolean);
const all = readdirSync(NOTEBOOK_DIR).filter((f) => f.endsWith(".ipynb") && !f.startsWith(".")).sort();
const chosen = all.filter((f) => only.length === 0 || only.some((p) => f.startsWith(p)));
if (chosen.length === 0) refuse(`no notebook matches --only ${args.only}; the notebooks: ${all.join(", ")}`);

let python: string;
try {
  python = notebookPython();
} catch (err) {
  refuse((err as Error).message);
}
// The notebooks import dist/: build it first so they run the library as it is now.
execFileSync(process.execPath, [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: REPO_ROOT, stdio: "inherit" });
const commit = (() => {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return null;
  }
})();
const backend = (() => {
  try {
    return execFileSync(process.execPath, [join(REPO_ROOT, "dist", "cli.js"), "doctor"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "ignore"] }).toString().split("\n")[0]!.trim();
  } catch {
    return null;
  }
})();

const tmp = mkdtempSync(join(tmpdir(), "unpaired-notebooks-"));
for (const d of ["figures", "executed"]) mkdirSync(join(tmp, d));
const jupyterDir = join(tmp, "jupyter");
registerTslabKernel(jupyterDir);
mkdirSync(runs, { recursive: true });
console.error(`notebooks: ${chosen.length} at the ${profile} profile, runs cached in ${runs}${backend ? `; ${backend}` : ""}`);

const failures: string[] = [];
for (const name of chosen) {
  const executed = join(tmp, "executed", name);
  const t0 = performance.now();
  console.error(`[${chosen.indexOf(name) + 1}/${chosen.length}] ${name}`);
  const r = await executeNotebook(name, {
    python,
    jupyterDir,
    executed,
    summary: `${executed}.summary.json`,
    env: { UNPAIRED_PROFILE: profile, UNPAIRED_RUNS: runs, UNPAIRED_FIGURES: join(tmp, "figures") },
    cellTimeout: timeout,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (!r.summary) {
    failures.push(`${name}: the nbclient driver failed (exit ${r.code}):\n${r.output.slice(-3000)}`);
    continue;
  }
  if (r.summary.error) {
    failures.push(`${name}: cell ${r.summary.error.cell ?? "?"} failed (the committed notebook is unchanged):\n${r.summary.error.text.slice(0, 3000)}`);
    continue;
  }
  const nb = JSON.parse(readFileSync(executed, "utf8")) as NotebookJson;
  const plots = plotlyOutputProblems(nb);
  if (plots.problems.length) {
    failures.push(`${name}: ${plots.problems.join("; ")}`);
    continue;
  }
  // Progress bars and engine notes go to stderr: useful live, noise in a committed notebook.
  for (const c of nb.cells) if (c.outputs) c.outputs = c.outputs.filter((o) => !(o.output_type === "stream" && o.name === "stderr"));
  nb.metadata.unpaired = { profile, commit, backend, executed: new Date().toISOString(), seconds: Math.round(seconds) };
  const target = join(NOTEBOOK_DIR, name);
  const part = `${target}.tmp-${process.pid}`;
  writeFileSync(part, `${JSON.stringify(nb, null, 1)}\n`);
  renameSync(part, target);
  console.error(`  ${name}: ${seconds.toFixed(0)} s, ${plots.figures} plotly figure(s), ${pngOutputs(nb)} PNG output(s)`);
}
rmSync(tmp, { recursive: true, force: true });
if (failures.length) {
  console.error(`notebooks: ${failures.length} of ${chosen.length} failed:\n${failures.join("\n\n")}`);
  process.exit(1);
}
console.error(`notebooks: ${chosen.length} executed and written to notebooks/`);
