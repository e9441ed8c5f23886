// Box plots of per-case segmentation metrics: Dice or ASSD per structure and method
// (IntraStyler Fig. 5) and Dice per pseudo-labelling strategy and target domain, one panel per
// structure (the SynDiff study). Every case is drawn as a point over its box; values that are
// not finite numbers are left out and counted in a note under the plot.
import { UnpairedError } from "../util/errors.js";
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
  requireRows,
  subplotAxes,
  subplotTitle,
  withAlpha,
  type ChartSize,
} from "./chartLayout.js";
import { colourAt, type Figure, type Trace } from "./figure.js";

/** One case's value of one metric for one structure and method. */
export interface MetricRow {
  /** The case (subject/image) id, shown on hover. */
  case: string;
  method: string;
  /** e.g. "intra-meatal VS", "extra-meatal VS", "cochlea", "boundary". */
  structure: string;
  /** The metric; NaN, null or ±Infinity (e.g. ASSD with an empty prediction) is left out and counted. */
  value: number | null;
}

export interface MetricBoxFigureOptions extends ChartSize {
  rows: readonly MetricRow[];
  /** The metric's name, for the y-axis title and the default figure title, e.g. "Dice" or "ASSD". */
  metric: string;
  /** Its unit, e.g. "mm" (y-axis title "ASSD (mm)"); none for Dice. */
  unit?: string;
  /** Method order (default: first appearance); also fixes each method's colour. */
  methods?: readonly string[];
  /** Structure order along x (default: first appearance). */
  structures?: readonly string[];
  /** Fixed y range [min, max] (default: plotly's autorange). */
  yRange?: readonly [number, number];
}

/** A row of the generic grouped-box panel: x category, box group (one colour), panel, value, hover label. */
interface BoxRow {
  x: string;
  group: string;
  facet: string;
  value: number | null;
  label: string;
}

interface BoxPanels {
  what: string;
  rows: readonly BoxRow[];
  xLevels: readonly string[];
  groupLevels: readonly string[];
  /** Panel titles, one column of subplots each; [""] for a single untitled panel. */
  facetLevels: readonly string[];
  yTitle: string;
  xTitle: string;
  yRange?: readonly [number, number];
  groupWord: string;
}

function checkRange(what: string, r: readonly [number, number] | undefined): void {
  if (r === undefined) return;
  if (!(r.length === 2 && Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] < r[1])) {
    throw new UnpairedError("BAD_CONFIG", `${what}: yRange must be [min, max] with finite min < max, got ${JSON.stringify(r)}`);
  }
}

/**
 * Grouped boxes in one or more side-by-side panels: per panel one box trace per group (same
 * colour and legend entry for a group in every panel, legend shown once), all points drawn with
 * jitter. Returns the traces, the axes and a footnote counting the values left out.
 */
function boxPanels(p: BoxPanels): { data: Trace[]; axes: Record<string, unknown>; annotations: Record<string, unknown>[]; missing: number } {
  checkRange(p.what, p.yRange);
  const single = p.facetLevels.length === 1 && p.facetLevels[0] === "";
  const domains = columnDomains(p.facetLevels.length, 0.06);
  const data: Trace[] = [];
  const axes: Record<string, unknown> = {};
  const annotations: Record<string, unknown>[] = [];
  const missingBy: string[] = [];
  let missing = 0;

  p.facetLevels.forEach((facet, fi) => {
    const ax = subplotAxes(fi);
    p.groupLevels.forEach((group, gi) => {
      const rows = p.rows.filter((r) => r.facet === facet && r.group === group);
      const kept = rows.filter((r) => finiteOrNull(r.value) !== null);
      const left = rows.length - kept.length;
      missing += left;
      if (left > 0) missingBy.push(`${escapeText(group)}${single ? "" : ` / ${escapeText(facet)}`}: ${left}`);
      const colour = colourAt(gi);
      data.push({
        type: "box",
        name: group,
        legendgroup: group,
        offsetgroup: group,
        showlegend: fi === 0,
        xaxis: ax.x,
        yaxis: ax.y,
        x: kept.map((r) => r.x),
        y: kept.map((r) => finiteOrNull(r.value)),
        text: kept.map((r) => escapeText(r.label)),
        boxpoints: "all",
        jitter: 0.4,
        pointpos: 0,
        boxmean: true,
        marker: { color: colour, size: 5, opacity: 0.75 },
        line: { color: colour, width: 1.5 },
        fillcolor: withAlpha(colour, 0.2),
        hovertemplate: `%{text}<br>%{x}: %{y:.3f}<extra>${escapeText(group)}</extra>`,
        meta: { missing: left },
      });
    });
    axes[ax.xKey] = {
      type: "category",
      categoryorder: "array",
      categoryarray: [...p.xLevels],
      domain: domains[fi],
      anchor: ax.y,
      title: { text: p.xTitle },
    };
    axes[ax.yKey] = {
      anchor: ax.x,
      ...(fi === 0 ? { title: { text: p.yTitle } } : { matches: "y" }),
      ...(p.yRange ? { range: [...p.yRange] } : {}),
    };
    if (!single) annotations.push(subplotTitle(facet, domains[fi]!));
  });
  if (missing > 0) annotations.push(footnote(`Left out (not a finite number): ${missing} value${missing === 1 ? "" : "s"} (n missing by ${p.groupWord}: ${missingBy.join("; ")})`));
  return { data, axes, annotations, missing };
}

const WHAT_BOX = "metricBoxFigure";

/**
 * Box plots of one metric per structure (x) and method (one box trace per method, boxmode
 * "group"), every case drawn as a jittered point with its case id on hover, the mean as a dashed
 * line. Non-finite values are left out and counted in a footnote and in each trace's
 * meta.missing.
 */
export function metricBoxFigure(opts: MetricBoxFigureOptions): Figure {
  requireRows(WHAT_BOX, "rows", opts.rows.length);
  if (!opts.metric) throw new UnpairedError("BAD_CONFIG", `${WHAT_BOX}: metric is empty; name the metric, e.g. "Dice" or "ASSD"`);
  const methods = categoryOrder(WHAT_BOX, "methods", opts.rows.map((r) => r.method), opts.methods);
  const structures = categoryOrder(WHAT_BOX, "structures", opts.rows.map((r) => r.structure), opts.structures);
  const yTitle = axisTitle(opts.metric, opts.unit);
  const panels = boxPanels({
    what: WHAT_BOX,
    rows: opts.rows.map((r) => ({ x: r.structure, group: r.method, facet: "", value: r.value, label: r.case })),
    xLevels: structures,
    groupLevels: methods,
    facetLevels: [""],
    yTitle,
    xTitle: "structure",
    ...(opts.yRange ? { yRange: opts.yRange } : {}),
    groupWord: "method",
  });
  const layout = baseLayout(WHAT_BOX, opts, {
    width: clampSize(260 + structures.length * Math.max(2, methods.length) * 55, 700, 1500),
    height: 520,
    title: `${opts.metric} per structure and method`,
  });
  Object.assign(layout, panels.axes);
  layout.boxmode = "group";
  layout.boxgroupgap = 0.25;
  layout.annotations = panels.annotations;
  if (panels.missing > 0) layout.margin = { l: 70, r: 30, t: 70, b: 100 };
  return { data: panels.data, layout, config: chartConfig() };
}

/** One case's Dice for one structure, under one pseudo-labelling strategy, in one target domain. */
export interface StrategyDiceRow {
  /** The case (image) id, or fold, shown on hover. */
  case: string;
  /** e.g. "NoAdapt", "Tutorship", "Adaptation". */
  strategy: string;
  /** The target domain, e.g. "TEM (rat)", "SEM", "bright-field". */
  domain: string;
  /** e.g. "axon", "myelin". */
  structure: string;
  /** Dice in [0, 1]; NaN or null is left out and counted. */
  dice: number | null;
}

export interface DiceByStrategyFigureOptions extends ChartSize {
  rows: readonly StrategyDiceRow[];
  /** Strategy order (default: first appearance); also fixes each strategy's colour. */
  strategies?: readonly string[];
  /** Target domain order along x (default: first appearance), e.g. by increasing dissimilarity. */
  domains?: readonly string[];
  /** Structure order, one panel each (default: first appearance). */
  structures?: readonly string[];
  /** Shared y range (default [0, 1.02], Dice's range plus room for the top points). */
  yRange?: readonly [number, number];
}

const WHAT_STRATEGY = "diceByStrategyFigure";

/**
 * Dice box plots of the pseudo-labelling study: one panel per structure (shared y axis), target
 * domains along x, one box per strategy (same colour in every panel, one legend entry), all
 * cases as points. Non-finite values are left out and counted in a footnote.
 */
export function diceByStrategyFigure(opts: DiceByStrategyFigureOptions): Figure {
  requireRows(WHAT_STRATEGY, "rows", opts.rows.length);
  const strategies = categoryOrder(WHAT_STRATEGY, "strategies", opts.rows.map((r) => r.strategy), opts.strategies);
  const domains = categoryOrder(WHAT_STRATEGY, "domains", opts.rows.map((r) => r.domain), opts.domains);
  const structures = categoryOrder(WHAT_STRATEGY, "structures", opts.rows.map((r) => r.structure), opts.structures);
  const panels = boxPanels({
    what: WHAT_STRATEGY,
    rows: opts.rows.map((r) => ({ x: r.domain, group: r.strategy, facet: r.structure, value: r.dice, label: r.case })),
    xLevels: domains,
    groupLevels: strategies,
    facetLevels: structures,
    yTitle: "Dice",
    xTitle: "target domain",
    yRange: opts.yRange ?? [0, 1.02],
    groupWord: "strategy / structure",
  });
  const layout = baseLayout(WHAT_STRATEGY, opts, {
    width: clampSize(220 + structures.length * domains.length * Math.max(2, strategies.length) * 45, 700, 1600),
    height: 520,
    title: "Dice by pseudo-labelling strategy and target domain",
  });
  Object.assign(layout, panels.axes);
  layout.boxmode = "group";
  layout.boxgroupgap = 0.25;
  layout.annotations = panels.annotations;
  layout.margin = { l: 70, r: 30, t: 90, b: panels.missing > 0 ? 100 : 60 };
  return { data: panels.data, layout, config: chartConfig() };
}
