// Figures of the style space (IntraStyler Fig. 4, top): the 2D PCA scatter of the target
// images' style embeddings, coloured by K-means cluster (or by named sub-domain or true style)
// with each cluster's exemplar as a star, and the silhouette score by k with the chosen k marked.
import { UnpairedError } from "../util/errors.js";
import {
  axisTitle,
  baseLayout,
  categoryOrder,
  chartConfig,
  escapeText,
  finiteOrNull,
  formatNumber,
  formatPercent,
  legendRight,
  requireRows,
  type ChartSize,
} from "./chartLayout.js";
import { colourAt, type Figure, type Trace } from "./figure.js";

/** One image in the style space. */
export interface StylePoint {
  /** First principal component. */
  x: number;
  /** Second principal component. */
  y: number;
  /** K-means cluster index (a whole number; also picks the cluster's colour). */
  cluster: number;
  /** The image's id (file or case name). */
  id: string;
  /** The pre-specified sub-domain the image comes from, e.g. its site ("etz", "ldn", "ukm"). */
  namedDomain: string;
  /** The true style, where known (phantoms carry it; real data does not). */
  trueStyle?: string | number;
}

/** What colours the points: K-means cluster (the default), named sub-domain or true style. */
export type StyleColouring = "cluster" | "namedDomain" | "trueStyle";

export interface StylePcaFigureOptions extends ChartSize {
  points: readonly StylePoint[];
  /** Explained variance ratio of PC1 and PC2 as fractions (0 to 1), e.g. ml-pca's getExplainedVariance(); more entries are ignored. */
  explainedVarianceRatio: readonly number[];
  /** Ids of the exemplars (each cluster's most typical image), drawn as stars. */
  exemplarIds?: readonly string[];
  colourBy?: StyleColouring;
  /** What the named sub-domain is called in hover text and the legend (default "site"). */
  namedDomainLabel?: string;
}

const WHAT_PCA = "stylePcaFigure";

function checkPoints(points: readonly StylePoint[]): void {
  requireRows(WHAT_PCA, "points", points.length);
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      throw new UnpairedError("BAD_CONFIG", `${WHAT_PCA}: point "${p.id}" has a coordinate that is not a finite number (x ${p.x}, y ${p.y}); check the embeddings and the PCA that made them`);
    }
    if (!Number.isInteger(p.cluster)) {
      throw new UnpairedError("BAD_CONFIG", `${WHAT_PCA}: point "${p.id}" has cluster ${p.cluster}; clusters must be whole numbers (K-means labels)`);
    }
  }
}

function checkVariance(ratio: readonly number[]): [number, number] {
  const [a, b] = ratio;
  if (a === undefined || b === undefined) {
    throw new UnpairedError("BAD_CONFIG", `${WHAT_PCA}: explainedVarianceRatio needs the ratios of PC1 and PC2, got ${ratio.length} value(s)`);
  }
  for (const v of [a, b]) {
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) {
      throw new UnpairedError("BAD_CONFIG", `${WHAT_PCA}: explainedVarianceRatio holds ${v}; give fractions from 0 to 1 (0.421 for 42.1 %)`);
    }
  }
  return [a, b];
}

const sortLevels = (xs: string[]) => xs.sort((p, q) => p.localeCompare(q, "en", { numeric: true }));

/** The group key of points without a true style (cannot clash with a real style, which is printable). */
const NO_STYLE = "\u0000none";

/**
 * The style-embedding scatter: one marker trace per colour group (cluster, named sub-domain or
 * true style; together they hold every point once), then an "exemplars" trace of stars (bigger,
 * black outline, the colour of their group) at the exemplars' coordinates. Hover text gives the
 * image id, named sub-domain, true style and cluster; the axis titles carry the explained
 * variance ("PC1 (42.1 %)").
 */
export function stylePcaFigure(opts: StylePcaFigureOptions): Figure {
  const points = opts.points;
  checkPoints(points);
  const [v1, v2] = checkVariance(opts.explainedVarianceRatio);
  const colourBy = opts.colourBy ?? "cluster";
  if (!["cluster", "namedDomain", "trueStyle"].includes(colourBy)) {
    throw new UnpairedError("BAD_CONFIG", `${WHAT_PCA}: colourBy must be "cluster", "namedDomain" or "trueStyle", got ${JSON.stringify(colourBy)}`);
  }
  if (colourBy === "trueStyle" && points.every((p) => p.trueStyle === undefined)) {
    throw new UnpairedError("BAD_CONFIG", `${WHAT_PCA}: colourBy is "trueStyle" but no point has a trueStyle; colour by "cluster" or "namedDomain", or give the true styles`);
  }
  const domainLabel = opts.namedDomainLabel ?? "site";

  // The group a point belongs to, and each group's name and colour.
  const keyOf = (p: StylePoint): string =>
    colourBy === "cluster" ? String(p.cluster) : colourBy === "namedDomain" ? p.namedDomain : p.trueStyle === undefined ? NO_STYLE : String(p.trueStyle);
  let groups: string[];
  if (colourBy === "cluster") {
    groups = [...new Set(points.map((p) => p.cluster))].sort((a, b) => a - b).map(String);
  } else {
    const known = new Set(points.filter((p) => colourBy === "namedDomain" || p.trueStyle !== undefined).map(keyOf));
    groups = sortLevels([...known]);
    if (colourBy === "trueStyle" && points.some((p) => p.trueStyle === undefined)) groups.push(NO_STYLE);
  }
  const colourOf = (key: string): string => (colourBy === "cluster" ? colourAt(Number(key)) : colourAt(groups.indexOf(key)));
  const nameOf = (key: string): string => (colourBy === "cluster" ? `cluster ${key}` : colourBy === "namedDomain" ? key : key === NO_STYLE ? "style unknown" : `style ${key}`);

  const hover = (p: StylePoint): string =>
    [
      `<b>${escapeText(p.id)}</b>`,
      `${escapeText(domainLabel)}: ${escapeText(p.namedDomain)}`,
      `true style: ${p.trueStyle === undefined ? "unknown" : escapeText(String(p.trueStyle))}`,
      `cluster: ${p.cluster}`,
    ].join("<br>");

  const data: Trace[] = groups.map((key) => {
    const members = points.filter((p) => keyOf(p) === key);
    return {
      type: "scatter",
      mode: "markers",
      name: nameOf(key),
      legendgroup: nameOf(key),
      x: members.map((p) => finiteOrNull(p.x)),
      y: members.map((p) => finiteOrNull(p.y)),
      text: members.map(hover),
      hovertemplate: "%{text}<extra></extra>",
      marker: { color: colourOf(key), size: 9, opacity: 0.85, line: { color: "white", width: 0.5 } },
    };
  });

  const exemplarIds = opts.exemplarIds ?? [];
  if (exemplarIds.length > 0) {
    const exemplars: StylePoint[] = [];
    for (const id of exemplarIds) {
      const found = points.filter((p) => p.id === id);
      if (found.length === 0) throw new UnpairedError("BAD_CONFIG", `${WHAT_PCA}: exemplarIds names "${id}", which no point has; use the ids of the points`);
      exemplars.push(...found);
    }
    data.push({
      type: "scatter",
      mode: "markers",
      name: "exemplars",
      x: exemplars.map((p) => finiteOrNull(p.x)),
      y: exemplars.map((p) => finiteOrNull(p.y)),
      text: exemplars.map((p) => `exemplar of cluster ${p.cluster}<br>${hover(p)}`),
      hovertemplate: "%{text}<extra></extra>",
      marker: { symbol: "star", size: 20, color: exemplars.map((p) => colourOf(keyOf(p))), line: { color: "black", width: 1.5 } },
    });
  }

  const legendTitle = colourBy === "cluster" ? "K-means cluster" : colourBy === "namedDomain" ? domainLabel : "true style";
  const layout = baseLayout(WHAT_PCA, opts, { width: 760, height: 600, title: `Style embeddings (PCA), coloured by ${legendTitle}` });
  layout.xaxis = { title: { text: `PC1 (${formatPercent(v1)})` } };
  layout.yaxis = { title: { text: `PC2 (${formatPercent(v2)})` } };
  layout.legend = legendRight(legendTitle);
  layout.hovermode = "closest";
  return { data, layout, config: chartConfig() };
}

/** The mean silhouette score of one K-means run with k clusters. */
export interface SilhouettePoint {
  k: number;
  /** The same field as lib/analysis chooseK's byK rows, so those rows plot as they are. */
  silhouette: number;
}

export interface SilhouetteFigureOptions extends ChartSize {
  scores: readonly SilhouettePoint[];
  /** The k chosen (default: the k with the highest score). */
  chosenK?: number;
}

const WHAT_SIL = "silhouetteFigure";

/**
 * Silhouette score by number of clusters k: a line with markers (non-finite scores are gaps),
 * the chosen k as a large red marker with a dashed vertical line and a label.
 */
export function silhouetteFigure(opts: SilhouetteFigureOptions): Figure {
  requireRows(WHAT_SIL, "scores", opts.scores.length);
  const ks = new Set<number>();
  for (const s of opts.scores) {
    if (!(Number.isInteger(s.k) && s.k >= 1)) throw new UnpairedError("BAD_CONFIG", `${WHAT_SIL}: scores holds k = ${s.k}; k must be a whole number >= 1`);
    if (ks.has(s.k)) throw new UnpairedError("BAD_CONFIG", `${WHAT_SIL}: scores holds k = ${s.k} twice; give one score per k`);
    ks.add(s.k);
  }
  const sorted = [...opts.scores].sort((a, b) => a.k - b.k);
  const finite = sorted.filter((s) => Number.isFinite(s.silhouette));
  if (finite.length === 0) throw new UnpairedError("BAD_CONFIG", `${WHAT_SIL}: no score is a finite number; there is nothing to plot`);
  const best = finite.reduce((a, b) => (b.silhouette > a.silhouette ? b : a));
  const chosenK = opts.chosenK ?? best.k;
  const chosen = sorted.find((s) => s.k === chosenK);
  if (!chosen || !Number.isFinite(chosen.silhouette)) {
    throw new UnpairedError("BAD_CONFIG", `${WHAT_SIL}: chosenK = ${chosenK} has no finite score in scores (k: ${sorted.map((s) => s.k).join(", ")}); choose one of those`);
  }

  const data: Trace[] = [
    {
      type: "scatter",
      mode: "lines+markers",
      name: "silhouette score",
      x: sorted.map((s) => s.k),
      y: sorted.map((s) => finiteOrNull(s.silhouette)),
      line: { color: colourAt(0), width: 2 },
      marker: { color: colourAt(0), size: 8 },
      hovertemplate: "k = %{x}<br>score %{y:.3f}<extra></extra>",
    },
    {
      type: "scatter",
      mode: "markers",
      name: `chosen k = ${chosenK}`,
      x: [chosenK],
      y: [finiteOrNull(chosen.silhouette)],
      marker: { color: colourAt(3), size: 16, symbol: "circle-open", line: { color: colourAt(3), width: 3 } },
      hovertemplate: "chosen k = %{x}<br>score %{y:.3f}<extra></extra>",
    },
  ];

  const layout = baseLayout(WHAT_SIL, opts, { width: 640, height: 420, title: "Silhouette score by number of clusters" });
  const span = sorted[sorted.length - 1]!.k - sorted[0]!.k;
  layout.xaxis = { title: { text: "number of clusters k" }, ...(span <= 30 ? { dtick: 1 } : {}) };
  layout.yaxis = { title: { text: axisTitle("mean silhouette score") } };
  layout.shapes = [{ type: "line", xref: "x", yref: "paper", x0: chosenK, x1: chosenK, y0: 0, y1: 1, line: { color: colourAt(3), width: 1.5, dash: "dash" } }];
  layout.annotations = [
    { text: `k = ${chosenK} (${formatNumber(chosen.silhouette)})`, xref: "x", yref: "paper", x: chosenK, y: 1, xanchor: "left", yanchor: "bottom", xshift: 4, showarrow: false, font: { size: 13, color: colourAt(3) } },
  ];
  layout.showlegend = false;
  return { data, layout, config: chartConfig() };
}
