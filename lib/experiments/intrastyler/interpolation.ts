// fig-interpolation (IntraStyler Fig. 3): styles that no single target image has, synthesised by
// SLERP between the style vectors of two exemplars (the two most distant in the style space):
// t = 0, 0.25, 0.5, 0.75, 1 and two extrapolated steps beyond the second exemplar (1.25 and 1.5,
// as the reference extrapolates), for a few sources. The style cosine of each output to both
// exemplars and to the SLERP target itself, along t, shows whether the path is smooth.
import { slerpPath } from "../../analysis/slerp.js";
import type { Row } from "../../analysis/tables.js";
import { baseLayout, chartConfig, legendRight } from "../../viz/chartLayout.js";
import { colourAt, type Figure, type Trace } from "../../viz/figure.js";
import { EXTRAPOLATED_COLOUR, interpolationGridFigure } from "../../viz/imageFigures.js";
import { composeGrid } from "../../viz/imageGrid.js";
import type { Bitmap } from "../../viz/png.js";
import { ProgressBar } from "../../util/progress.js";
import { UnpairedError } from "../../util/errors.js";
import type { Volume } from "../../volume/volume.js";
import {
  cosine,
  defaultRegion,
  embedVolumes,
  exemplarCase,
  exemplarsOf,
  formatFixed,
  meanOf,
  openStyleRun,
  pickSources,
  roundTo,
  sliceImage,
  styleSpaceOf,
  translateWithStyle,
  type ExemplarInfo,
  type SourceCase,
  type StyleRun,
  type StyleSpaceData,
} from "./styleRun.js";
import type { Experiment, ExperimentConfig, ExperimentResult, KeyNumber } from "../framework/types.js";

export const INTERPOLATION_NAME = "fig-interpolation";
const TITLE = "Style interpolation by SLERP between two exemplars, with extrapolation (IntraStyler Fig. 3)";

/** The default weights: the exemplars at 0 and 1, three styles between, two beyond the second exemplar. */
export const DEFAULT_TS: readonly number[] = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5];

export interface InterpolationOptions {
  /** Source images (rows); default 1 (smoke), 3 (quick), 4 (paper). */
  sources?: number;
  /** SLERP weights (default DEFAULT_TS). */
  ts?: readonly number[];
  /** Clusters whose exemplars are interpolated [A (t = 0), B (t = 1)] (default: the two exemplars with the lowest style cosine). */
  pair?: readonly [number, number];
  /** Region translated, volume axes, centred on the labels (default: defaultRegion); null: whole volume. */
  region?: readonly number[] | null;
}

export interface Interpolation {
  profile: string;
  seed: number;
  space: StyleSpaceData;
  /** Exemplars A (t = 0) and B (t = 1). */
  pair: [ExemplarInfo, ExemplarInfo];
  pairImages: [Bitmap, Bitmap];
  ts: number[];
  /** The SLERP style of each t [t][styleDim]. */
  targets: number[][];
  sources: SourceCase[];
  /** images[i][t]: source i translated with targets[t]. */
  images: Volume[][];
  /** Style vector of each output [i][t]. */
  styles: number[][][];
  seconds: number;
}

/** The cosines of one output. */
export interface CosinePoint {
  toA: number;
  toB: number;
  toTarget: number;
}

/** The two exemplars farthest apart in the style space (lowest cosine), A the smaller cluster label. */
export function mostDistantPair(exemplars: readonly ExemplarInfo[]): [ExemplarInfo, ExemplarInfo] {
  if (exemplars.length < 2) throw new UnpairedError("BAD_CONFIG", "interpolation needs two exemplars; the style space has one cluster");
  let best: [ExemplarInfo, ExemplarInfo] = [exemplars[0]!, exemplars[1]!];
  let lowest = Infinity;
  for (let a = 0; a < exemplars.length; a++) {
    for (let b = a + 1; b < exemplars.length; b++) {
      const c = cosine(exemplars[a]!.vector, exemplars[b]!.vector);
      if (c < lowest) {
        lowest = c;
        best = [exemplars[a]!, exemplars[b]!];
      }
    }
  }
  return best;
}

/** Step 1: the IntraStyler run and the style space (shared with the other style figures). */
export async function interpolationStyleSpace(cfg: ExperimentConfig): Promise<{ run: StyleRun; space: StyleSpaceData }> {
  const run = await openStyleRun(cfg);
  return { run, space: await styleSpaceOf(cfg) };
}

/** Step 2: translate each source with the SLERP style at every t, and embed the outputs. */
export async function interpolateStyles(cfg: ExperimentConfig, opts: InterpolationOptions = {}): Promise<Interpolation> {
  const t0 = performance.now();
  const { run, space } = await interpolationStyleSpace(cfg);
  const exemplars = exemplarsOf(space);
  let pair: [ExemplarInfo, ExemplarInfo];
  if (opts.pair) {
    const find = (c: number) => {
      const e = exemplars.find((x) => x.cluster === c);
      if (!e) throw new UnpairedError("BAD_OPTION", `interpolation: no cluster ${c}; the style space has clusters 0..${exemplars.length - 1}`);
      return e;
    };
    pair = [find(opts.pair[0]), find(opts.pair[1])];
  } else pair = mostDistantPair(exemplars);
  const ts = [...(opts.ts ?? DEFAULT_TS)];
  const targets = slerpPath(pair[0].vector, pair[1].vector, ts);
  const nSources = opts.sources ?? (cfg.profile === "smoke" ? 1 : cfg.profile === "quick" ? 3 : 4);
  const region = opts.region === undefined ? defaultRegion(cfg.profile, run.config.patch) : opts.region;
  const sources = await pickSources(run.dataset, nSources, region);
  const total = sources.length * ts.length;
  const bar = new ProgressBar("translate along the SLERP path", total, { quiet: !cfg.progress });
  const images = sources.map((s, i) =>
    targets.map((style, j) => {
      const v = translateWithStyle(run, s.image, style);
      bar.update({ done: i * ts.length + j + 1, total, info: `${s.subject.id} t = ${ts[j]}` });
      return v;
    }),
  );
  bar.finish();
  const opt = space.options.step === null ? { crops: space.options.crops } : { crops: space.options.crops, step: space.options.step };
  const flat = embedVolumes(run, images.flat(), opt).vectors;
  const styles = images.map((row, i) => row.map((_, j) => flat[i * ts.length + j]!));
  const cases = [await exemplarCase(run, pair[0], region), await exemplarCase(run, pair[1], region)];
  const pairImages = cases.map((c) => sliceImage(c.image, c.slice)) as [Bitmap, Bitmap];
  return { profile: cfg.profile, seed: cfg.seed, space, pair, pairImages, ts, targets, sources, images, styles, seconds: (performance.now() - t0) / 1000 };
}

/** The cosines of every output [i][t]. */
export function interpolationCosines(r: Interpolation): CosinePoint[][] {
  return r.styles.map((row) => row.map((v, j) => ({ toA: cosine(v, r.pair[0].vector), toB: cosine(v, r.pair[1].vector), toTarget: cosine(v, r.targets[j]!) })));
}

const isExtrapolated = (t: number) => t < 0 || t > 1;

/** Pearson correlation (NaN when either side is constant). */
function correlation(a: readonly number[], b: readonly number[]): number {
  const ma = meanOf(a);
  const mb = meanOf(b);
  let num = 0;
  let da = 0;
  let db = 0;
  a.forEach((x, i) => {
    num += (x - ma) * (b[i]! - mb);
    da += (x - ma) ** 2;
    db += (b[i]! - mb) ** 2;
  });
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : NaN;
}

interface PathSummary {
  /** Per t (means over sources): measured and ideal margins cos(., B) - cos(., A). */
  margin: number[];
  idealMargin: number[];
  /** Steps between t = 0 and t = 1 (the interpolation proper, in t order) where the measured margin falls. */
  decreasingSteps: number;
  /** Steps in that range. */
  interpolationSteps: number;
  /** Correlation of the measured margin with the ideal one along t (all t, extrapolation included). */
  correlation: number;
  /** (margin(1) - margin(0)) / (ideal(1) - ideal(0)): how much of the exemplars' style difference the outputs reproduce. */
  strength: number;
  /** Largest step between t = 0 and 1 as a share of the travel there (an even 4-step path: 1/4). */
  largestStepShare: number;
  /** The margin at the last extrapolated t is above the margin at t = 1 (null without t > 1). */
  extrapolationContinues: boolean | null;
  /** The largest margin beyond t = 1 and where it is reached (null without t > 1). */
  extrapolationPeak: { t: number; margin: number } | null;
  meanToTarget: number;
}

/**
 * The shape of a margin path along t: falls and step sizes inside the interpolated range
 * [0, 1], how much of the ideal travel it covers, and what the extrapolated t > 1 add.
 */
export function marginPath(ts: readonly number[], margin: readonly number[], idealMargin: readonly number[]): Omit<PathSummary, "meanToTarget"> {
  const inside = ts.map((t, j) => [t, j] as const).filter(([t]) => t >= 0 && t <= 1).sort((a, b) => a[0] - b[0]).map(([, j]) => j);
  let decreasing = 0;
  let travel = 0;
  let largest = 0;
  for (let q = 1; q < inside.length; q++) {
    const step = margin[inside[q]!]! - margin[inside[q - 1]!]!;
    if (step < 0) decreasing++;
    travel += Math.abs(step);
    largest = Math.max(largest, Math.abs(step));
  }
  const j0 = ts.indexOf(0);
  const j1 = ts.indexOf(1);
  const strength = j0 >= 0 && j1 >= 0 ? (margin[j1]! - margin[j0]!) / (idealMargin[j1]! - idealMargin[j0]!) : NaN;
  const beyond = ts.map((t, j) => [t, j] as const).filter(([t]) => t > 1).sort((a, b) => a[0] - b[0]);
  let extrapolationPeak: PathSummary["extrapolationPeak"] = null;
  for (const [t, j] of beyond) if (!extrapolationPeak || margin[j]! > extrapolationPeak.margin) extrapolationPeak = { t, margin: margin[j]! };
  return {
    margin: [...margin],
    idealMargin: [...idealMargin],
    decreasingSteps: decreasing,
    interpolationSteps: Math.max(0, inside.length - 1),
    correlation: correlation(margin, idealMargin),
    strength,
    largestStepShare: travel > 0 ? largest / travel : NaN,
    extrapolationContinues: j1 >= 0 && beyond.length ? margin[beyond[beyond.length - 1]![1]]! > margin[j1]! : null,
    extrapolationPeak: j1 >= 0 ? extrapolationPeak : null,
  };
}

export function pathSummary(r: Interpolation): PathSummary {
  const cos = interpolationCosines(r);
  const margin = r.ts.map((_, j) => meanOf(cos.map((row) => row[j]!.toB - row[j]!.toA)));
  const idealMargin = r.targets.map((s) => cosine(s, r.pair[1].vector) - cosine(s, r.pair[0].vector));
  return { ...marginPath(r.ts, margin, idealMargin), meanToTarget: meanOf(cos.flat().map((c) => c.toTarget)) };
}

/** Step 3: the SLERP grid (plotly, exemplars at both ends) and the same as one PNG. */
export function interpolationGridFigures(r: Interpolation): { figure: Figure; image: Bitmap } {
  const label = (s: SourceCase) => s.subject.id.replace(/^.*?_(\w+_\d+)_\w+$/, "$1");
  const tiles = r.images.map((row, i) => row.map((v) => sliceImage(v, r.sources[i]!.slice)));
  const srcTiles = r.sources.map((s) => sliceImage(s.image, s.slice));
  const figure = interpolationGridFigure({
    title: `SLERP from cluster ${r.pair[0].cluster} to cluster ${r.pair[1].cluster} (red: extrapolated)`,
    sources: r.sources.map((s, i) => ({ image: srcTiles[i]!, label: label(s) })),
    ts: r.ts,
    images: tiles,
    exemplars: [
      { image: r.pairImages[0], name: `A: cluster ${r.pair[0].cluster}${r.pair[0].trueStyle ? ` (${r.pair[0].trueStyle})` : ""}`, cluster: r.pair[0].cluster },
      { image: r.pairImages[1], name: `B: cluster ${r.pair[1].cluster}${r.pair[1].trueStyle ? ` (${r.pair[1].trueStyle})` : ""}`, cluster: r.pair[1].cluster },
    ],
    tileSize: 128,
  });
  const image = composeGrid(
    [[null, r.pairImages[0], ...r.ts.map(() => null), r.pairImages[1]], ...tiles.map((row, i) => [srcTiles[i]!, null, ...row, null])],
    { gap: 2, margin: 2, scale: 2 },
  );
  return { figure, image };
}

/** Step 4: the style cosine along t: to A, to B and to the SLERP target, measured (solid, range over sources) and for a perfect style copy (dashed). */
export function styleCosineFigure(r: Interpolation): Figure {
  const cos = interpolationCosines(r);
  const order = r.ts.map((t, j) => [t, j] as const).sort((a, b) => a[0] - b[0]).map(([, j]) => j);
  const x = order.map((j) => r.ts[j]!);
  const series = (pick: (c: CosinePoint) => number) => {
    const m = order.map((j) => meanOf(cos.map((row) => pick(row[j]!))));
    const lo = order.map((j, q) => m[q]! - Math.min(...cos.map((row) => pick(row[j]!))));
    const hi = order.map((j, q) => Math.max(...cos.map((row) => pick(row[j]!))) - m[q]!);
    return { m, lo, hi };
  };
  const line = (name: string, colour: string, pick: (c: CosinePoint) => number): Trace => {
    const s = series(pick);
    return {
      type: "scatter",
      mode: "lines+markers",
      name,
      x,
      y: s.m,
      error_y: { type: "data", symmetric: false, array: s.hi, arrayminus: s.lo, thickness: 1, width: 3, color: colour },
      line: { color: colour, width: 2.5 },
      marker: { color: colour, size: 8 },
      hovertemplate: `${name}<br>t = %{x}<br>cos %{y:.3f}<extra></extra>`,
    };
  };
  const ideal = (name: string, colour: string, v: readonly number[]): Trace => ({
    type: "scatter",
    mode: "lines",
    name,
    x,
    y: order.map((j) => cosine(r.targets[j]!, v)),
    line: { color: colour, width: 1.5, dash: "dash" },
    hovertemplate: `${name}<br>t = %{x}<br>cos %{y:.3f}<extra></extra>`,
  });
  const data: Trace[] = [
    line("cos(E(output), A)", colourAt(0), (c) => c.toA),
    line("cos(E(output), B)", colourAt(1), (c) => c.toB),
    line("cos(E(output), slerp(A, B, t))", colourAt(2), (c) => c.toTarget),
    ideal("perfect copy: cos(slerp, A)", colourAt(0), r.pair[0].vector),
    ideal("perfect copy: cos(slerp, B)", colourAt(1), r.pair[1].vector),
  ];
  const layout = baseLayout("styleCosineFigure", {}, { width: 860, height: 480, title: `Style cosine along the SLERP path (cluster ${r.pair[0].cluster} -> ${r.pair[1].cluster}); bars: range over ${r.sources.length} source(s)` });
  layout.xaxis = { title: { text: "SLERP weight t" }, tickvals: x, zeroline: false };
  layout.yaxis = { title: { text: "cosine" } };
  layout.legend = legendRight();
  const extra = x.filter(isExtrapolated);
  if (extra.length) {
    const lo = Math.min(...x);
    const hi = Math.max(...x);
    const pad = 0.06 * (hi - lo || 1);
    layout.shapes = [
      ...(x.some((t) => t > 1) ? [{ type: "rect", xref: "x", yref: "paper", x0: 1, x1: hi + pad, y0: 0, y1: 1, fillcolor: EXTRAPOLATED_COLOUR, opacity: 0.07, line: { width: 0 } }] : []),
      ...(x.some((t) => t < 0) ? [{ type: "rect", xref: "x", yref: "paper", x0: lo - pad, x1: 0, y0: 0, y1: 1, fillcolor: EXTRAPOLATED_COLOUR, opacity: 0.07, line: { width: 0 } }] : []),
    ];
    layout.annotations = [{ text: "extrapolated", xref: "x", yref: "paper", x: x.some((t) => t > 1) ? hi : lo, y: 1, xanchor: x.some((t) => t > 1) ? "right" : "left", yanchor: "bottom", showarrow: false, font: { size: 12, color: EXTRAPOLATED_COLOUR } }];
  }
  return { data, layout, config: chartConfig() };
}

/** Step 5: tables: per t (means and ranges over sources, with the perfect-copy values) and per output. */
export function interpolationTables(r: Interpolation): { path: Row[]; outputs: Row[] } {
  const cos = interpolationCosines(r);
  const ps = pathSummary(r);
  const path: Row[] = r.ts.map((t, j) => {
    const col = cos.map((row) => row[j]!);
    return {
      t,
      extrapolated: isExtrapolated(t),
      cos_to_A: roundTo(meanOf(col.map((c) => c.toA))),
      cos_to_B: roundTo(meanOf(col.map((c) => c.toB))),
      cos_to_target: roundTo(meanOf(col.map((c) => c.toTarget))),
      cos_to_target_min: roundTo(Math.min(...col.map((c) => c.toTarget))),
      margin_B_minus_A: roundTo(ps.margin[j]),
      perfect_cos_to_A: roundTo(cosine(r.targets[j]!, r.pair[0].vector)),
      perfect_cos_to_B: roundTo(cosine(r.targets[j]!, r.pair[1].vector)),
      perfect_margin: roundTo(ps.idealMargin[j]),
    };
  });
  const outputs: Row[] = [];
  r.sources.forEach((s, i) =>
    r.ts.forEach((t, j) => {
      const c = cos[i]![j]!;
      outputs.push({ source: s.subject.id, t, cos_to_A: roundTo(c.toA), cos_to_B: roundTo(c.toB), cos_to_target: roundTo(c.toTarget) });
    }),
  );
  return { path, outputs };
}

/** The key numbers. */
export function interpolationNumbers(r: Interpolation): Record<string, KeyNumber> {
  const ps = pathSummary(r);
  return {
    sources: r.sources.length,
    clusterA: r.pair[0].cluster,
    clusterB: r.pair[1].cluster,
    exemplarA: r.pair[0].id,
    exemplarB: r.pair[1].id,
    cosAB: roundTo(cosine(r.pair[0].vector, r.pair[1].vector)),
    ts: r.ts.join(" "),
    meanCosToTarget: roundTo(ps.meanToTarget),
    marginAt0: roundTo(ps.margin[r.ts.indexOf(0)]),
    marginAt1: roundTo(ps.margin[r.ts.indexOf(1)]),
    idealMarginAt1: roundTo(ps.idealMargin[r.ts.indexOf(1)]),
    styleStrength: roundTo(ps.strength),
    marginCorrelation: roundTo(ps.correlation),
    decreasingSteps: ps.decreasingSteps,
    largestStepShare: roundTo(ps.largestStepShare),
    extrapolationContinues: ps.extrapolationContinues,
    extrapolationPeakMargin: ps.extrapolationPeak ? roundTo(ps.extrapolationPeak.margin) : null,
  };
}

/** What the path shows, from its numbers. */
export function interpolationReading(r: Interpolation): string {
  const ps = pathSummary(r);
  const j0 = r.ts.indexOf(0);
  const j1 = r.ts.indexOf(1);
  const parts: string[] = [];
  parts.push(
    `SLERP between the exemplars of clusters ${r.pair[0].cluster} (${r.pair[0].trueStyle ?? r.pair[0].site}) and ${r.pair[1].cluster} (${r.pair[1].trueStyle ?? r.pair[1].site}), the most distant pair (cosine ${formatFixed(cosine(r.pair[0].vector, r.pair[1].vector))}), t = ${r.ts.join(", ")}, ${r.sources.length} source(s), profile ${r.profile}.`,
  );
  parts.push(
    `The style margin cos(E(output), B) - cos(E(output), A) goes from ${formatFixed(ps.margin[j0])} at t = 0 to ${formatFixed(ps.margin[j1])} at t = 1, where a perfect copy of the SLERP style would go from ${formatFixed(ps.idealMargin[j0])} to ${formatFixed(ps.idealMargin[j1])}: the outputs reproduce ${formatFixed(100 * ps.strength, 0)} % of the style difference between the exemplars.`,
  );
  const steps = ps.interpolationSteps;
  const smooth = ps.decreasingSteps === 0 && ps.largestStepShare < 2.5 / Math.max(1, steps);
  parts.push(
    ps.decreasingSteps === 0
      ? `From t = 0 to t = 1 the margin rises at every step (largest step ${formatFixed(100 * ps.largestStepShare, 0)} % of its travel, ${formatFixed(100 / Math.max(1, steps), 0)} % if even; correlation with the perfect path over all t ${formatFixed(ps.correlation)})${smooth ? ": a smooth, monotone path." : ": monotone, though uneven."}`
      : `From t = 0 to t = 1 the margin falls at ${ps.decreasingSteps} of ${steps} steps (correlation with the perfect path over all t ${formatFixed(ps.correlation)}): the path is not monotone${ps.strength < 0.2 ? ", as expected when the outputs barely depend on the style" : ""}.`,
  );
  const tMax = Math.max(...r.ts);
  const jMax = r.ts.indexOf(tMax);
  if (ps.extrapolationPeak) {
    const peak = ps.extrapolationPeak;
    const end = ps.margin[jMax]!;
    if (ps.extrapolationContinues && peak.t === tMax) parts.push(`Beyond t = 1 the outputs keep moving away from A: the margin grows to ${formatFixed(end)} at t = ${tMax} (extrapolation continues the path).`);
    else if (peak.margin > ps.margin[j1]!) parts.push(`Beyond t = 1 the margin first grows a little further (${formatFixed(peak.margin)} at t = ${peak.t}), then turns back (${formatFixed(end)} at t = ${tMax}): extrapolation carries the style only slightly past exemplar B.`);
    else parts.push(`Beyond t = 1 the outputs do not move further from A (margin ${formatFixed(end)} at t = ${tMax}): extrapolation adds nothing measurable.`);
  }
  parts.push(`Mean cosine of an output's style to its SLERP target: ${formatFixed(ps.meanToTarget)}.`);
  if (ps.strength < 0.25) parts.push("Style following is weak here, so the grid changes little from column to column; the quick profile's IntraStyler is known to follow styles only weakly.");
  if (r.profile === "smoke") parts.push("Smoke profile: the networks are barely trained, so these numbers only show the wiring.");
  return parts.join(" ");
}

/** Assembles the result. */
export function interpolationResult(r: Interpolation, run: StyleRun, seconds: number): ExperimentResult {
  const { figure, image } = interpolationGridFigures(r);
  const t = interpolationTables(r);
  return {
    name: INTERPOLATION_NAME,
    title: TITLE,
    profile: r.profile as ExperimentResult["profile"],
    seed: r.seed,
    figures: [
      { name: "", figure, caption: "Rows: ceT1 sources; columns: the style slerp(A, B, t), exemplars A and B at the ends; red: extrapolated t." },
      { name: "cosine", figure: styleCosineFigure(r), caption: "Style cosine of the outputs to A, to B and to the SLERP target along t (solid: measured, mean and range over sources; dashed: a perfect copy of the SLERP style)." },
    ],
    images: [{ name: "grid", image, caption: "The SLERP grid as one PNG (first column: sources; top row: exemplars A and B)." }],
    tables: [
      { name: "path", rows: t.path, caption: "Style cosines along t (means over sources) and the values of a perfect copy" },
      { name: "outputs", rows: t.outputs, caption: "Style cosines of every output" },
    ],
    numbers: { ...interpolationNumbers(r), translateSeconds: roundTo(r.seconds, 1) },
    reading: interpolationReading(r),
    runs: [run.runDir],
    seconds,
  };
}

export const interpolationExperiment: Experiment = {
  name: INTERPOLATION_NAME,
  title: TITLE,
  summary: "SLERP between the two most distant exemplars' styles (t 0..1 and extrapolated to 1.5); style cosine along t.",
  async run(cfg) {
    const t0 = performance.now();
    const r = await interpolateStyles(cfg);
    return interpolationResult(r, await openStyleRun(cfg), (performance.now() - t0) / 1000);
  },
};
