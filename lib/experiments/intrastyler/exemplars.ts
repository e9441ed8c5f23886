// fig-exemplars (IntraStyler Fig. 4, bottom): labelled source (ceT1) images (rows) translated into
// the style of every TypiClust exemplar (columns, exemplars along the top), shown through the label
// centroid. "Same anatomy" is measured by segmenting every translation with the Oracle (a segmenter
// trained on labelled T2 images): Dice between the translations of one source, pairwise across
// exemplars, and against the source's own labels. "Same style" is measured in the style space: the
// cosine of each translation's style vector to its own exemplar's versus the other exemplars'.
import { targetNumbers, targetsReading, type Target } from "../framework/claims.js";
import { dice } from "../../analysis/overlap.js";
import type { Row } from "../../analysis/tables.js";
import { exemplarGridFigure } from "../../viz/imageFigures.js";
import { composeGrid } from "../../viz/imageGrid.js";
import type { Figure } from "../../viz/figure.js";
import type { Bitmap } from "../../viz/png.js";
import { ProgressBar } from "../../util/progress.js";
import type { LabelVolume, Volume } from "../../volume/volume.js";
import { EAR_STRUCTURE_LABELS, EAR_STRUCTURES } from "../framework/ear.js";
import {
  cosine,
  defaultRegion,
  embedVolumes,
  exemplarCase,
  exemplarsOf,
  formatFixed,
  meanOf,
  openOracle,
  openStyleRun,
  pickSources,
  roundTo,
  segmentWithOracle,
  sliceImage,
  styleSpaceOf,
  translateWithStyle,
  type ExemplarInfo,
  type ImageCase,
  type OracleRun,
  type SourceCase,
  type StyleRun,
  type StyleSpaceData,
} from "./styleRun.js";
import type { Experiment, ExperimentConfig, ExperimentResult, KeyNumber } from "../framework/types.js";

export const EXEMPLARS_NAME = "fig-exemplars";
const TITLE = "Source images translated into the style of each exemplar (IntraStyler Fig. 4, bottom)";

export interface ExemplarGridOptions {
  /** Source images (rows); default 2 (smoke), 4 (quick), 6 (paper). */
  sources?: number;
  /** At most this many exemplars (columns), the largest clusters' (default: every cluster's; 3 at smoke). */
  maxExemplars?: number;
  /** Region translated and segmented, volume axes, centred on the labels (default: defaultRegion: the whole volume except at smoke with 3D networks); null: whole volume. */
  region?: readonly number[] | null;
}

/** The translations of the grid. */
export interface ExemplarGrid {
  profile: string;
  seed: number;
  space: StyleSpaceData;
  /** The columns: exemplars, by cluster label. */
  exemplars: ExemplarInfo[];
  /** The exemplar images (cropped to the region like the sources). */
  exemplarCases: ImageCase[];
  /** The rows. */
  sources: SourceCase[];
  /** translations[i][j]: source i in the style of exemplar j (the raw generator output). */
  translations: Volume[][];
  /** Seconds the translations took. */
  seconds: number;
}

/** How "same anatomy" and "same style" came out. */
export interface ExemplarScores {
  structures: number[];
  /** Oracle segmentation of every translation [i][j]. */
  segmentations: LabelVolume[][];
  /** Dice of each translation's segmentation to the source's own labels [i][j][structure]. */
  diceToLabels: number[][][];
  /** Dice between the translations of one source, every pair of exemplars [i][pair][structure]. */
  pairwiseDice: number[][][];
  /** Oracle Dice on each exemplar image itself against its own labels [j][structure] (null when unlabelled): the Oracle's ceiling on real T2 of these styles. */
  exemplarDice: (number[] | null)[];
  /** Oracle Dice on each untranslated ceT1 source against its labels [i][structure]: the floor (no translation). */
  sourceDice: number[][];
  /** Style vector of each translation [i][j][styleDim]. */
  translationStyles: number[][][];
  /** cos(style of translation [i][j], exemplar j') [i][j][j']. */
  cosines: number[][][];
  /** cos(style of the untranslated source i, exemplar j) [i][j]. */
  sourceCosines: number[][];
  /** cos(exemplar j, exemplar j') [j][j']. */
  exemplarCosines: number[][];
  /** Mean |difference| between the translations of one source, every pair of exemplars [i] (intensity, network range [-1, 1]): 0 when the exemplar changes nothing. */
  translationSpread: number[];
  /** Mean |translation - source| [i] (how much translating changed the image, for scale). */
  translationChange: number[];
  seconds: number;
}

const defaults = (profile: string) => ({
  sources: profile === "smoke" ? 2 : profile === "quick" ? 4 : 6,
  maxExemplars: profile === "smoke" ? 3 : Infinity,
});

/** Step 1: the IntraStyler run and the style space (shared with fig-style-space; trained or loaded once). */
export async function exemplarStyleSpace(cfg: ExperimentConfig): Promise<{ run: StyleRun; space: StyleSpaceData }> {
  const run = await openStyleRun(cfg);
  return { run, space: await styleSpaceOf(cfg) };
}

/** The exemplars shown: every cluster's, or the `max` largest clusters' (by cluster label). */
export function chooseExemplars(space: StyleSpaceData, max = Infinity): ExemplarInfo[] {
  const all = exemplarsOf(space);
  if (all.length <= max) return all;
  return [...all].sort((a, b) => b.size - a.size || a.cluster - b.cluster).slice(0, max).sort((a, b) => a.cluster - b.cluster);
}

/** Step 2: translate each source into the style of each exemplar (its style-space vector). */
export async function translateExemplarGrid(cfg: ExperimentConfig, opts: ExemplarGridOptions = {}): Promise<ExemplarGrid> {
  const t0 = performance.now();
  const d = defaults(cfg.profile);
  const { run, space } = await exemplarStyleSpace(cfg);
  const exemplars = chooseExemplars(space, opts.maxExemplars ?? d.maxExemplars);
  const region = opts.region === undefined ? defaultRegion(cfg.profile, run.config.patch) : opts.region;
  const sources = await pickSources(run.dataset, opts.sources ?? d.sources, region);
  const exemplarCases: ImageCase[] = [];
  for (const e of exemplars) exemplarCases.push(await exemplarCase(run, e, region));
  const total = sources.length * exemplars.length;
  const bar = new ProgressBar("translate sources x exemplars", total, { quiet: !cfg.progress });
  const translations: Volume[][] = [];
  for (const [i, s] of sources.entries()) {
    const row: Volume[] = [];
    for (const [j, e] of exemplars.entries()) {
      row.push(translateWithStyle(run, s.image, e.vector));
      bar.update({ done: i * exemplars.length + j + 1, total, info: `${s.subject.id} -> cluster ${e.cluster}` });
    }
    translations.push(row);
  }
  bar.finish();
  return { profile: cfg.profile, seed: cfg.seed, space, exemplars, exemplarCases, sources, translations, seconds: (performance.now() - t0) / 1000 };
}

/** Step 3: segment every translation with the Oracle (trained on first use) and embed it; Dice and style cosines. */
export async function scoreExemplarGrid(cfg: ExperimentConfig, grid: ExemplarGrid): Promise<ExemplarScores> {
  const run = await openStyleRun(cfg);
  const oracle = await openOracle(cfg);
  const t0 = performance.now();
  const structures = [...EAR_STRUCTURE_LABELS];
  const { sources, exemplars, translations } = grid;
  const total = sources.length * exemplars.length + exemplars.length + sources.length;
  const bar = new ProgressBar("segment with the Oracle", total, { quiet: !cfg.progress });
  let done = 0;
  const segmentations = translations.map((row) =>
    row.map((v) => {
      const seg = segmentWithOracle(oracle, v);
      bar.update({ done: ++done, total });
      return seg;
    }),
  );
  const diceToLabels = segmentations.map((row, i) => row.map((seg) => dice(seg, sources[i]!.labels, structures)));
  const pairwiseDice = segmentations.map((row) => {
    const pairs: number[][] = [];
    for (let a = 0; a < row.length; a++) for (let b = a + 1; b < row.length; b++) pairs.push(dice(row[a]!, row[b]!, structures));
    return pairs;
  });
  const exemplarDice = grid.exemplarCases.map((c) => {
    const r = c.labels ? dice(segmentWithOracle(oracle, c.image), c.labels, structures) : null;
    bar.update({ done: ++done, total });
    return r;
  });
  const sourceDice = sources.map((s) => {
    const r = dice(segmentWithOracle(oracle, s.image), s.labels, structures);
    bar.update({ done: ++done, total });
    return r;
  });
  bar.finish();
  const flat = embedVolumes(run, translations.flat(), grid.space.options.step === null ? { crops: grid.space.options.crops } : { crops: grid.space.options.crops, step: grid.space.options.step }).vectors;
  const translationStyles = translations.map((row, i) => row.map((_, j) => flat[i * exemplars.length + j]!));
  const cosines = translationStyles.map((row) => row.map((v) => exemplars.map((e) => cosine(v, e.vector))));
  const srcStyles = embedVolumes(run, sources.map((s) => s.image), { crops: grid.space.options.crops, ...(grid.space.options.step === null ? {} : { step: grid.space.options.step }) }).vectors;
  const sourceCosines = srcStyles.map((v) => exemplars.map((e) => cosine(v, e.vector)));
  const exemplarCosines = exemplars.map((a) => exemplars.map((b) => cosine(a.vector, b.vector)));
  const mad = (a: Volume, b: Volume) => {
    let sum = 0;
    for (let q = 0; q < a.data.length; q++) sum += Math.abs(a.data[q]! - b.data[q]!);
    return sum / a.data.length;
  };
  const translationSpread = translations.map((row) => {
    const d: number[] = [];
    for (let a = 0; a < row.length; a++) for (let b = a + 1; b < row.length; b++) d.push(mad(row[a]!, row[b]!));
    return meanOf(d);
  });
  const translationChange = translations.map((row, i) => meanOf(row.map((v) => mad(v, sources[i]!.image))));
  return {
    structures,
    segmentations,
    diceToLabels,
    pairwiseDice,
    exemplarDice,
    sourceDice,
    translationStyles,
    cosines,
    sourceCosines,
    exemplarCosines,
    translationSpread,
    translationChange,
    seconds: (performance.now() - t0) / 1000,
  };
}

const exemplarName = (e: ExemplarInfo) => `cluster ${e.cluster}${e.trueStyle ? ` (${e.trueStyle})` : ` (${e.site})`}`;

/** Step 4: the grid as a plotly figure (titled rows and columns) and as one PNG image (no browser needed). */
export function exemplarGridFigures(grid: ExemplarGrid): { figure: Figure; image: Bitmap } {
  const sources = grid.sources.map((s) => ({ image: sliceImage(s.image, s.slice), label: s.subject.id.replace(/^.*?_(\w+_\d+)_\w+$/, "$1") }));
  const translations = grid.translations.map((row, i) => row.map((v) => sliceImage(v, grid.sources[i]!.slice)));
  const exemplarImages = grid.exemplarCases.map((c) => sliceImage(c.image, c.slice));
  const figure = exemplarGridFigure({
    title: "Sources in each exemplar's style",
    sources,
    exemplars: grid.exemplars.map((e, j) => ({ image: exemplarImages[j]!, name: exemplarName(e), cluster: e.cluster })),
    translations,
    tileSize: 128,
  });
  const image = composeGrid([[null, ...exemplarImages], ...sources.map((s, i) => [s.image, ...translations[i]!])], { gap: 2, margin: 2, scale: 2 });
  return { figure, image };
}

/** Voxels holding `label`. */
const count = (data: ArrayLike<number>, label: number): number => {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === label) n++;
  return n;
};

/** The mean of [..][structure] rows, per structure. */
const perStructure = (rows: readonly number[][], k: number) => meanOf(rows.map((r) => r[k]!));

interface StyleSummary {
  own: number;
  other: number;
  ownClosest: number;
  sourceToExemplar: number;
  exemplarToExemplar: number;
  margin: number;
  idealMargin: number;
}

function styleSummary(grid: ExemplarGrid, sc: ExemplarScores): StyleSummary {
  const own: number[] = [];
  const other: number[] = [];
  let closest = 0;
  sc.cosines.forEach((row) =>
    row.forEach((cos, j) => {
      own.push(cos[j]!);
      other.push(meanOf(cos.filter((_, q) => q !== j)));
      const best = cos.indexOf(Math.max(...cos));
      if (best === j) closest++;
    }),
  );
  const ex = sc.exemplarCosines.flatMap((row, j) => row.filter((_, q) => q !== j));
  const o = meanOf(own);
  const t = meanOf(other);
  return {
    own: o,
    other: t,
    ownClosest: closest / Math.max(1, own.length),
    sourceToExemplar: meanOf(sc.sourceCosines.flat()),
    exemplarToExemplar: meanOf(ex),
    margin: o - t,
    idealMargin: 1 - meanOf(ex),
  };
}

/** Step 5: tables: per translation, per source and structure, and the summary of both claims. */
export function exemplarTables(grid: ExemplarGrid, sc: ExemplarScores): { translations: Row[]; anatomy: Row[]; style: Row[] } {
  const names = sc.structures.map((l) => EAR_STRUCTURES[l] ?? `label ${l}`);
  const translations: Row[] = [];
  grid.sources.forEach((s, i) =>
    grid.exemplars.forEach((e, j) => {
      const cos = sc.cosines[i]![j]!;
      const best = cos.indexOf(Math.max(...cos));
      translations.push({
        source: s.subject.id,
        exemplar: e.id,
        cluster: e.cluster,
        exemplar_true_style: e.trueStyle,
        ...Object.fromEntries(names.map((n, k) => [`dice_to_labels ${n}`, roundTo(sc.diceToLabels[i]![j]![k])])),
        cos_own: roundTo(cos[j]),
        cos_other_mean: roundTo(meanOf(cos.filter((_, q) => q !== j))),
        closest_cluster: grid.exemplars[best]!.cluster,
        own_is_closest: best === j,
      });
    }),
  );
  const anatomy: Row[] = [];
  grid.sources.forEach((s, i) =>
    names.forEach((n, k) => {
      const pair = sc.pairwiseDice[i]!.map((p) => p[k]!);
      const toLab = sc.diceToLabels[i]!.map((p) => p[k]!);
      anatomy.push({
        source: s.subject.id,
        structure: n,
        pairwise_dice_mean: roundTo(meanOf(pair)),
        pairwise_dice_min: pair.length ? roundTo(Math.min(...pair)) : null,
        dice_to_labels_mean: roundTo(meanOf(toLab)),
        dice_to_labels_min: roundTo(Math.min(...toLab)),
        untranslated_source_dice: roundTo(sc.sourceDice[i]![k]),
        label_voxels: count(s.labels.data, sc.structures[k]!),
        predicted_voxels_mean: roundTo(meanOf(sc.segmentations[i]!.map((seg) => count(seg.data, sc.structures[k]!))), 1),
      });
    }),
  );
  const st = styleSummary(grid, sc);
  const style: Row[] = [
    { measure: "cos(translation, own exemplar), mean", value: roundTo(st.own) },
    { measure: "cos(translation, other exemplars), mean", value: roundTo(st.other) },
    { measure: "own exemplar is the closest (share of translations)", value: roundTo(st.ownClosest) },
    { measure: "chance level of the above (1 / exemplars)", value: roundTo(1 / grid.exemplars.length) },
    { measure: "cos(untranslated ceT1 source, exemplar), mean", value: roundTo(st.sourceToExemplar) },
    { measure: "cos(exemplar, other exemplar), mean", value: roundTo(st.exemplarToExemplar) },
    { measure: "margin own - other (achieved)", value: roundTo(st.margin) },
    { measure: "margin own - other (a perfect style copy: 1 - exemplar-to-exemplar)", value: roundTo(st.idealMargin) },
    { measure: "achieved share of the perfect margin", value: roundTo(st.margin / st.idealMargin) },
    { measure: "mean |difference| between translations of one source (intensity, [-1, 1] scale)", value: roundTo(meanOf(sc.translationSpread), 4) },
    { measure: "mean |translation - source| (for scale)", value: roundTo(meanOf(sc.translationChange), 4) },
  ];
  return { translations, anatomy, style };
}

/** The key numbers. */
export function exemplarNumbers(grid: ExemplarGrid, sc: ExemplarScores): Record<string, KeyNumber> {
  const st = styleSummary(grid, sc);
  const out: Record<string, KeyNumber> = { sources: grid.sources.length, exemplars: grid.exemplars.length, k: grid.space.space.k };
  sc.structures.forEach((l, k) => {
    const key = (EAR_STRUCTURES[l] ?? `label${l}`).replace(/[^A-Za-z]+/g, "_").replace(/^_|_$/g, "");
    out[`pairwiseDice_${key}`] = roundTo(meanOf(sc.pairwiseDice.flatMap((rows) => rows.map((r) => r[k]!))));
    out[`diceToLabels_${key}`] = roundTo(meanOf(sc.diceToLabels.flatMap((rows) => rows.map((r) => r[k]!))));
    const exD = sc.exemplarDice.filter((x): x is number[] => x !== null);
    out[`oracleOnExemplars_${key}`] = exD.length ? roundTo(perStructure(exD, k)) : null;
    out[`oracleOnUntranslatedSource_${key}`] = roundTo(perStructure(sc.sourceDice, k));
  });
  out["pairwiseDiceMean"] = roundTo(meanOf(sc.pairwiseDice.flat(2)));
  out["diceToLabelsMean"] = roundTo(meanOf(sc.diceToLabels.flat(2)));
  out["cosOwn"] = roundTo(st.own);
  out["cosOther"] = roundTo(st.other);
  out["ownClosestShare"] = roundTo(st.ownClosest);
  out["chanceClosestShare"] = roundTo(1 / grid.exemplars.length);
  out["cosSourceToExemplar"] = roundTo(st.sourceToExemplar);
  out["cosExemplarToExemplar"] = roundTo(st.exemplarToExemplar);
  out["styleMargin"] = roundTo(st.margin);
  out["idealStyleMargin"] = roundTo(st.idealMargin);
  out["styleMarginShare"] = roundTo(st.margin / st.idealMargin);
  out["translationSpread"] = roundTo(meanOf(sc.translationSpread), 4);
  out["translationChange"] = roundTo(meanOf(sc.translationChange), 4);
  return out;
}

/** What the grid shows, from its numbers. */
export function exemplarReading(grid: ExemplarGrid, sc: ExemplarScores): string {
  const st = styleSummary(grid, sc);
  const pair = meanOf(sc.pairwiseDice.flat(2));
  const toLab = meanOf(sc.diceToLabels.flat(2));
  const exD = sc.exemplarDice.filter((x): x is number[] => x !== null);
  const ceiling = exD.length ? meanOf(exD.flat()) : NaN;
  const floor = meanOf(sc.sourceDice.flat());
  const parts: string[] = [];
  parts.push(`${grid.sources.length} ceT1 sources x ${grid.exemplars.length} exemplars (of k = ${grid.space.space.k} clusters), profile ${grid.profile}.`);
  parts.push(
    `Same anatomy: the Oracle's segmentations of one source's translations agree with each other at mean Dice ${formatFixed(pair)} (over structures and exemplar pairs) and with the source's own labels at ${formatFixed(toLab)}; for reference the Oracle scores ${formatFixed(ceiling)} on the exemplars themselves (real T2) and ${formatFixed(floor)} on the untranslated ceT1 sources.`,
  );
  if (toLab < 0.5) {
    parts.push(
      Number.isFinite(ceiling) && ceiling >= toLab + 0.2
        ? `Caution: the Oracle finds the source anatomy in the translations poorly (${formatFixed(toLab)}) although it does well on real T2 (${formatFixed(ceiling)}): the translations do not look enough like T2 for a T2 segmenter, and agreement between them partly reflects the Oracle's consistent errors (two empty segmentations count as Dice 1).`
        : `Caution: the Oracle agrees poorly with the source labels (${formatFixed(toLab)}) and with the real T2 exemplars' own labels (${formatFixed(ceiling)}), so it is a weak judge here; agreement between translations partly reflects its consistent errors (two empty segmentations count as Dice 1).`,
    );
  }
  const spread = meanOf(sc.translationSpread);
  const change = meanOf(sc.translationChange);
  const identical = spread < 0.25 * change && spread < 0.03;
  parts.push(
    identical
      ? `The translations of one source are nearly identical across exemplars (mean |difference| ${formatFixed(spread, 4)} on the [-1, 1] scale, against ${formatFixed(change, 3)} between a translation and its source), so their agreement says little about anatomy under different styles: the exemplar hardly changes the output.`
      : pair >= 0.8
        ? "The translations of a source share their anatomy whatever the exemplar."
        : pair >= 0.5
          ? "The anatomy is largely shared across exemplars, though the segmenter sees differences."
          : "The segmentations differ markedly between exemplars: either the anatomy changes with the style or the Oracle is not reliable on these translations.",
  );
  const follows = st.ownClosest > 1 / grid.exemplars.length + 0.15 && st.margin > 0.1 * st.idealMargin;
  parts.push(
    `Same style: each translation's style vector has cosine ${formatFixed(st.own)} to its own exemplar and ${formatFixed(st.other)} to the others (margin ${formatFixed(st.margin)}, where a perfect copy of the exemplar's style would give ${formatFixed(st.idealMargin)}); the own exemplar is the closest for ${formatFixed(100 * st.ownClosest, 0)} % of translations (chance ${formatFixed(100 / grid.exemplars.length, 0)} %). The untranslated ceT1 sources sit at cosine ${formatFixed(st.sourceToExemplar)} to the exemplars.`,
  );
  parts.push(
    follows
      ? st.margin > 0.5 * st.idealMargin
        ? "The translations clearly take their exemplar's style."
        : "The translations lean towards their exemplar's style, but only weakly: most of the distance between exemplars is not reproduced."
      : "Style following is weak: the translations are not measurably closer to their own exemplar than to the others, so the generator largely ignores the exemplar.",
  );
  if (grid.profile === "smoke") parts.push("Smoke profile: the networks are barely trained, so these numbers only show the wiring.");
  return parts.join(" ");
}

/**
 * The grid's targets: the translations keep the source anatomy (the Oracle finds the source
 * structures at mean Dice >= 0.6) and take their own exemplar's style (the own exemplar is the
 * closest style for >= 90 % of them).
 */
export function exemplarTargets(grid: ExemplarGrid, sc: ExemplarScores): Target[] {
  const st = styleSummary(grid, sc);
  return [
    { id: "anatomyKept.IntraStyler", claim: "IntraStyler's translations keep the source anatomy", measure: "Oracle Dice vs the source labels", measured: meanOf(sc.diceToLabels.flat(2)), op: ">=", threshold: 0.6 },
    { id: "ownExemplarClosest", claim: "each translation takes its own exemplar's style", measure: "share whose own exemplar is the closest style", measured: st.ownClosest, op: ">=", threshold: 0.9 },
  ];
}

/** Assembles the result. */
export function exemplarsResult(grid: ExemplarGrid, sc: ExemplarScores, runs: { style: StyleRun; oracle: OracleRun }, seconds: number): ExperimentResult {
  const { figure, image } = exemplarGridFigures(grid);
  const t = exemplarTables(grid, sc);
  return {
    name: EXEMPLARS_NAME,
    title: TITLE,
    profile: grid.profile as ExperimentResult["profile"],
    seed: grid.seed,
    figures: [{ name: "", figure, caption: "Rows: ceT1 sources; columns: TypiClust exemplars (top row); cells: the source in the exemplar's style (slices through the label centroid, window [-1, 1])." }],
    images: [{ name: "grid", image, caption: "The same grid as one PNG (top row: exemplars, first column: sources)." }],
    tables: [
      { name: "translations", rows: t.translations, caption: "Per translation: Oracle Dice to the source labels and the style cosines" },
      { name: "anatomy", rows: t.anatomy, caption: "Same anatomy: Oracle Dice between translations of one source and to its labels, per structure" },
      { name: "style", rows: t.style, caption: "Same style: cosine of each translation's style to its own vs the other exemplars" },
    ],
    numbers: { ...exemplarNumbers(grid, sc), ...targetNumbers(exemplarTargets(grid, sc)), translateSeconds: roundTo(grid.seconds, 1), scoreSeconds: roundTo(sc.seconds, 1), oracleTrainedNow: runs.oracle.trained, oracleSeconds: roundTo(runs.oracle.seconds, 1) },
    reading: [exemplarReading(grid, sc), targetsReading(exemplarTargets(grid, sc), grid.profile)].join(" "),
    runs: [runs.style.runDir, runs.oracle.runDir],
    seconds,
  };
}

export const exemplarsExperiment: Experiment = {
  name: EXEMPLARS_NAME,
  title: TITLE,
  summary: "Sources x exemplars translation grid; same anatomy by Oracle-segmentation Dice, same style by style-vector cosine to the own vs other exemplars.",
  async run(cfg) {
    const t0 = performance.now();
    const grid = await translateExemplarGrid(cfg);
    const scores = await scoreExemplarGrid(cfg, grid);
    return exemplarsResult(grid, scores, { style: await openStyleRun(cfg), oracle: await openOracle(cfg) }, (performance.now() - t0) / 1000);
  },
};
