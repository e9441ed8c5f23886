// Bar chart of translation quality (SSIM, PSNR, L1 of the SynDiff study): mean ± sample sd per
// target domain and translator, one panel per metric since each has its own scale (PSNR in dB).
import { describe } from "../analysis/tables.js";
import {
  axisTitle,
  baseLayout,
  categoryOrder,
  chartConfig,
  clampSize,
  columnDomains,
  escapeText,
  finiteOrNull,
  footnote,
  formatNumber,
  requireRows,
  subplotAxes,
  subplotTitle,
  type ChartSize,
} from "./chartLayout.js";
import { colourAt, type Figure, type Trace } from "./figure.js";

/** One case's value of one quality metric, for one target domain and translator. */
export interface QualityRow {
  /** The target domain, e.g. "SEM". */
  domain: string;
  /** The translation method, e.g. "SynDiff", "CycleGAN". */
  translator: string;
  /** e.g. "SSIM", "PSNR", "L1". */
  metric: string;
  /** NaN, null or ±Infinity (PSNR of identical images) is left out and counted. */
  value: number | null;
}

export interface QualityBarsFigureOptions extends ChartSize {
  rows: readonly QualityRow[];
  /** Metric order, one panel each (default: first appearance). */
  metrics?: readonly string[];
  /** Domain order along x (default: first appearance). */
  domains?: readonly string[];
  /** Translator order (default: first appearance); also fixes each translator's colour. */
  translators?: readonly string[];
  /** Units by metric for the y-axis titles (default {PSNR: "dB"}); metrics not plotted are ignored. */
  units?: Readonly<Record<string, string>>;
}

const WHAT = "qualityBarsFigure";

/**
 * One panel per metric; in each, x = target domain, one bar trace per translator (grouped, same
 * colour in every panel, one legend entry) at the mean, with error bars of the sample standard
 * deviation (none where n < 2). Hover gives mean ± sd and n. Non-finite values are left out and
 * counted in a footnote.
 */
export function qualityBarsFigure(opts: QualityBarsFigureOptions): Figure {
  requireRows(WHAT, "rows", opts.rows.length);
  const metrics = categoryOrder(WHAT, "metrics", opts.rows.map((r) => r.metric), opts.metrics);
  const domains = categoryOrder(WHAT, "domains", opts.rows.map((r) => r.domain), opts.domains);
  const translators = categoryOrder(WHAT, "translators", opts.rows.map((r) => r.translator), opts.translators);
  const units: Readonly<Record<string, string>> = opts.units ?? { PSNR: "dB" };
  const domainsX = columnDomains(metrics.length, 0.1);

  const data: Trace[] = [];
  const layoutAxes: Record<string, unknown> = {};
  const annotations: Record<string, unknown>[] = [];
  const missingBy: string[] = [];
  let missing = 0;

  metrics.forEach((metric, mi) => {
    const ax = subplotAxes(mi);
    translators.forEach((translator, ti) => {
      const stats = domains.map((domain) => describe(opts.rows.filter((r) => r.metric === metric && r.translator === translator && r.domain === domain).map((r) => finiteOrNull(r.value))));
      const left = stats.reduce((s, st) => s + st.missing, 0);
      missing += left;
      if (left > 0) missingBy.push(`${escapeText(translator)} / ${escapeText(metric)}: ${left}`);
      const colour = colourAt(ti);
      data.push({
        type: "bar",
        name: translator,
        legendgroup: translator,
        offsetgroup: translator,
        showlegend: mi === 0,
        xaxis: ax.x,
        yaxis: ax.y,
        x: [...domains],
        y: stats.map((s) => finiteOrNull(s.mean)),
        error_y: { type: "data", array: stats.map((s) => finiteOrNull(s.sd)), visible: true, color: "#333333", thickness: 1.5, width: 4 },
        text: stats.map((s) => `${formatNumber(s.mean)} ± ${formatNumber(s.sd)} (n = ${s.n}${s.missing ? `, ${s.missing} missing` : ""})`),
        textposition: "none",
        hovertemplate: `%{x}<br>${escapeText(metric)}: %{text}<extra>${escapeText(translator)}</extra>`,
        marker: { color: colour, line: { color: colour, width: 1 } },
        meta: { missing: left, n: stats.map((s) => s.n) },
      });
    });
    layoutAxes[ax.xKey] = { type: "category", categoryorder: "array", categoryarray: [...domains], domain: domainsX[mi], anchor: ax.y, title: { text: "target domain" } };
    layoutAxes[ax.yKey] = { anchor: ax.x, title: { text: axisTitle(metric, units[metric]) }, rangemode: "tozero" };
    annotations.push(subplotTitle(metric, domainsX[mi]!));
  });
  if (missing > 0) annotations.push(footnote(`Left out (not a finite number): ${missing} value${missing === 1 ? "" : "s"} (${missingBy.join("; ")})`));

  const layout = baseLayout(WHAT, opts, {
    width: clampSize(200 + metrics.length * Math.max(320, domains.length * translators.length * 40), 600, 1700),
    height: 460,
    title: "Translation quality by target domain and translator (mean ± sd)",
  });
  Object.assign(layout, layoutAxes);
  layout.barmode = "group";
  layout.bargap = 0.25;
  layout.annotations = annotations;
  layout.margin = { l: 70, r: 30, t: 90, b: missing > 0 ? 100 : 60 };
  return { data, layout, config: chartConfig() };
}
