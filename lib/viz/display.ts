// Shows figures, images, tables and HTML in a notebook (tslab kernel in JupyterLab): each call
// sends one Jupyter display_data message carrying several mime types at once (a plotly figure
// goes as application/vnd.plotly.v1+json with an image/png fallback and a text/plain line).
// Outside a kernel nothing breaks: the text/plain form is printed instead.
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { UnpairedError } from "../util/errors.js";
import { checkFigure, plainFigure, sharedExporter, type FigureExporter } from "./export.js";
import { figureTitle, type Figure } from "./figure.js";
import { encodePng, type Bitmap } from "./png.js";
import { tableFromRows, toHtml, toMarkdown, toText, type Row } from "../analysis/tables.js";

/** The mime type JupyterLab's plotly renderer draws. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** The content of a Jupyter display_data message (less `transient`). */
export interface MimeBundle {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** tslab's internal writer: sends a display_data (or update_display_data) message. */
export type WriteDisplayData = (content: MimeBundle & { transient: Record<string, unknown> }, update: boolean) => void;

type JupyterModule = { lastWriteDisplayData?: WriteDisplayData | null };

const JUPYTER_JS = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/**
 * The loaded tslab "jupyter" module whose lastWriteDisplayData is set (it is while a tslab kernel
 * runs a cell). First the tslab that `require` resolves from the working folder (the project's),
 * then any other loaded copy (a globally installed kernel). Only modules that are already loaded
 * count: loading tslab here would not make a kernel.
 */
function kernelModule(): JupyterModule | undefined {
  let req: NodeJS.Require;
  try {
    req = createRequire(join(process.cwd(), "index.js"));
  } catch {
    return undefined;
  }
  const usable = (m: unknown): m is JupyterModule => typeof (m as JupyterModule | undefined)?.lastWriteDisplayData === "function";
  try {
    const mod = req.cache[req.resolve("tslab/dist/jupyter")]?.exports;
    if (usable(mod)) return mod;
  } catch {
    // no tslab in this project
  }
  for (const [key, entry] of Object.entries(req.cache)) {
    if (JUPYTER_JS.test(key) && usable(entry?.exports)) return entry.exports as JupyterModule;
  }
  return undefined;
}

/** True when a tslab kernel is there to send display messages to. */
export function inNotebook(): boolean {
  return kernelModule() !== undefined;
}

/**
 * Sends `bundle` as one display_data message through tslab; outside a kernel prints its
 * text/plain form. Returns true when it went to a kernel.
 */
export function sendBundle(bundle: MimeBundle): boolean {
  const mod = kernelModule();
  // Read the writer at call time: tslab replaces it for every cell it runs.
  const write = mod?.lastWriteDisplayData;
  if (typeof write === "function") {
    write({ data: bundle.data, metadata: bundle.metadata, transient: {} }, false);
    return true;
  }
  const text = bundle.data["text/plain"];
  console.log(typeof text === "string" ? text : `[display: ${Object.keys(bundle.data).join(", ")}]`);
  return false;
}

/**
 * One display entry that each call to html() replaces (a live view: training progress), or
 * undefined outside a kernel. The first call sends display_data with a display id, later calls
 * update_display_data for the same id, as tslab's newDisplay does.
 */
export function liveHtmlDisplay(): { html(s: string): void } | undefined {
  if (!inNotebook()) return undefined;
  const id = randomBytes(8).toString("hex");
  let update = false;
  return {
    html(s: string) {
      const write = kernelModule()?.lastWriteDisplayData;
      if (typeof write !== "function") return;
      write({ data: { "text/html": s }, metadata: {}, transient: { display_id: id } }, update);
      update = true;
    },
  };
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");

/** One line describing a figure: its title, traces and size. */
export function describeFigure(fig: Figure): string {
  const title = figureTitle(fig).replace(/<[^>]*>/g, "").trim();
  const counts = new Map<string, number>();
  for (const t of fig.data) counts.set(t.type ?? "scatter", (counts.get(t.type ?? "scatter") ?? 0) + 1);
  const kinds = [...counts].map(([k, n]) => (n > 1 ? `${n} ${k}` : k)).join(", ");
  const { width, height } = fig.layout;
  const size = typeof width === "number" && typeof height === "number" ? `, ${width}x${height}` : "";
  return `Figure${title ? ` "${title}"` : ""}: ${fig.data.length} trace${fig.data.length === 1 ? "" : "s"}${kinds ? ` (${kinds})` : ""}${size}`;
}

/**
 * The display_data content of a figure: the plotly JSON as an object (what JupyterLab's plotly
 * renderer needs), the PNG (if given) as base64 for front ends without that renderer, and a
 * one-line text/plain description.
 */
export function mimeBundle(fig: Figure, png?: Uint8Array): MimeBundle {
  checkFigure(fig, "mimeBundle");
  const plain = plainFigure(fig);
  const data: Record<string, unknown> = {
    [PLOTLY_MIME]: { data: plain.data, layout: plain.layout, config: plain.config ?? {} },
  };
  if (png) data["image/png"] = base64(png);
  data["text/plain"] = describeFigure(fig);
  return { data, metadata: {} };
}

export interface ShowOptions {
  /**
   * Render an image/png fallback (needs a browser; one warning line and no PNG when there is
   * none). Default: true inside a kernel, false outside (nothing would show it).
   */
  png?: boolean;
  /** Size of the PNG fallback (default the layout's, else 700 x 450) and its scale (default 1). */
  width?: number;
  height?: number;
  scale?: number;
  /** Render with this exporter instead of the shared one. */
  exporter?: FigureExporter;
}

/** Shows a plotly figure in the notebook (live plot plus PNG fallback); returns what was sent. */
export async function show(fig: Figure, opts: ShowOptions = {}): Promise<MimeBundle> {
  checkFigure(fig, "show");
  let png: Uint8Array | undefined;
  if (opts.png ?? inNotebook()) {
    try {
      const exporter = opts.exporter ?? (await sharedExporter());
      png = await exporter.png(fig, { width: opts.width, height: opts.height, scale: opts.scale ?? 1 });
    } catch (err) {
      if (err instanceof UnpairedError && err.code === "BAD_OPTION") throw err;
      const why = err instanceof UnpairedError && err.code === "NO_BROWSER" ? "no browser found (set CHROME_PATH, or sudo apt-get install chromium)" : (err instanceof Error ? err.message : String(err)).split("\n")[0];
      console.warn(`show: sending the figure without its PNG fallback: ${why}`);
    }
  }
  const bundle = mimeBundle(fig, png);
  sendBundle(bundle);
  return bundle;
}

export interface ShowImageOptions {
  /** Displayed width in pixels (the height follows); default the image's own. */
  width?: number;
  /** Text for text/plain; default "image WxH". */
  title?: string;
}

function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || sig.some((b, i) => bytes[i] !== b)) {
    throw new UnpairedError("BAD_OPTION", "showImage: these bytes are not a PNG file (expected PNG bytes or an image {width, height, channels, data})");
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** Shows an image: PNG file bytes, or the kit's 8-bit image {width, height, channels, data}. */
export function showImage(image: Uint8Array | Bitmap, opts: ShowImageOptions = {}): MimeBundle {
  const png = image instanceof Uint8Array ? image : encodePng(image);
  const { width, height } = pngSize(png);
  const kind = image instanceof Uint8Array ? "PNG" : ({ 1: "grey", 2: "grey + alpha", 3: "RGB", 4: "RGBA" } as const)[image.channels];
  const metadata: Record<string, unknown> = {};
  if (opts.width !== undefined) {
    if (!(opts.width > 0)) throw new UnpairedError("BAD_OPTION", `showImage: width must be a positive number, got ${opts.width}`);
    metadata["image/png"] = { width: Math.round(opts.width), height: Math.round((opts.width * height) / width) };
  }
  const bundle: MimeBundle = {
    data: { "image/png": base64(png), "text/plain": `${opts.title ? `${opts.title}: ` : ""}image ${width}x${height} (${kind})` },
    metadata,
  };
  sendBundle(bundle);
  return bundle;
}

/** Shows an HTML snippet (text/html, with `text` or a tag-stripped copy as text/plain). */
export function showHtml(html: string, text?: string): MimeBundle {
  const plain = text ?? html.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  const bundle: MimeBundle = { data: { "text/html": html, "text/plain": plain }, metadata: {} };
  sendBundle(bundle);
  return bundle;
}

// ---------------------------------------------------------------------------------------------
// Tables

/** What showTable accepts: an arquero table (anything with columnNames/numRows/objects) or rows. */
export interface TableSource {
  columnNames(): string[];
  numRows(): number;
  objects(options?: { limit?: number }): object[];
}
export type ShowableTable = TableSource | readonly Readonly<Record<string, unknown>>[];

export interface ShowTableOptions {
  /** Rows shown (the rest are counted); default 50. */
  maxRows?: number;
  /** Decimal places of non-integer numbers (columns of whole numbers stay whole); default 3. */
  digits?: number;
  /** A caption above the table. */
  title?: string;
}

function isTableSource(t: unknown): t is TableSource {
  const x = t as TableSource;
  return !!x && typeof x.columnNames === "function" && typeof x.numRows === "function" && typeof x.objects === "function";
}

/**
 * The text/html, text/markdown and text/plain forms of a table (the first maxRows rows, the
 * rest counted in a note), written by lib/analysis/tables' formatters.
 */
export function tableBundle(table: ShowableTable, opts: ShowTableOptions = {}): MimeBundle {
  const maxRows = opts.maxRows ?? 50;
  if (!(Number.isInteger(maxRows) && maxRows >= 0)) throw new UnpairedError("BAD_OPTION", `showTable: maxRows must be a whole number >= 0, got ${maxRows}`);
  let rows: Row[];
  let columns: string[];
  let total: number;
  if (isTableSource(table)) {
    columns = table.columnNames();
    total = table.numRows();
    rows = table.objects({ limit: maxRows }) as Row[];
  } else if (Array.isArray(table)) {
    const all = table as readonly Row[];
    columns = [...new Set(all.flatMap((r) => Object.keys(r ?? {})))];
    total = all.length;
    rows = all.slice(0, maxRows);
  } else {
    throw new UnpairedError("BAD_OPTION", "showTable: expected an arquero table or an array of row objects");
  }
  const shown = tableFromRows(rows, columns);
  const format = opts.digits === undefined ? {} : { digits: opts.digits };
  const more = total - rows.length;
  const note = more > 0 ? `... ${more} more row${more === 1 ? "" : "s"} (${total} in all)` : "";
  const html =
    `<div style="overflow-x:auto">${toHtml(shown, { ...format, ...(opts.title === undefined ? {} : { caption: opts.title }) })}` +
    (note ? `<div style="font-size:11px;color:#666">${note}</div>` : "") +
    `</div>`;
  const title = opts.title ?? "";
  const markdown = [...(title ? [`**${title.replace(/([\\*_|])/g, "\\$1")}**`, ""] : []), toMarkdown(shown, format).trimEnd(), ...(note ? ["", `_${note}_`] : [])].join("\n");
  const plain = [...(title ? [title] : []), toText(shown, format).trimEnd(), ...(note ? [note] : [])].join("\n");
  return { data: { "text/html": html, "text/markdown": markdown, "text/plain": plain }, metadata: {} };
}

/** Shows a table (arquero table or row objects) as HTML, Markdown and plain text together. */
export function showTable(table: ShowableTable, opts: ShowTableOptions = {}): MimeBundle {
  const bundle = tableBundle(table, opts);
  sendBundle(bundle);
  return bundle;
}
