// Executes one notebook headlessly on the project's tslab kernel (nbclient through
// test/e2e/run_notebooks.py with Debian's python3-nbclient) and reads what it produced: the
// end-to-end test runs every notebook so at the smoke profile, `npm run notebooks` at quick to
// commit them with their outputs. Also the checks both apply to an executed notebook's outputs.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KERNEL_NAME, privateJupyterEnv, REPO_ROOT } from "./notebook-kernel.js";

export const NOTEBOOK_DIR = join(REPO_ROOT, "notebooks");
const DRIVER = join(REPO_ROOT, "test", "e2e", "run_notebooks.py");
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

export interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, unknown>;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
}

export interface NotebookJson {
  nbformat: number;
  nbformat_minor: number;
  metadata: { kernelspec?: { name?: string; display_name?: string; language?: string }; unpaired?: NotebookRunInfo } & Record<string, unknown>;
  cells: NotebookCell[];
}

/** What `npm run notebooks` records in a committed notebook's metadata.unpaired. */
export interface NotebookRunInfo {
  profile: string;
  commit: string | null;
  backend: string | null;
  executed: string;
  seconds: number;
}

export interface NotebookSummary {
  notebook: string;
  kernel: string;
  seconds: number;
  cells: { index: number; seconds: number }[];
  error: { cell: number | null; source?: string; text: string } | null;
}

export const cellText = (s: string | string[] | undefined): string => (Array.isArray(s) ? s.join("") : (s ?? ""));

/** The Python with nbclient (Debian's /usr/bin/python3, or UNPAIRED_PYTHON); throws with the apt-get line. */
export function notebookPython(): string {
  const exe = process.env["UNPAIRED_PYTHON"] ?? "/usr/bin/python3";
  try {
    execFileSync(exe, ["-c", "import nbclient, nbformat, jupyter_client"], { stdio: "pipe" });
  } catch {
    throw new Error(
      `${exe} cannot import nbclient, nbformat and jupyter_client. Install them with: sudo apt-get install -y python3-nbclient python3-nbformat python3-jupyter-client (or set UNPAIRED_PYTHON to a Python that has them).`,
    );
  }
  return exe;
}

/** Runs a command to the end, collecting its output; never throws for a non-zero exit. */
export function runProcess(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; onOutput?: (text: string) => void }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const take = (d: Buffer) => {
      output += d.toString();
      opts.onOutput?.(d.toString());
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

export interface ExecuteOptions {
  python: string;
  /** The private Jupyter data folder holding the tslab kernel (registerTslabKernel). */
  jupyterDir: string;
  /** Where the executed notebook and its summary go. */
  executed: string;
  summary: string;
  /** UNPAIRED_PROFILE, UNPAIRED_RUNS, UNPAIRED_FIGURES and any other variables for the kernel. */
  env: Record<string, string>;
  /** Seconds a cell may take. */
  cellTimeout: number;
}

/** Executes notebooks/<name> (the kernel's working folder is notebooks/); the summary says whether a cell failed. */
export async function executeNotebook(name: string, o: ExecuteOptions): Promise<{ summary: NotebookSummary | null; code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...privateJupyterEnv(o.jupyterDir), ...o.env };
  const r = await runProcess(o.python, [DRIVER, join(NOTEBOOK_DIR, name), "--out", o.executed, "--summary", o.summary, "--cwd", NOTEBOOK_DIR, "--timeout", String(o.cellTimeout), "--kernel", KERNEL_NAME], {
    cwd: NOTEBOOK_DIR,
    env,
  });
  const summary = r.code === 0 && existsSync(o.summary) ? (JSON.parse(readFileSync(o.summary, "utf8")) as NotebookSummary) : null;
  return { summary, code: r.code, output: r.output };
}

/** Plotly outputs that are not an object bundle with a PNG fallback, and the number of plotly figures. */
export function plotlyOutputProblems(nb: NotebookJson): { figures: number; problems: string[] } {
  const problems: string[] = [];
  let figures = 0;
  nb.cells.forEach((cell, i) => {
    for (const out of cell.outputs ?? []) {
      const bundle = out.data?.[PLOTLY_MIME];
      if (bundle === undefined) continue;
      figures++;
      const b = bundle as { data?: unknown; layout?: unknown };
      if (typeof bundle !== "object" || bundle === null || Array.isArray(bundle)) problems.push(`cell ${i}: ${PLOTLY_MIME} is a ${Array.isArray(bundle) ? "list" : typeof bundle}, not an object`);
      else if (!Array.isArray(b.data) || typeof b.layout !== "object" || b.layout === null) problems.push(`cell ${i}: ${PLOTLY_MIME} lacks data (list) / layout (object): keys ${Object.keys(bundle)}`);
      if (!isPng(out.data?.["image/png"])) problems.push(`cell ${i}: a plotly output without an image/png fallback`);
    }
  });
  return { figures, problems };
}

/** Whether a notebook output value is a base64 PNG. */
export function isPng(value: unknown): boolean {
  const bytes = typeof value === "string" ? Buffer.from(value, "base64") : undefined;
  return !!bytes && bytes.length >= 100 && bytes.toString("latin1", 1, 4) === "PNG";
}

/** The PNG outputs (plotly fallbacks and image grids) of a notebook. */
export function pngOutputs(nb: NotebookJson): number {
  return nb.cells.reduce((n, c) => n + (c.outputs ?? []).filter((o) => isPng(o.data?.["image/png"])).length, 0);
}
