// Figure export: the standalone HTML pages (inline and beside plotly.js) round-trip the figure and
// draw in a real headless browser, PNG/SVG come out at the asked size with the figure's colours,
// findBrowser's search order and errors, and failed exports leave older files untouched.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PNG } from "pngjs";
import {
  exportFigure,
  figureFromHtml,
  figureHtml,
  findBrowser,
  FigureExporter,
  plainFigure,
  plotlyJsSource,
  writeFigureHtml,
  type BrowserInfo,
} from "../lib/viz/export.js";
import type { Figure } from "../lib/viz/figure.js";
import { UnpairedError } from "../lib/util/errors.js";

const RED = [214, 39, 40] as const; // #d62728
const BLUE = [31, 119, 180] as const; // #1f77b4

/** Two bars of known colours on a white background. */
const barFigure = (): Figure => ({
  data: [
    { type: "bar", name: "red", x: ["a", "b"], y: [3, 5], marker: { color: "#d62728" } },
    { type: "bar", name: "blue", x: ["a", "b"], y: [4, 2], marker: { color: "#1f77b4" } },
  ],
  layout: { title: { text: "Dice by method" }, paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff" },
});

/** Pixels of exactly this colour, white pixels and distinct colours of a decoded PNG. */
function pixelStats(bytes: Uint8Array, rgb: readonly number[] = RED): { width: number; height: number; matching: number; nonWhite: number; colours: number } {
  const png = PNG.sync.read(Buffer.from(bytes));
  let matching = 0;
  let nonWhite = 0;
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    if (r === rgb[0] && g === rgb[1] && b === rgb[2]) matching++;
    if (r < 250 || g < 250 || b < 250) nonWhite++;
    colours.add((r << 16) | (g << 8) | b);
  }
  return { width: png.width, height: png.height, matching, nonWhite, colours: colours.size };
}

const noTempFiles = (dir: string) => assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp") || f.startsWith(".")), [], "no temporary files left");

const canRun = process.platform === "linux" && process.arch === "x64"; // where @sparticuz/chromium guarantees a browser
const dir = mkdtempSync(join(tmpdir(), "unpaired-export-"));
const tFind = performance.now();
const browserInfo: BrowserInfo | undefined = await findBrowser().catch((err: unknown) => {
  if (canRun) throw err;
  return undefined;
});
const foundMs = performance.now() - tFind;
const exporter = browserInfo ? await FigureExporter.launch({ browser: browserInfo }) : undefined; // one browser for the file
if (exporter) console.log(`# browser ${browserInfo!.source} (${browserInfo!.path}): found in ${foundMs.toFixed(0)} ms, started + plotly.js loaded in ${exporter.launchMs.toFixed(0)} ms`);

after(async () => {
  await exporter?.close();
  rmSync(dir, { recursive: true, force: true });
});

const needsBrowser = () => (exporter ? false : "no browser on this platform");

// ---------------------------------------------------------------------------------------------
// HTML

test("inline HTML holds plotly.js and the figure JSON, which round-trips even with </script> in strings", () => {
  const fig: Figure = {
    data: [{ type: "scatter", name: "</script><script>alert(1)</script> <!-- & \u2028", x: [1, 2, 3], y: new Float32Array([0.5, NaN, 2]) as unknown as number[] }],
    layout: { title: { text: "a <b>bold</b> & </SCRIPT> title" } },
    config: { displaylogo: false },
  };
  const html = figureHtml(fig, { plotly: "inline" });
  assert.ok(html.includes("plotly.js v"), "plotly.js banner inlined");
  assert.ok(html.length > plotlyJsSource().length, "the whole plotly.js is inside");
  assert.ok(!html.includes('src="./plotly.min.js"'));
  // Only the three script elements of the page may close: plotly.js, the figure JSON and the boot code.
  assert.equal(html.match(/<\/script/gi)!.length, 3);
  const back = figureFromHtml(html);
  assert.deepEqual(back, plainFigure(fig));
  assert.deepEqual(back.data[0]!["y"], [0.5, null, 2], "typed arrays become arrays, NaN becomes null");
  assert.equal(back.data[0]!.name, fig.data[0]!.name);
  assert.equal(/<title>(.*)<\/title>/.exec(html)?.[1], "a bold &amp;  title", "the title's tags are stripped");
  const titled = figureHtml(fig, { plotly: "beside", title: "x </title><script>y" });
  assert.equal(/<title>(.*)<\/title>/.exec(titled)?.[1], "x &lt;/title&gt;&lt;script&gt;y", "an explicit title is escaped");
});

test("beside HTML references ./plotly.min.js and writeFigureHtml puts that file next to it", async () => {
  const fig = barFigure();
  const html = figureHtml(fig, { plotly: "beside", title: "bars" });
  assert.ok(html.includes('<script src="./plotly.min.js"></script>'));
  assert.ok(!html.includes("plotly.js v"), "plotly.js is not inlined");
  assert.ok(html.length < 10_000);
  assert.deepEqual(figureFromHtml(html), plainFigure(fig));
  const sub = join(dir, "beside");
  await writeFigureHtml(fig, join(sub, "bars.html"), { plotly: "beside" });
  assert.equal(readFileSync(join(sub, "bars.html"), "utf8"), html.replace("<title>bars</title>", "<title>Dice by method</title>"));
  assert.equal(readFileSync(join(sub, "plotly.min.js"), "utf8"), plotlyJsSource());
  noTempFiles(sub);
});

test("the written pages draw in a headless browser from file:// (inline and beside)", { skip: needsBrowser() }, async () => {
  const fig = { ...barFigure(), layout: { ...barFigure().layout, width: 500, height: 360 } };
  await writeFigureHtml(fig, join(dir, "inline.html"), { plotly: "inline" });
  await writeFigureHtml(fig, join(dir, "beside", "page.html"), { plotly: "beside" });
  for (const file of [join(dir, "inline.html"), join(dir, "beside", "page.html")]) {
    const shot = await exporter!.withPage(async (page) => {
      await page.setViewportSize({ width: 520, height: 380 });
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector(".main-svg", { timeout: 10_000 });
      assert.ok((await page.locator(".main-svg").count()) >= 1, "plotly drew its svg");
      assert.equal(await page.locator("g.trace.bars").count(), 2, "two bar traces drawn");
      return page.screenshot({ type: "png" });
    });
    const s = pixelStats(new Uint8Array(shot));
    assert.ok(s.nonWhite > 2000, `${file}: the screenshot is not blank (${s.nonWhite} non-white pixels)`);
    assert.ok(s.colours > 10, `${file}: ${s.colours} distinct colours`);
    assert.ok(s.matching > 1000, `${file}: red bar pixels present (${s.matching})`);
  }
});

// ---------------------------------------------------------------------------------------------
// PNG and SVG

test("PNG export: width x scale by height x scale, with the bars' exact colours", { skip: needsBrowser() }, async () => {
  const fig = barFigure();
  const t0 = performance.now();
  const png = await exporter!.png(fig, { width: 320, height: 240, scale: 2 });
  const ms = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await exporter!.png(fig, { width: 320, height: 240, scale: 2 });
    times.push(performance.now() - t);
  }
  console.log(`# png 640x480: first ${ms.toFixed(0)} ms, then ${times.map((t) => t.toFixed(0)).join("/")} ms`);
  const red = pixelStats(png, RED);
  assert.equal(red.width, 640);
  assert.equal(red.height, 480);
  assert.ok(red.matching > 2000, `red bar pixels: ${red.matching}`);
  assert.ok(pixelStats(png, BLUE).matching > 2000, "blue bar pixels");
  // The layout's size is the default.
  const sized = pixelStats(await exporter!.png({ ...fig, layout: { ...fig.layout, width: 300, height: 200 } }, { scale: 1 }));
  assert.deepEqual([sized.width, sized.height], [300, 200]);
});

test("SVG export starts with <svg and holds both bar traces", { skip: needsBrowser() }, async () => {
  const t0 = performance.now();
  const svg = await exporter!.svg(barFigure(), { width: 400, height: 300 });
  console.log(`# svg: ${(performance.now() - t0).toFixed(0)} ms`);
  assert.ok(svg.startsWith("<svg"), svg.slice(0, 40));
  assert.match(svg, /width="400"/);
  assert.equal(svg.match(/class="trace bars"/g)?.length, 2);
  assert.match(svg, /rgb\(214, 39, 40\)/);
  assert.match(svg, /Dice by method/);
});

test("exportFigure writes .html, .png and .svg, and no temporary files", { skip: needsBrowser() }, async () => {
  const out = join(dir, "all");
  const t0 = performance.now();
  const paths = await exportFigure(barFigure(), join(out, "fig1"), { exporter, width: 300, height: 200, scale: 2, plotly: "beside" });
  console.log(`# exportFigure html+png+svg: ${(performance.now() - t0).toFixed(0)} ms`);
  assert.deepEqual(paths, { html: join(out, "fig1.html"), png: join(out, "fig1.png"), svg: join(out, "fig1.svg") });
  assert.deepEqual(readdirSync(out).sort(), ["fig1.html", "fig1.png", "fig1.svg", "plotly.min.js"]);
  const s = pixelStats(readFileSync(join(out, "fig1.png")));
  assert.deepEqual([s.width, s.height], [600, 400]);
  assert.ok(readFileSync(join(out, "fig1.svg"), "utf8").startsWith("<svg"));
  noTempFiles(out);
});

// ---------------------------------------------------------------------------------------------
// Failures keep older files

test("an export that fails leaves the older files intact and no temporary file", { skip: needsBrowser() }, async () => {
  const out = join(dir, "atomic");
  await exportFigure(barFigure(), join(out, "fig"), { exporter, formats: ["html", "png"], width: 200, height: 150 });
  const oldHtml = readFileSync(join(out, "fig.html"));
  const oldPng = readFileSync(join(out, "fig.png"));
  // plotly rejects a null trace
  const bad = { data: [null], layout: { title: { text: "new" } } } as unknown as Figure;
  await assert.rejects(exportFigure(bad, join(out, "fig"), { exporter, formats: ["html", "png", "svg"] }), (err: unknown) => {
    assert.ok(err instanceof UnpairedError);
    assert.equal(err.code, "EXPORT_FAILED");
    assert.match(err.message, /plotly could not render figure "new" as PNG/);
    return true;
  });
  // a forced failure after the HTML was made
  const failing = { png: async () => Promise.reject(new Error("forced failure")), svg: async () => "<svg/>" } as unknown as FigureExporter;
  await assert.rejects(exportFigure({ ...barFigure(), layout: { title: "changed" } }, join(out, "fig"), { exporter: failing }), /forced failure/);
  assert.deepEqual(readFileSync(join(out, "fig.html")), oldHtml, "old HTML kept");
  assert.deepEqual(readFileSync(join(out, "fig.png")), oldPng, "old PNG kept");
  assert.ok(!existsSync(join(out, "fig.svg")), "no SVG appeared");
  noTempFiles(out);
  // the exporter still works after plotly rejected a figure
  assert.equal(pixelStats(await exporter!.png(barFigure(), { width: 100, height: 80, scale: 1 })).width, 100);
});

test("bad sizes and non-figures are BAD_OPTION before any browser work", async () => {
  await assert.rejects(exportFigure(barFigure(), join(dir, "x"), { width: -3, exporter: {} as FigureExporter }), { code: "BAD_OPTION" });
  await assert.rejects(exportFigure({ data: [], layout: null } as unknown as Figure, join(dir, "x")), { code: "BAD_OPTION" });
  await assert.rejects(exportFigure(barFigure(), join(dir, "x"), { formats: ["pdf" as "png"] }), { code: "BAD_OPTION" });
  assert.ok(!existsSync(join(dir, "x.html")));
});

test("a render that runs past its timeout fails with a clear EXPORT_FAILED", { skip: needsBrowser() }, async () => {
  const slow = await FigureExporter.launch({ browser: browserInfo!, renderTimeoutMs: 1 });
  try {
    await assert.rejects(slow.png(barFigure()), (err: unknown) => {
      assert.ok(err instanceof UnpairedError && err.code === "EXPORT_FAILED");
      assert.match(err.message, /did not finish rendering figure "Dice by method" as PNG within 0.001 s/);
      return true;
    });
  } finally {
    await slow.close();
  }
  await assert.rejects(slow.png(barFigure()), /closed/);
});

// ---------------------------------------------------------------------------------------------
// findBrowser

function fakeExecutable(folder: string, name: string): string {
  const p = join(folder, name);
  writeFileSync(p, "#!/bin/sh\nexit 0\n");
  chmodSync(p, 0o755);
  return p;
}

test("findBrowser honours CHROME_PATH", async () => {
  const exe = fakeExecutable(mkdtempSync(join(dir, "cp-")), "my-chrome");
  const found = await findBrowser({ env: { CHROME_PATH: exe, PATH: "" }, bundled: false });
  assert.deepEqual(found, { path: exe, source: "CHROME_PATH", args: [] });
});

test("CHROME_PATH that is missing, a folder or not executable: NO_BROWSER naming the variable", async () => {
  const folder = mkdtempSync(join(dir, "cp-"));
  const notExe = join(folder, "plain");
  writeFileSync(notExe, "x");
  for (const bad of [join(folder, "missing-chrome"), folder, notExe]) {
    await assert.rejects(findBrowser({ env: { CHROME_PATH: bad } }), (err: unknown) => {
      assert.ok(err instanceof UnpairedError);
      assert.equal(err.code, "NO_BROWSER");
      assert.match(err.message, /CHROME_PATH/);
      assert.ok(err.message.includes(JSON.stringify(bad)));
      return true;
    });
  }
});

test("findBrowser: PATH names in order, then known paths, then the npm-bundled Chromium", async () => {
  const bin = mkdtempSync(join(dir, "bin-"));
  const chrome = fakeExecutable(bin, "google-chrome");
  const env = { PATH: `/nonexistent:${bin}` };
  assert.deepEqual(await findBrowser({ env, bundled: false }), { path: chrome, source: "system", args: [] });
  const chromium = fakeExecutable(bin, "chromium");
  assert.equal((await findBrowser({ env, bundled: false })).path, chromium, "chromium comes before google-chrome");
  const known = fakeExecutable(mkdtempSync(join(dir, "opt-")), "chrome");
  assert.deepEqual(await findBrowser({ env: { PATH: "" }, knownPaths: ["/nonexistent/chrome", known], bundled: false }), { path: known, source: "system", args: [] });
  const bundledExe = fakeExecutable(mkdtempSync(join(dir, "npm-")), "chromium");
  const found = await findBrowser({ env: { PATH: "" }, knownPaths: [], bundled: async () => ({ path: bundledExe, args: ["--no-sandbox"] }) });
  assert.equal(found.source, "@sparticuz/chromium");
  assert.equal(found.path, bundledExe);
  assert.deepEqual(found.args, ["--no-sandbox"]);
});

test("with no browser anywhere, NO_BROWSER says how to get one", async () => {
  for (const bundled of [false as const, async () => Promise.reject(new Error("extraction failed: disk full"))]) {
    await assert.rejects(findBrowser({ env: { PATH: "" }, knownPaths: [], bundled }), (err: unknown) => {
      assert.ok(err instanceof UnpairedError);
      assert.equal(err.code, "NO_BROWSER");
      assert.match(err.message, /CHROME_PATH/);
      assert.match(err.message, /sudo apt-get install chromium/);
      assert.match(err.message, /npm install/);
      if (bundled) assert.match(err.message, /extraction failed: disk full/);
      return true;
    });
  }
});

test("the real search finds a browser here (CHROME_PATH unset)", { skip: needsBrowser() }, () => {
  assert.ok(browserInfo);
  assert.ok(["CHROME_PATH", "system", "@sparticuz/chromium"].includes(browserInfo.source));
});
