// Writes plotly figures to files: a standalone HTML page that draws the figure offline (plotly.js
// inlined or beside it), and PNG/SVG rendered by plotly.js's own Plotly.toImage in one headless
// Chromium that stays open between figures. Also finds that browser (CHROME_PATH, a system
// Chrome/Chromium, or the one inside the @sparticuz/chromium npm package).
import { ChildProcess, execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants as fsConstants, readFileSync, statSync } from "node:fs";
import { mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { UnpairedError } from "../util/errors.js";
import { figureTitle, type Figure } from "./figure.js";

// ---------------------------------------------------------------------------------------------
// Figure JSON and the standalone HTML page

/** Throws BAD_OPTION unless `fig` looks like a figure {data: [...], layout: {...}}; `what` names the caller. */
export function checkFigure(fig: Figure, what: string): void {
  const ok = fig !== null && typeof fig === "object" && Array.isArray(fig.data) && fig.layout !== null && typeof fig.layout === "object" && !Array.isArray(fig.layout);
  if (!ok) throw new UnpairedError("BAD_OPTION", `${what}: expected a figure {data: [...traces], layout: {...}} (what the lib/viz builders return)`);
}

/** The figure as JSON text: typed arrays become plain arrays, NaN/Infinity become null (plotly's gaps). */
export function figureJson(fig: Figure, space?: number): string {
  const plain = { data: fig.data, layout: fig.layout, ...(fig.config ? { config: fig.config } : {}) };
  return JSON.stringify(
    plain,
    (_key, value: unknown) => {
      if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => (typeof v === "bigint" ? Number(v) : v));
      }
      if (typeof value === "bigint") return Number(value);
      return value;
    },
    space,
  );
}

/** A deep copy of the figure that is plain JSON (what a Jupyter message or a file can carry). */
export function plainFigure(fig: Figure): Figure {
  return JSON.parse(figureJson(fig)) as Figure;
}

/**
 * JSON that is safe inside an HTML <script> element: "<", ">" and "&" are written as \u escapes
 * (so "</script>" or "<!--" inside a string cannot end the element) and so are U+2028/U+2029.
 * JSON.parse of the result gives the same value.
 */
export function scriptSafeJson(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Absolute path of plotly.min.js (from the plotly.js-dist-min package). */
export function plotlyJsPath(): string {
  return createRequire(import.meta.url).resolve("plotly.js-dist-min/plotly.min.js");
}

let plotlySourceCache: string | undefined;
/** plotly.min.js as text (read once). */
export function plotlyJsSource(): string {
  plotlySourceCache ??= readFileSync(plotlyJsPath(), "utf8");
  return plotlySourceCache;
}

/** Where the HTML page gets plotly.js: inlined (one self-contained file, ~4.6 MB) or ./plotly.min.js beside it. */
export type PlotlyMode = "inline" | "beside";

export interface FigureHtmlOptions {
  /** Default "inline". */
  plotly?: PlotlyMode;
  /** The page's <title>; default the figure's title, else "figure". */
  title?: string;
}

/** The file name a "beside" page loads plotly.js from. */
export const PLOTLY_BESIDE_NAME = "plotly.min.js";

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * A standalone HTML page that draws `fig` offline with plotly.js. The figure JSON sits in a
 * <script type="application/json" id="figure-json"> element (see {@link figureFromHtml}).
 */
export function figureHtml(fig: Figure, opts: FigureHtmlOptions = {}): string {
  checkFigure(fig, "figureHtml");
  const mode = opts.plotly ?? "inline";
  if (mode !== "inline" && mode !== "beside") throw new UnpairedError("BAD_OPTION", `figureHtml: plotly must be "inline" or "beside", got ${JSON.stringify(mode)}`);
  const title = opts.title ?? (figureTitle(fig).replace(/<[^>]*>/g, "").trim() || "figure");
  const fixedHeight = typeof fig.layout.height === "number";
  const fixedWidth = typeof fig.layout.width === "number";
  const divStyle = `${fixedWidth ? "" : "width:100%;"}${fixedHeight ? "" : "height:100vh;"}`;
  // In a <script> element only "</script" (any case) can end it early; "<\/script" means the same to JS.
  const plotlyTag =
    mode === "inline" ? `<script>${plotlyJsSource().replace(/<\/(script)/gi, "<\\/$1")}</script>` : `<script src="./${PLOTLY_BESIDE_NAME}"></script>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>html,body{margin:0;padding:0;background:#fff;font-family:Arial,Helvetica,sans-serif}</style>
${plotlyTag}
</head>
<body>
<div id="figure" style="${divStyle}"></div>
<script type="application/json" id="figure-json">${scriptSafeJson(figureJson(fig))}</script>
<script>
(function () {
  var el = document.getElementById("figure");
  if (typeof Plotly === "undefined") {
    el.textContent = "plotly.js did not load: keep ${PLOTLY_BESIDE_NAME} in the same folder as this page.";
    return;
  }
  var fig = JSON.parse(document.getElementById("figure-json").textContent);
  var config = Object.assign({ responsive: true, displaylogo: false }, fig.config || {});
  Plotly.newPlot(el, fig.data, fig.layout, config);
})();
</script>
</body>
</html>
`;
}

/** The figure JSON inside a page written by {@link figureHtml}. */
export function figureFromHtml(html: string): Figure {
  const m = /<script type="application\/json" id="figure-json">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new UnpairedError("BAD_OPTION", "figureFromHtml: this page has no figure-json element (was it written by figureHtml?)");
  return JSON.parse(m[1]!) as Figure;
}

/**
 * Writes the HTML page of `fig` to `path` atomically; with plotly "beside" also writes
 * plotly.min.js into the same folder (only when it is missing or differs).
 */
export async function writeFigureHtml(fig: Figure, path: string, opts: FigureHtmlOptions = {}): Promise<void> {
  const html = figureHtml(fig, opts);
  if ((opts.plotly ?? "inline") === "beside") await writePlotlyBeside(dirname(path));
  await writeFileAtomic(path, html);
}

/** Copies plotly.min.js into `folder` (atomically) unless an identical copy is already there. */
export async function writePlotlyBeside(folder: string): Promise<string> {
  const target = join(folder, PLOTLY_BESIDE_NAME);
  const source = plotlyJsSource();
  try {
    if (statSync(target).size === Buffer.byteLength(source) && (await readFile(target, "utf8")) === source) return target;
  } catch {
    // missing or unreadable: write it
  }
  await writeFileAtomic(target, source);
  return target;
}

// ---------------------------------------------------------------------------------------------
// Finding a browser

/** Where the browser came from. */
export type BrowserSource = "CHROME_PATH" | "system" | "@sparticuz/chromium";

export interface BrowserInfo {
  /** The executable. */
  path: string;
  source: BrowserSource;
  /** Extra launch flags (those @sparticuz/chromium needs; none for the others). */
  args: string[];
  /** Extra environment variables for the browser process. */
  env?: Record<string, string>;
}

/** Names looked up on PATH, in this order. */
export const SYSTEM_BROWSER_NAMES: readonly string[] = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/** Well-known install locations, tried after PATH. */
export const KNOWN_BROWSER_PATHS: readonly string[] = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/usr/lib/chromium/chromium",
  "/usr/lib/chromium-browser/chromium-browser",
  "/snap/bin/chromium",
  "/opt/google/chrome/chrome",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
  "C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe",
];

export interface FindBrowserOptions {
  /** Environment to read CHROME_PATH and PATH from; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Names to look for on PATH; default {@link SYSTEM_BROWSER_NAMES}. */
  names?: readonly string[];
  /** Fixed paths to try after PATH; default {@link KNOWN_BROWSER_PATHS}. */
  knownPaths?: readonly string[];
  /**
   * The npm-bundled Chromium: false to skip it, or a function that returns it (tests);
   * default @sparticuz/chromium (Linux x64 only; extracts itself to the temporary folder once).
   */
  bundled?: false | (() => Promise<{ path: string; args: string[] } | undefined>);
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (process.platform !== "win32") accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium inside the @sparticuz/chromium npm package (Linux x64). The package extracts its
 * brotli archives into the temporary folder; that is done here in a child process pointed at a
 * private staging folder, which is then renamed into place, so parallel processes (test files,
 * CLI runs) and an interrupted first extraction never leave a half-written browser behind.
 */
async function sparticuzChromium(): Promise<{ path: string; args: string[] } | undefined> {
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error(`it ships Linux x64 only (this is ${process.platform} ${process.arch})`);
  const entry = createRequire(import.meta.url).resolve("@sparticuz/chromium");
  const archive = join(dirname(entry), "..", "bin", "chromium.br");
  const st = statSync(archive);
  const key = createHash("sha256").update(`${archive}:${st.size}:${st.mtimeMs}`).digest("hex").slice(0, 12);
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const final = join(tmpdir(), `unpaired-lab-chromium-${uid}-${key}`);
  const binary = join(final, "chromium");
  const { default: chromium } = await import("@sparticuz/chromium");
  if (!isExecutableFile(binary)) {
    const stage = await mkdtemp(join(tmpdir(), `unpaired-lab-chromium-stage-`));
    try {
      const script = `import(${JSON.stringify(pathToFileURL(entry).href)}).then((m) => m.default.executablePath()).then((p) => process.stdout.write(p))`;
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ["--input-type=module", "-e", script],
          { env: { ...process.env, TMPDIR: stage, TMP: stage, TEMP: stage }, timeout: 180_000, maxBuffer: 1 << 20 },
          (err, stdout, stderr) => (err ? reject(new Error(`extracting it failed: ${(stderr || err.message).trim().split("\n")[0]}`)) : resolve(stdout)),
        );
      });
      if (out.trim() !== join(stage, "chromium")) throw new Error(`extracting it gave an unexpected path ${JSON.stringify(out.trim())}`);
      try {
        await rename(stage, final);
      } catch (err) {
        if (!isExecutableFile(binary)) throw err; // else another process finished first: use its copy
      }
    } finally {
      await rm(stage, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  return { path: binary, args: chromium.args };
}

const howToGetOne =
  "Set CHROME_PATH to a Chrome or Chromium executable, or install one (sudo apt-get install chromium), " +
  "or reinstall the npm packages (npm install) so that the Chromium inside @sparticuz/chromium is there (Linux x64).";

/**
 * A Chrome/Chromium to render figures with: $CHROME_PATH if set (it must be an executable file),
 * else a system browser (PATH names, then well-known paths), else the Chromium of the
 * @sparticuz/chromium npm package. Throws NO_BROWSER, saying how to get one, when none is found.
 */
export async function findBrowser(opts: FindBrowserOptions = {}): Promise<BrowserInfo> {
  const env = opts.env ?? process.env;
  const chromePath = env["CHROME_PATH"];
  if (chromePath !== undefined && chromePath !== "") {
    if (!isExecutableFile(chromePath)) {
      throw new UnpairedError(
        "NO_BROWSER",
        `CHROME_PATH is set to ${JSON.stringify(chromePath)}, which is not an executable file. Point CHROME_PATH at a Chrome or Chromium executable (e.g. /usr/bin/chromium), or unset it to let the kit find one.`,
      );
    }
    return { path: resolvePath(chromePath), source: "CHROME_PATH", args: [] };
  }
  const names = opts.names ?? SYSTEM_BROWSER_NAMES;
  const dirs = (env["PATH"] ?? "").split(process.platform === "win32" ? ";" : ":").filter((d) => d !== "");
  const exts = process.platform === "win32" ? ["", ".exe"] : [""];
  for (const name of names) {
    for (const dir of dirs) {
      for (const ext of exts) {
        const candidate = join(dir, name + ext);
        if (isExecutableFile(candidate)) return { path: candidate, source: "system", args: [] };
      }
    }
  }
  for (const candidate of opts.knownPaths ?? KNOWN_BROWSER_PATHS) {
    if (isExecutableFile(candidate)) return { path: candidate, source: "system", args: [] };
  }
  let bundledWhy = "skipped";
  if (opts.bundled !== false) {
    try {
      const found = await (opts.bundled ?? sparticuzChromium)();
      if (found && isExecutableFile(found.path)) {
        // Its fonts land in <tmp>/fonts; use them only where the system has no fontconfig setup.
        const fontsConf = join(dirname(found.path), "fonts");
        const env: Record<string, string> = {};
        if (!isFile("/etc/fonts/fonts.conf") && isFile(join(fontsConf, "fonts.conf"))) env["FONTCONFIG_PATH"] = fontsConf;
        return { path: found.path, source: "@sparticuz/chromium", args: found.args, ...(Object.keys(env).length ? { env } : {}) };
      }
      bundledWhy = found ? `${found.path} is not an executable file` : "not available";
    } catch (err) {
      bundledWhy = err instanceof Error ? err.message.split("\n")[0]! : String(err);
    }
  }
  throw new UnpairedError(
    "NO_BROWSER",
    `No Chrome or Chromium was found to render figures as PNG/SVG. ${howToGetOne} ` +
      `(Looked on PATH for ${names.join(", ")}; in ${(opts.knownPaths ?? KNOWN_BROWSER_PATHS).length} well-known places; @sparticuz/chromium: ${bundledWhy}.)`,
  );
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering PNG/SVG in one headless browser

export interface ImageOptions {
  /** Pixels (CSS px); default the layout's width, else 700. */
  width?: number;
  /** Pixels (CSS px); default the layout's height, else 450. */
  height?: number;
  /** PNG pixel density: the file is width*scale x height*scale; default 2 for files, 1 for notebook fallbacks. */
  scale?: number;
}

export interface ExporterOptions {
  /** The browser to launch; default {@link findBrowser}(). */
  browser?: BrowserInfo;
  /** Milliseconds to wait for the browser to start and load plotly.js; default 60 000. */
  launchTimeoutMs?: number;
  /** Milliseconds to wait for one figure; default 30 000. */
  renderTimeoutMs?: number;
}

type PlotlyGlobal = { Plotly?: { toImage(fig: unknown, opts: unknown): Promise<string> } };

function positive(what: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (typeof x !== "number" || !Number.isFinite(x) || x <= 0) throw new UnpairedError("BAD_OPTION", `${what} must be a positive number, got ${String(v)}`);
  return x;
}

/** Resolved width, height and scale of an image of `fig`. */
export function imageSize(fig: Figure, opts: ImageOptions = {}, defaultScale = 2): { width: number; height: number; scale: number } {
  const lw = typeof fig.layout.width === "number" ? fig.layout.width : undefined;
  const lh = typeof fig.layout.height === "number" ? fig.layout.height : undefined;
  return {
    width: Math.round(positive("width", opts.width, lw ?? 700)),
    height: Math.round(positive("height", opts.height, lh ?? 450)),
    scale: positive("scale", opts.scale, defaultScale),
  };
}

const label = (fig: Figure) => JSON.stringify(figureTitle(fig).replace(/<[^>]*>/g, "") || "untitled");

function timeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * file:// URL of a tiny page that loads plotly.min.js from its package folder (written once into
 * the temporary folder, named by a hash of that path, so every process of an install shares it).
 */
async function plotlyHostPage(): Promise<string> {
  const script = plotlyJsPath();
  const name = `unpaired-lab-plotly-host-${createHash("sha256").update(script).digest("hex").slice(0, 12)}.html`;
  const path = join(tmpdir(), name);
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><script src="${pathToFileURL(script).href}"></script></head><body></body></html>`;
  if (!isFile(path) || readFileSync(path, "utf8") !== html) await writeFileAtomic(path, html);
  return pathToFileURL(path).href;
}

/** Runs `work` with a referenced timer, so the process stays alive until it settles. */
async function holdingProcess<T>(work: () => Promise<T>): Promise<T> {
  const hold = setInterval(() => undefined, 1 << 30);
  try {
    return await work();
  } finally {
    clearInterval(hold);
  }
}

/** Child processes node is tracking right now (to find the browser's among them). */
function liveChildren(): ChildProcess[] {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  return handles.filter((h): h is ChildProcess => h instanceof ChildProcess);
}

/**
 * One headless browser with plotly.js loaded in a page, rendering figures one after another.
 * Launch it once and reuse it (~1 s to start and load plotly.js; then tens of ms a figure).
 * It does not keep the process alive: a script that forgets close() still exits (the browser is
 * killed on exit), and while a figure renders a timer holds the process.
 */
export class FigureExporter {
  readonly browserInfo: BrowserInfo;
  /** Milliseconds the browser took to start (and plotly.js to load), for reports. */
  launchMs = 0;
  private browser: Browser | undefined;
  /** The page with plotly.js loaded, where figures render. */
  private page: Page | undefined;
  /** withPage's reusable page when pages cannot be closed. */
  private spare: Page | undefined;
  private children: ChildProcess[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private isClosed = false;
  private readonly launchTimeoutMs: number;
  private readonly renderTimeoutMs: number;
  private readonly onExit = () => {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };

  /** Closing a page ends a --single-process browser (the @sparticuz/chromium flags), so pages are then kept. */
  private get canClosePages(): boolean {
    return !this.browserInfo.args.includes("--single-process");
  }

  private constructor(info: BrowserInfo, opts: ExporterOptions) {
    this.browserInfo = info;
    this.launchTimeoutMs = opts.launchTimeoutMs ?? 60_000;
    this.renderTimeoutMs = opts.renderTimeoutMs ?? 30_000;
  }

  /** Finds (unless given) and starts a browser, and loads plotly.js into a page. */
  static async launch(opts: ExporterOptions = {}): Promise<FigureExporter> {
    const info = opts.browser ?? (await findBrowser());
    const ex = new FigureExporter(info, opts);
    const t0 = performance.now();
    await holdingProcess(() => ex.ensurePage());
    ex.launchMs = performance.now() - t0;
    return ex;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The PNG bytes of `fig` (width*scale x height*scale pixels; scale default 2). */
  async png(fig: Figure, opts: ImageOptions = {}): Promise<Uint8Array> {
    checkFigure(fig, "png");
    const base64 = await this.render(fig, "png", imageSize(fig, opts, 2));
    return new Uint8Array(Buffer.from(base64, "base64"));
  }

  /** The SVG text of `fig`. */
  async svg(fig: Figure, opts: ImageOptions = {}): Promise<string> {
    checkFigure(fig, "svg");
    return this.render(fig, "svg", imageSize(fig, opts, 1));
  }

  /**
   * Runs `fn` with a page of this browser, e.g. to open a written HTML file and take a
   * screenshot: a fresh page closed afterwards, or with a single-process browser (where closing
   * a page ends the browser) one spare page that is reset to about:blank afterwards.
   * Serialised with the renders; `timeoutMs` (default the render timeout) applies.
   */
  async withPage<T>(fn: (page: Page) => Promise<T>, timeoutMs = this.renderTimeoutMs): Promise<T> {
    return this.enqueue(async () => {
      await this.ensurePage();
      const browser = this.browser!;
      let page: Page;
      if (this.canClosePages) page = await browser.newPage();
      else page = this.spare && !this.spare.isClosed() ? this.spare : (this.spare = await browser.newPage());
      let stuck = false;
      try {
        const work = fn(page);
        work.catch(() => undefined); // still handled if it fails after the timeout
        return await timeout(work, timeoutMs, () => {
          stuck = true;
          return new UnpairedError("EXPORT_FAILED", `the browser page did not finish within ${timeoutMs / 1000} s`);
        });
      } finally {
        if (stuck) this.discard(page);
        else if (this.canClosePages) void page.close().catch(() => undefined);
        else await page.goto("about:blank").catch(() => this.discard(page));
      }
    });
  }

  /** Closes the browser; later calls fail with EXPORT_FAILED. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    const browser = this.browser;
    this.browser = undefined;
    this.page = undefined;
    this.spare = undefined;
    await this.queue.catch(() => undefined);
    if (browser) await timeout(browser.close(), 10_000, () => new Error("close timed out")).catch(() => this.onExit());
    process.removeListener("exit", this.onExit);
  }

  /** Runs `work` after the earlier operations, holding the process alive while it runs (the browser does not). */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => holdingProcess(work), () => holdingProcess(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private render(fig: Figure, format: "png" | "svg", size: { width: number; height: number; scale: number }): Promise<string> {
    let json: string;
    try {
      json = figureJson(fig); // before queuing: a figure that cannot become JSON fails at once
    } catch (err) {
      return Promise.reject(new UnpairedError("BAD_OPTION", `figure ${label(fig)} cannot be written as JSON: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`, { cause: err }));
    }
    return this.enqueue(async () => {
      const page = await this.ensurePage();
      const work = page.evaluate(
        async ({ json, format, width, height, scale }) => {
          const Plotly = (globalThis as unknown as PlotlyGlobal).Plotly!;
          const f = JSON.parse(json) as { data: unknown; layout: unknown; config?: unknown };
          return Plotly.toImage({ data: f.data, layout: f.layout, config: f.config ?? {} }, { format, width, height, scale, imageDataOnly: true });
        },
        { json, format, ...size },
      );
      try {
        const out = await timeout(work, this.renderTimeoutMs, () => {
          this.discard(page); // a stuck page is not reused
          return new UnpairedError(
            "EXPORT_FAILED",
            `plotly did not finish rendering figure ${label(fig)} as ${format.toUpperCase()} within ${this.renderTimeoutMs / 1000} s (a very large figure? raise renderTimeoutMs).`,
          );
        });
        if (typeof out !== "string" || out.length === 0) throw new Error("plotly returned no image");
        return out;
      } catch (err) {
        work.catch(() => undefined);
        if (err instanceof UnpairedError) throw err;
        const reason = (err instanceof Error ? err.message : String(err)).replace(/^page\.evaluate:\s*/, "").split("\n")[0];
        throw new UnpairedError("EXPORT_FAILED", `plotly could not render figure ${label(fig)} as ${format.toUpperCase()}: ${reason}`, { cause: err });
      }
    });
  }

  /** Drops a page that may be stuck: closes it, or restarts the whole browser where closing a page would end it anyway. */
  private discard(page: Page | undefined): void {
    if (!this.canClosePages) {
      this.restartBrowser();
      return;
    }
    if (page === this.page) this.page = undefined;
    void page?.close().catch(() => undefined);
  }

  /** Ends the browser now; the next operation starts a new one. */
  private restartBrowser(): void {
    const browser = this.browser;
    const children = this.children;
    this.browser = undefined;
    this.page = undefined;
    this.spare = undefined;
    void browser?.close().catch(() => undefined);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }

  /** The page with plotly.js loaded, (re)starting the browser if it is not running. */
  private async ensurePage(): Promise<Page> {
    if (this.isClosed) throw new UnpairedError("EXPORT_FAILED", "this FigureExporter is closed; launch a new one");
    if (this.page && !this.page.isClosed() && this.browser?.isConnected()) return this.page;
    if (!this.browser?.isConnected()) this.browser = await this.startBrowser();
    const browser = this.browser;
    const page = await timeout(
      (async () => {
        const p = await browser.newPage();
        const hasPlotly = () => p.evaluate(() => typeof (globalThis as unknown as PlotlyGlobal).Plotly?.toImage === "function");
        // Fastest: a page that loads plotly.min.js from disk itself; else send the script text over.
        const host = await plotlyHostPage().catch(() => undefined);
        if (!host || !(await p.goto(host).then(hasPlotly, () => false))) {
          await p.setContent('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>');
          await p.addScriptTag({ content: plotlyJsSource() });
          if (!(await hasPlotly())) throw new Error("plotly.js did not define Plotly.toImage");
        }
        return p;
      })(),
      this.launchTimeoutMs,
      () => new UnpairedError("EXPORT_FAILED", `plotly.js did not load in ${this.browserInfo.path} within ${this.launchTimeoutMs / 1000} s`),
    ).catch((err: unknown) => {
      if (err instanceof UnpairedError) throw err;
      throw new UnpairedError("EXPORT_FAILED", `could not load plotly.js in the browser: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`, { cause: err });
    });
    this.page = page;
    return page;
  }

  private async startBrowser(): Promise<Browser> {
    const { chromium } = await import("playwright-core");
    const info = this.browserInfo;
    const before = new Set(liveChildren());
    let browser: Browser;
    try {
      browser = await chromium.launch({
        executablePath: info.path,
        args: info.args,
        headless: true,
        timeout: this.launchTimeoutMs,
        ...(info.env ? { env: { ...process.env, ...info.env } } : {}),
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message.split("\n").slice(0, 3).join(" ") : String(err);
      throw new UnpairedError(
        "EXPORT_FAILED",
        `could not start the browser ${info.path} (from ${info.source}): ${reason}. ` +
          `If it lacks system libraries, install a browser with its dependencies (sudo apt-get install chromium) or point CHROME_PATH at a working one.`,
        { cause: err },
      );
    }
    // Let the process exit while the browser idles: unreference its child process and pipes.
    const fresh = liveChildren().filter((c) => !before.has(c));
    const byPath = fresh.filter((c) => c.spawnfile === info.path || c.spawnargs[0] === info.path);
    const mine = byPath.length > 0 ? byPath : fresh;
    for (const c of mine) {
      c.unref();
      for (const s of c.stdio) (s as { unref?: () => void } | null)?.unref?.();
    }
    this.children = mine;
    process.removeListener("exit", this.onExit);
    process.on("exit", this.onExit);
    browser.on("disconnected", () => {
      if (this.browser === browser) {
        this.browser = undefined;
        this.page = undefined;
        this.spare = undefined;
      }
    });
    return browser;
  }
}

// ---------------------------------------------------------------------------------------------
// The shared exporter and exportFigure

let shared: Promise<FigureExporter> | undefined;

/** One exporter for the whole process, started on first use (and again if it was closed). */
export function sharedExporter(): Promise<FigureExporter> {
  const current = shared;
  if (current) {
    return current.then((ex) => {
      if (!ex.closed) return ex;
      if (shared === current) shared = undefined;
      return sharedExporter();
    });
  }
  const started = FigureExporter.launch();
  shared = started;
  started.catch(() => {
    if (shared === started) shared = undefined; // retry next time (a browser may have been installed)
  });
  return started;
}

/** Closes the shared exporter if one was started. */
export async function closeSharedExporter(): Promise<void> {
  const current = shared;
  shared = undefined;
  if (current) await (await current.catch(() => undefined))?.close();
}

export type ExportFormat = "html" | "png" | "svg";

export interface ExportOptions extends ImageOptions, FigureHtmlOptions {
  /** Default ["html", "png", "svg"]. */
  formats?: readonly ExportFormat[];
  /** Default the shared exporter (only started when PNG or SVG is asked for). */
  exporter?: FigureExporter;
}

/**
 * Writes `basePath`.html/.png/.svg (the formats asked for; a trailing .html/.png/.svg on
 * `basePath` is dropped). Everything is rendered first, then
 * each file is written atomically, so a failure leaves the older files as they were and no
 * partial or temporary file behind. Returns the paths written, by format.
 */
export async function exportFigure(fig: Figure, basePath: string, opts: ExportOptions = {}): Promise<Partial<Record<ExportFormat, string>>> {
  checkFigure(fig, "exportFigure");
  const formats = [...new Set(opts.formats ?? (["html", "png", "svg"] as const))];
  for (const f of formats) {
    if (f !== "html" && f !== "png" && f !== "svg") throw new UnpairedError("BAD_OPTION", `exportFigure: unknown format ${JSON.stringify(f)} (use html, png, svg)`);
  }
  const outputs: [ExportFormat, string | Uint8Array][] = [];
  if (formats.includes("html")) outputs.push(["html", figureHtml(fig, opts)]);
  if (formats.includes("png") || formats.includes("svg")) {
    imageSize(fig, opts); // bad sizes fail before a browser starts
    const exporter = opts.exporter ?? (await sharedExporter());
    if (formats.includes("png")) outputs.push(["png", await exporter.png(fig, opts)]);
    if (formats.includes("svg")) outputs.push(["svg", await exporter.svg(fig, opts)]);
  }
  basePath = basePath.replace(/\.(html|png|svg)$/i, ""); // "fig.png" means the base "fig"
  const written: Partial<Record<ExportFormat, string>> = {};
  if (formats.includes("html") && (opts.plotly ?? "inline") === "beside") await writePlotlyBeside(dirname(basePath));
  for (const [format, bytes] of outputs) {
    const path = `${basePath}.${format}`;
    await writeFileAtomic(path, bytes);
    written[format] = path;
  }
  return written;
}
