// Shared pieces of the chart figure builders: the white template, fonts and config every chart
// uses, subplot columns, axis titles with units, number formatting, category ordering and the
// JSON-safe conversion of numbers (plotly JSON cannot carry NaN, so gaps are null).
import { UnpairedError } from "../util/errors.js";
import { PALETTE, type Layout } from "./figure.js";

/** Font family of every chart. */
export const CHART_FONT = "Arial, Helvetica, sans-serif";

const GRID = "#e5e9f0";
const LINE = "#444444";

/** Size and title options every chart builder takes. */
export interface ChartSize {
  /** Figure width in pixels (each builder has its own default). */
  width?: number;
  /** Figure height in pixels. */
  height?: number;
  /** Figure title (each builder has its own default). */
  title?: string;
}

/** plotly's config for every chart: no plotly logo, resizes with its container. */
export function chartConfig(): Record<string, unknown> {
  return { displaylogo: false, responsive: true };
}

/** Axis styling of the white template (applied to every x and y axis). */
export function axisStyle(): Record<string, unknown> {
  return {
    gridcolor: GRID,
    zerolinecolor: GRID,
    zerolinewidth: 1.5,
    linecolor: LINE,
    showline: true,
    ticks: "outside",
    tickcolor: LINE,
    automargin: true,
    title: { standoff: 8 },
  };
}

/** A plotly template object (plotly.js takes objects, not Python's template names): white backgrounds, light grid, the kit's palette. */
export function whiteTemplate(): Record<string, unknown> {
  return {
    layout: {
      paper_bgcolor: "white",
      plot_bgcolor: "white",
      font: { family: CHART_FONT, size: 14, color: "#222222" },
      xaxis: axisStyle(),
      yaxis: axisStyle(),
      colorway: [...PALETTE],
    },
  };
}

function checkPixels(what: string, option: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 50 && v <= 10000)) {
    throw new UnpairedError("BAD_CONFIG", `${what}: ${option} must be a number of pixels from 50 to 10000, got ${v}`);
  }
}

/**
 * The common layout: title, size, white template, fonts, margins and legend. `what` names the
 * builder in error messages; defaults apply where opts leave width/height/title out.
 */
export function baseLayout(what: string, opts: ChartSize, defaults: { width: number; height: number; title: string }): Layout {
  const width = opts.width ?? defaults.width;
  const height = opts.height ?? defaults.height;
  checkPixels(what, "width", width);
  checkPixels(what, "height", height);
  const title = { text: opts.title ?? defaults.title, x: 0.02, xanchor: "left", font: { size: 18 } };
  return {
    title,
    width,
    height,
    template: whiteTemplate(),
    paper_bgcolor: "white",
    plot_bgcolor: "white",
    font: { family: CHART_FONT, size: 14, color: "#222222" },
    margin: { l: 70, r: 30, t: 70, b: 60 },
    legend: legendRight(),
    hoverlabel: { font: { family: CHART_FONT, size: 13 } },
  };
}

/** A vertical legend to the right of the plot. */
export function legendRight(title?: string): Record<string, unknown> {
  return { orientation: "v", x: 1.02, xanchor: "left", y: 1, yanchor: "top", ...(title ? { title: { text: title } } : {}) };
}

/** A horizontal legend just above the plot area, under the title. */
export function legendTop(title?: string): Record<string, unknown> {
  return { orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom", ...(title ? { title: { text: title } } : {}) };
}

/** "ASSD (mm)" from a name and an optional unit. */
export function axisTitle(name: string, unit?: string): string {
  return unit ? `${name} (${unit})` : name;
}

/** A fraction as a percentage with `digits` decimals and a thin space: 0.4213 -> "42.1 %". */
export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)} %`;
}

/** A number for hover text and labels: `digits` significant digits, NaN/±Infinity spelled out. */
export function formatNumber(v: number, digits = 3): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Inf" : "-Inf";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e6) return String(Number(v.toPrecision(digits)));
  return v.toExponential(Math.max(0, digits - 1));
}

/** A number for plotly JSON: finite numbers pass (−0 becomes 0), anything else is null (a gap). */
export function finiteOrNull(v: number | null | undefined): number | null {
  if (typeof v !== "number" || !Number.isFinite(v)) return null;
  return v === 0 ? 0 : v;
}

/** Column subplots: the paper x-domain of each of n columns with a gap (fraction of the width) between them. */
export function columnDomains(n: number, gap = 0.08): [number, number][] {
  const w = (1 - gap * (n - 1)) / n;
  return Array.from({ length: n }, (_, i) => {
    const a = i * (w + gap);
    return [round6(a), round6(i === n - 1 ? 1 : a + w)];
  });
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

/** Axis ids of subplot i (0-based): trace refs "x"/"x2"... and layout keys "xaxis"/"xaxis2"... */
export function subplotAxes(i: number): { x: string; y: string; xKey: string; yKey: string } {
  const s = i === 0 ? "" : String(i + 1);
  return { x: `x${s}`, y: `y${s}`, xKey: `xaxis${s}`, yKey: `yaxis${s}` };
}

/** A title over a subplot column, as a paper-anchored annotation. */
export function subplotTitle(text: string, domain: [number, number]): Record<string, unknown> {
  return {
    text: `<b>${escapeText(text)}</b>`,
    x: round6((domain[0] + domain[1]) / 2),
    y: 1,
    xref: "paper",
    yref: "paper",
    xanchor: "center",
    yanchor: "bottom",
    yshift: 6,
    showarrow: false,
    font: { size: 15 },
  };
}

/** A note under the plot (e.g. how many values were left out), as a paper-anchored annotation. */
export function footnote(text: string): Record<string, unknown> {
  return { text, x: 0, y: 0, xref: "paper", yref: "paper", xanchor: "left", yanchor: "top", yshift: -42, showarrow: false, align: "left", font: { size: 12, color: "#555555" } };
}

/** Text for plotly labels and hover (which read a subset of HTML): &, < and > escaped. */
export function escapeText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * The levels of a category in display order: `given` (checked: every level present in the data
 * must be in it, and it must not repeat one) or, without it, the order of first appearance.
 */
export function categoryOrder(what: string, option: string, present: Iterable<string>, given?: readonly string[]): string[] {
  const seen = [...new Set(present)];
  if (!given) return seen;
  const dup = given.find((g, i) => given.indexOf(g) !== i);
  if (dup !== undefined) throw new UnpairedError("BAD_CONFIG", `${what}: ${option} lists "${dup}" twice; list each once`);
  const lacking = seen.filter((s) => !given.includes(s));
  if (lacking.length > 0) {
    throw new UnpairedError("BAD_CONFIG", `${what}: ${option} lacks ${lacking.map((s) => `"${s}"`).join(", ")}, which the rows hold; add them to ${option} or filter the rows first`);
  }
  return [...given];
}

/** Throws BAD_CONFIG when a list the builder plots is empty. */
export function requireRows(what: string, option: string, n: number): void {
  if (n === 0) throw new UnpairedError("BAD_CONFIG", `${what}: ${option} is empty; there is nothing to plot`);
}

/** A "#rrggbb" colour as "rgba(r, g, b, alpha)" (e.g. a translucent box fill in its line colour). */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  return `rgba(${parseInt(m[1]!, 16)}, ${parseInt(m[2]!, 16)}, ${parseInt(m[3]!, 16)}, ${alpha})`;
}

/** A whole number from lo to hi (clamped): sizes that grow with the number of categories. */
export function clampSize(v: number, lo: number, hi: number): number {
  return Math.round(Math.min(hi, Math.max(lo, v)));
}
