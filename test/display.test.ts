// Notebook display through tslab: with the real tslab "jupyter" module's lastWriteDisplayData
// replaced by a recorder, show() sends one display_data with the plotly JSON (an object), a PNG
// fallback and a text line; tables go as HTML + Markdown + text; images as PNG. Outside a kernel
// nothing throws and a text summary is printed.
import { after, afterEach, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { from } from "arquero";
import { PNG } from "pngjs";
import { closeSharedExporter, type FigureExporter } from "../lib/viz/export.js";
import { inNotebook, liveHtmlDisplay, mimeBundle, PLOTLY_MIME, show, showHtml, showImage, showTable, type MimeBundle } from "../lib/viz/display.js";
import type { Figure } from "../lib/viz/figure.js";
import { encodePng, type Bitmap } from "../lib/viz/png.js";
import { UnpairedError } from "../lib/util/errors.js";

type Sent = { content: MimeBundle & { transient: Record<string, unknown> }; update: boolean };
const req = createRequire(join(process.cwd(), "index.js"));
// The same module instance a tslab kernel started from this project uses.
const jupyter = req("tslab/dist/jupyter") as { lastWriteDisplayData: ((c: Sent["content"], u: boolean) => void) | null };

let sent: Sent[] = [];
const record = (content: Sent["content"], update: boolean) => {
  sent.push({ content, update });
};
beforeEach(() => {
  sent = [];
  jupyter.lastWriteDisplayData = record;
});
afterEach(() => {
  jupyter.lastWriteDisplayData = null;
});
after(async () => {
  await closeSharedExporter();
});

const barFigure = (): Figure => ({
  data: [
    { type: "bar", name: "red", x: ["a", "b"], y: new Float64Array([3, 5]) as unknown as number[], marker: { color: "#d62728" } },
    { type: "scatter", name: "line", x: ["a", "b"], y: [4, NaN] },
  ],
  layout: { title: { text: "Dice by method" }, width: 400, height: 300 },
});

/** Captures console.log / console.warn lines while `fn` runs. */
async function captureConsole<T>(fn: () => Promise<T> | T): Promise<{ result: T; log: string[]; warn: string[] }> {
  const log: string[] = [];
  const warn: string[] = [];
  const [l, w] = [console.log, console.warn];
  console.log = (...a: unknown[]) => void log.push(a.join(" "));
  console.warn = (...a: unknown[]) => void warn.push(a.join(" "));
  try {
    return { result: await fn(), log, warn };
  } finally {
    console.log = l;
    console.warn = w;
  }
}

test("mimeBundle: the plotly JSON as an object, optional PNG, a one-line text", () => {
  const b = mimeBundle(barFigure());
  assert.deepEqual(Object.keys(b.data).sort(), [PLOTLY_MIME, "text/plain"].sort());
  const plotly = b.data[PLOTLY_MIME] as { data: unknown[]; layout: Record<string, unknown>; config: unknown };
  assert.equal(typeof plotly, "object");
  assert.ok(Array.isArray(plotly.data));
  assert.deepEqual((plotly.data[0] as { y: unknown }).y, [3, 5], "typed arrays are plain arrays");
  assert.deepEqual((plotly.data[1] as { y: unknown }).y, [4, null], "NaN is null");
  assert.equal((plotly.layout.title as { text: string }).text, "Dice by method");
  assert.equal(b.data["text/plain"], 'Figure "Dice by method": 2 traces (bar, scatter), 400x300');
  assert.deepEqual(b.metadata, {});
  const withPng = mimeBundle(barFigure(), encodePng({ width: 1, height: 1, channels: 1, data: new Uint8Array([7]) }));
  assert.match(withPng.data["image/png"] as string, /^iVBORw0KGgo/);
});

test("show(fig) in a kernel sends ONE display_data: plotly object + PNG + text/plain", async () => {
  assert.ok(inNotebook());
  const t0 = performance.now();
  const returned = await show(barFigure());
  console.log(`# show() with the PNG fallback (browser start included): ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(sent.length, 1);
  const { content, update } = sent[0]!;
  assert.equal(update, false, "a new display_data, not an update");
  assert.deepEqual(content.transient, {});
  assert.deepEqual(content.metadata, {});
  assert.deepEqual(Object.keys(content.data).sort(), [PLOTLY_MIME, "image/png", "text/plain"].sort());
  const plotly = content.data[PLOTLY_MIME] as { data: unknown; layout: unknown };
  assert.equal(typeof plotly, "object", "an object, not a JSON string");
  assert.ok(Array.isArray(plotly.data));
  assert.equal(typeof plotly.layout, "object");
  assert.ok(!Array.isArray(plotly.layout));
  const b64 = content.data["image/png"];
  assert.equal(typeof b64, "string");
  const png = PNG.sync.read(Buffer.from(b64 as string, "base64"));
  assert.deepEqual([png.width, png.height], [400, 300], "the layout's size at scale 1");
  assert.equal(typeof content.data["text/plain"], "string");
  assert.deepEqual(returned.data, content.data);
  // A second figure reuses the browser.
  const t1 = performance.now();
  await show(barFigure(), { width: 200, height: 100, scale: 2 });
  console.log(`# show() again: ${(performance.now() - t1).toFixed(0)} ms`);
  const png2 = PNG.sync.read(Buffer.from(sent[1]!.content.data["image/png"] as string, "base64"));
  assert.deepEqual([png2.width, png2.height], [400, 200]);
});

test("show without a browser: the bundle goes without PNG and one warning line is printed", async () => {
  const noBrowser = { png: async () => Promise.reject(new UnpairedError("NO_BROWSER", "none")) } as unknown as FigureExporter;
  const { result, warn } = await captureConsole(() => show(barFigure(), { exporter: noBrowser }));
  assert.equal(sent.length, 1);
  assert.deepEqual(Object.keys(sent[0]!.content.data).sort(), [PLOTLY_MIME, "text/plain"].sort());
  assert.equal(warn.length, 1);
  assert.match(warn[0]!, /without its PNG fallback: no browser found .*CHROME_PATH/);
  assert.ok(!("image/png" in result.data));
  await assert.rejects(show({ data: "x" } as unknown as Figure), { code: "BAD_OPTION" });
});

test("png: false sends the figure without a fallback", async () => {
  await show(barFigure(), { png: false });
  assert.equal(sent.length, 1);
  assert.ok(!("image/png" in sent[0]!.content.data));
});

test("showTable (arquero table) sends text/html + text/markdown + text/plain together", () => {
  const table = from([
    { method: "CycleGAN", dice: 0.71234567, n: 12 },
    { method: "IntraStyler | v2", dice: 0.8, n: 12 },
    { method: "<CUT>", dice: null, n: 3 },
  ]);
  showTable(table, { title: "Dice" });
  assert.equal(sent.length, 1);
  const data = sent[0]!.content.data;
  assert.deepEqual(Object.keys(data).sort(), ["text/html", "text/markdown", "text/plain"]);
  const html = data["text/html"] as string;
  assert.match(html, /<table/);
  assert.match(html, /<th [^>]*>method<\/th>/);
  assert.match(html, /<caption[^>]*>Dice<\/caption>/);
  assert.match(html, /&lt;CUT&gt;/, "cells are escaped");
  assert.match(html, />0\.712</, "3 decimals by default");
  const md = (data["text/markdown"] as string).split("\n");
  assert.deepEqual(md.slice(0, 4), ["**Dice**", "", "| method | dice | n |", "| :--- | ---: | ---: |"]);
  assert.ok(md.includes("| IntraStyler \\| v2 | 0.800 | 12 |"), "pipes escaped in Markdown");
  const text = data["text/plain"] as string;
  assert.match(text, /CycleGAN\s+0\.712\s+12/);
});

test("showTable of row objects truncates with a note", () => {
  const rows = Array.from({ length: 30 }, (_, i) => ({ case: `c${i}`, value: i / 3 }));
  const b = showTable(rows, { maxRows: 5 });
  assert.equal(sent.length, 1);
  assert.match(b.data["text/plain"] as string, /\.\.\. 25 more rows \(30 in all\)/);
  assert.equal(((b.data["text/html"] as string).match(/<tr[ >]/g) ?? []).length, 6, "header + 5 rows");
  assert.throws(() => showTable("nope" as unknown as []), { code: "BAD_OPTION" });
});

test("showImage sends the PNG of a kit image (or PNG bytes as they are)", () => {
  const image: Bitmap = { width: 3, height: 2, channels: 3, data: Uint8Array.from({ length: 18 }, (_, i) => i * 10) };
  showImage(image, { width: 300, title: "sample" });
  const { data, metadata } = sent[0]!.content;
  assert.deepEqual(Object.keys(data).sort(), ["image/png", "text/plain"]);
  const png = PNG.sync.read(Buffer.from(data["image/png"] as string, "base64"));
  assert.deepEqual([png.width, png.height], [3, 2]);
  assert.deepEqual([png.data[4], png.data[5], png.data[6]], [30, 40, 50], "pixel (1,0) kept");
  assert.deepEqual(metadata, { "image/png": { width: 300, height: 200 } });
  assert.equal(data["text/plain"], "sample: image 3x2 (RGB)");
  const bytes = encodePng({ width: 5, height: 4, channels: 1, data: new Uint8Array(20) });
  showImage(bytes);
  assert.equal(sent[1]!.content.data["image/png"], Buffer.from(bytes).toString("base64"));
  assert.equal(sent[1]!.content.data["text/plain"], "image 5x4 (PNG)");
  assert.throws(() => showImage(new Uint8Array([1, 2, 3])), { code: "BAD_OPTION" });
});

test("showHtml sends text/html with a text/plain copy", () => {
  showHtml("<b>hello</b> <i>there</i>");
  assert.deepEqual(sent[0]!.content.data, { "text/html": "<b>hello</b> <i>there</i>", "text/plain": "hello there" });
});

test("a kernel's tslab loaded from elsewhere (a global install) is found too", async () => {
  jupyter.lastWriteDisplayData = null;
  const key = "/opt/global/lib/node_modules/tslab/dist/jupyter.js";
  const other: Sent[] = [];
  (req.cache as Record<string, unknown>)[key] = { exports: { lastWriteDisplayData: (content: Sent["content"], update: boolean) => other.push({ content, update }) } };
  try {
    showHtml("<p>x</p>");
    assert.equal(other.length, 1);
    assert.equal(sent.length, 0);
  } finally {
    delete (req.cache as Record<string, unknown>)[key];
  }
});

test("outside a kernel: nothing throws, a text summary is printed and the bundle returned", async () => {
  jupyter.lastWriteDisplayData = null;
  assert.equal(inNotebook(), false);
  const { result, log } = await captureConsole(async () => {
    const fig = await show(barFigure());
    const table = showTable([{ a: 1, b: "x" }]);
    return { fig, table };
  });
  assert.equal(sent.length, 0);
  assert.ok(!("image/png" in result.fig.data), "no PNG rendered when nothing would show it");
  assert.ok(PLOTLY_MIME in result.fig.data);
  assert.equal(log[0], 'Figure "Dice by method": 2 traces (bar, scatter), 400x300');
  assert.match(log[1]!, /^a\s+b\n/);
});

test("liveHtmlDisplay sends one display_data, then updates the same display id; none outside a kernel", () => {
  const live = liveHtmlDisplay();
  assert.ok(live, "a kernel is there (the recorder)");
  live.html("<p>step 1</p>");
  live.html("<p>step 2</p>");
  assert.equal(sent.length, 2);
  assert.deepEqual(sent.map((s) => s.update), [false, true]);
  const id = sent[0]!.content.transient["display_id"];
  assert.equal(typeof id, "string");
  assert.equal(sent[1]!.content.transient["display_id"], id);
  assert.deepEqual(sent[1]!.content.data, { "text/html": "<p>step 2</p>" });
  jupyter.lastWriteDisplayData = null;
  assert.equal(liveHtmlDisplay(), undefined);
});
