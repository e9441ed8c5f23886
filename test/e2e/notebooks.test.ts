// Checks that every committed notebooks/*.ipynb carries its outputs (`npm run notebooks` at the
// quick profile: figures as PNG, no errors), then executes each headlessly with nbclient (Debian's
// python3-nbclient) on the project's own tslab kernel at the smoke profile, fails on any cell error (notebook, cell index,
// the cell's source and its error text), checks that every plotly output is an object bundle with
// a PNG fallback, prints how long each notebook took, and opens one exported HTML figure in
// headless Chromium to check that it drew.
//
// The kernel runs with the working folder notebooks/ and these environment variables, which every
// notebook honours in its first code cell:
//   UNPAIRED_PROFILE=smoke      the profile (notebooks default to "quick")
//   UNPAIRED_RUNS=<temp>/runs   where trained runs are cached (notebooks default to "../runs")
//   UNPAIRED_FIGURES=<temp>/figures  where notebooks write figure files ("../figures")
// The kernel is registered in a private Jupyter data folder (scripts/notebook-kernel.ts), so the
// user's Jupyter setup is neither used nor touched. UNPAIRED_E2E_KEEP=1 keeps the temporary
// folder (executed notebooks in <temp>/executed); it is kept anyway when a notebook fails.
// UNPAIRED_NOTEBOOKS=02,05 runs only those notebooks; UNPAIRED_CELL_TIMEOUT (s, default 600).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PNG } from "pngjs";
import { KERNEL_NAME, KERNELSPEC, registerTslabKernel } from "../../scripts/notebook-kernel.js";
import { cellText as text, executeNotebook, notebookPython, plotlyOutputProblems, pngOutputs, runProcess, type NotebookJson } from "../../scripts/notebook-exec.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const NOTEBOOK_DIR = join(ROOT, "notebooks");
const CELL_TIMEOUT_S = Number(process.env["UNPAIRED_CELL_TIMEOUT"] ?? 600);

// UNPAIRED_NOTEBOOKS=02,05 runs only the notebooks whose names start with one of these.
const only = (process.env["UNPAIRED_NOTEBOOKS"] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
const notebooks = (existsSync(NOTEBOOK_DIR) ? readdirSync(NOTEBOOK_DIR).filter((f) => f.endsWith(".ipynb") && !f.startsWith(".")).sort() : []).filter(
  (f) => only.length === 0 || only.some((p) => f.startsWith(p)),
);

/** Every lib/**.ts (not .d.ts) with its dist/**.js, for the freshness check. */
function staleOutputs(): string[] {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) {
        const out = join(ROOT, "dist", relative(join(ROOT, "lib"), p)).replace(/\.ts$/, ".js");
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(p).mtimeMs) stale.push(relative(ROOT, p));
      }
    }
  };
  walk(join(ROOT, "lib"));
  return stale;
}

let python = "";
let tmp = "";
let failed = false;
const timings: { notebook: string; seconds: number; slowest: string }[] = [];

before(async () => {
  python = notebookPython();
  const stale = staleOutputs();
  if (stale.length > 0) {
    console.log(`dist/ is older than ${stale.length} file(s) of lib/ (e.g. ${stale.slice(0, 3).join(", ")}): npm run build`);
    const b = await runProcess(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: ROOT, env: process.env });
    if (b.code !== 0) throw new Error(`npm run build failed; the notebooks import dist/:\n${b.output}`);
  }
  // tslab compiles cells to CommonJS, so `import ... from "../dist/index.js"` becomes require() of
  // an ES module: Node >= 20.19 does that, unless the module graph has a top-level await.
  try {
    execFileSync(process.execPath, ["--input-type=commonjs", "-e", `require(${JSON.stringify(join(ROOT, "dist", "index.js"))})`], { stdio: "pipe", cwd: NOTEBOOK_DIR });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? err);
    throw new Error(
      `notebooks cannot load the library: require() of dist/index.js fails under ${process.version} (tslab turns imports into require(); ` +
        `Node >= 20.19 can require() ES modules that have no top-level await):\n${stderr.split("\n").slice(0, 8).join("\n")}`,
    );
  }
  tmp = mkdtempSync(join(tmpdir(), "unpaired-notebooks-"));
  for (const d of ["runs", "figures", "executed"]) mkdirSync(join(tmp, d));
  const reg = registerTslabKernel(join(tmp, "jupyter"));
  console.log(`kernel "${KERNEL_NAME}": ${reg.argv.join(" ")}; outputs in ${tmp}`);
});

after(() => {
  if (timings.length > 0) {
    console.log("notebook timings (smoke profile):");
    for (const t of timings) console.log(`  ${t.notebook}: ${t.seconds.toFixed(1)} s (slowest cell ${t.slowest})`);
  }
  if (!tmp) return;
  if (failed || process.env["UNPAIRED_E2E_KEEP"]) console.log(`kept ${tmp} (executed notebooks in ${join(tmp, "executed")})`);
  else rmSync(tmp, { recursive: true, force: true });
});

test("there are notebooks, committed cleared or with their quick-profile outputs (npm run notebooks), on the tslab kernel, reading UNPAIRED_PROFILE first", () => {
  assert.ok(notebooks.length > 0, `no notebooks in ${NOTEBOOK_DIR}`);
  const problems: string[] = [];
  for (const name of notebooks) {
    let nb: NotebookJson;
    try {
      nb = JSON.parse(readFileSync(join(NOTEBOOK_DIR, name), "utf8")) as NotebookJson;
    } catch (err) {
      problems.push(`${name}: not JSON (${(err as Error).message})`);
      continue;
    }
    if (nb.nbformat !== 4 || nb.nbformat_minor < 4) problems.push(`${name}: nbformat ${nb.nbformat}.${nb.nbformat_minor}, expected 4.5`);
    const ks = nb.metadata?.kernelspec;
    if (ks?.name !== KERNELSPEC.name) problems.push(`${name}: metadata.kernelspec ${JSON.stringify(ks)}; use ${JSON.stringify(KERNELSPEC)}`);
    const firstCode = nb.cells.find((c) => c.cell_type === "code");
    if (!firstCode || !text(firstCode.source).includes("UNPAIRED_PROFILE")) {
      problems.push(`${name}: the first code cell must set the profile from process.env.UNPAIRED_PROFILE (CI runs the notebooks at "smoke")`);
    }
    // The committed outputs: written by npm run notebooks at the quick profile, every code cell
    // run, no error among them, the figures there as PNG (what GitHub shows).
    const run = nb.metadata?.unpaired;
    const anyOutputs = nb.cells.some((c) => (c.outputs ?? []).length > 0);
    if (!run) {
      // Not yet executed by npm run notebooks: then it must hold no stray outputs either.
      if (anyOutputs) problems.push(`${name}: holds outputs but no metadata.unpaired; commit it executed by npm run notebooks, or cleared`);
      continue;
    }
    if (run.profile !== "quick") problems.push(`${name}: metadata.unpaired.profile is ${JSON.stringify(run.profile)}; commit it executed by npm run notebooks (quick profile)`);
    const code = nb.cells.filter((c) => c.cell_type === "code");
    const unrun = code.map((c, i) => [c, i] as const).filter(([c]) => typeof c.execution_count !== "number").map(([, i]) => i);
    if (unrun.length) problems.push(`${name}: code cells ${unrun.join(", ")} were not executed`);
    const errors = nb.cells.flatMap((c, i) => ((c.outputs ?? []).some((o) => o.output_type === "error") ? [i] : []));
    if (errors.length) problems.push(`${name}: cells ${errors.join(", ")} hold error outputs`);
    const plots = plotlyOutputProblems(nb);
    problems.push(...plots.problems.map((p) => `${name}: ${p}`));
    if (pngOutputs(nb) === 0) problems.push(`${name}: no figure output (image/png) is committed`);
  }
  assert.deepEqual(problems, []);
});

for (const name of notebooks) {
  test(`notebook ${name} runs at the smoke profile`, async () => {
    const executed = join(tmp, "executed", name);
    const r = await executeNotebook(name, {
      python,
      jupyterDir: join(tmp, "jupyter"),
      executed,
      summary: join(tmp, "executed", `${name}.summary.json`),
      env: { UNPAIRED_PROFILE: "smoke", UNPAIRED_RUNS: join(tmp, "runs"), UNPAIRED_FIGURES: join(tmp, "figures") },
      cellTimeout: CELL_TIMEOUT_S,
    });
    const summary = r.summary;
    if (!summary) {
      failed = true;
      assert.fail(`${name}: the nbclient driver failed (exit ${r.code}):\n${r.output.slice(-4000)}`);
    }
    const slowest = [...summary.cells].sort((a, b) => b.seconds - a.seconds)[0];
    timings.push({ notebook: name, seconds: summary.seconds, slowest: slowest ? `${slowest.index}: ${slowest.seconds.toFixed(1)} s` : "none" });
    console.log(`${name}: ${summary.seconds.toFixed(1)} s (${summary.cells.map((c) => `cell ${c.index} ${c.seconds.toFixed(1)} s`).join(", ")})`);
    if (summary.error) {
      failed = true;
      const src = (summary.error.source ?? "").split("\n").slice(0, 12).join("\n");
      assert.fail(
        `${name}: cell ${summary.error.cell ?? "?"} failed:\n--- source ---\n${src}\n--- error ---\n${summary.error.text.slice(0, 6000)}` +
          (r.output.trim() ? `\n--- driver/kernel log (tail) ---\n${r.output.slice(-2000)}` : ""),
      );
    }

    // Plotly outputs: an object with data and layout (JupyterLab's renderer needs an object, not a
    // JSON string), and an image/png fallback for front ends without the renderer.
    const nb = JSON.parse(readFileSync(executed, "utf8")) as NotebookJson;
    const plots = plotlyOutputProblems(nb);
    assert.deepEqual(plots.problems, [], `${name}: plotly outputs`);
    console.log(`${name}: ${plots.figures} plotly figure(s), each an object bundle with a PNG fallback`);
  });
}

/** Pixels that are not (near) white, and distinct colours, of a PNG. */
function pixelStats(bytes: Uint8Array): { width: number; height: number; nonWhite: number; colours: number } {
  const png = PNG.sync.read(Buffer.from(bytes));
  let nonWhite = 0;
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    if (r < 240 || g < 240 || b < 240) nonWhite++;
    colours.add((r << 16) | (g << 8) | b);
  }
  return { width: png.width, height: png.height, nonWhite, colours: colours.size };
}

test("an exported HTML figure draws in headless Chromium", async () => {
  const lib = (await import(pathToFileURL(join(ROOT, "dist", "index.js")).href)) as typeof import("../../lib/index.js");
  // A figure a notebook wrote in this run, else one `npm run figures` wrote, else one exported now.
  const htmlIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".html")).sort().map((f) => join(dir, f)) : []);
  let file = htmlIn(join(tmp, "figures"))[0] ?? htmlIn(join(ROOT, "figures"))[0];
  if (!file) {
    const fig = lib.trainingCurvesFigure({ history: Array.from({ length: 50 }, (_, i) => ({ step: i + 1, losses: { G: 2 / (i + 1), D: 0.5 + 0.1 * Math.sin(i) } })) });
    const written = await lib.exportFigure(fig, join(tmp, "figures", "e2e-curves"), { formats: ["html"], plotly: "beside" });
    file = written.html!;
  }
  const exporter = await lib.FigureExporter.launch();
  try {
    const { shot, svgs } = await exporter.withPage(async (page) => {
      await page.setViewportSize({ width: 1000, height: 700 });
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector(".main-svg", { timeout: 20_000 });
      const svgs = await page.locator(".main-svg").count();
      return { shot: await page.screenshot({ type: "png" }), svgs };
    }, 60_000);
    const s = pixelStats(new Uint8Array(shot));
    console.log(`${relative(ROOT, file).startsWith("..") ? file : relative(ROOT, file)} in ${exporter.browserInfo.source}: ${svgs} plot svg(s), ${s.nonWhite} non-white pixels, ${s.colours} colours`);
    assert.ok(svgs >= 1, "plotly drew its svg");
    assert.ok(s.nonWhite > 2000, `${file}: the screenshot is blank (${s.nonWhite} non-white pixels)`);
    assert.ok(s.colours > 10, `${file}: only ${s.colours} distinct colours`);
  } finally {
    await exporter.close();
  }
});
