// What the pseudo-labelling study reports, computed from its rows: Dice summaries over folds,
// translation-quality summaries, the figures (Dice box plots per strategy and domain, quality bars
// with error bars, translation and segmentation examples), the key numbers, and a reading that
// says from those numbers whether Adaptation won the small shift and Tutorship the large ones.
import type { Target } from "../framework/claims.js";
import { describe, type Row } from "../../analysis/tables.js";
import type { Profile } from "../../methods/config.js";
import { imageGridFigure } from "../../viz/imageFigures.js";
import { composeGrid, overlayContours, sliceOf, windowLevel } from "../../viz/imageGrid.js";
import { diceByStrategyFigure, type StrategyDiceRow } from "../../viz/metricBoxFigures.js";
import { qualityBarsFigure, type QualityRow } from "../../viz/qualityBarsFigure.js";
import type { Bitmap } from "../../viz/png.js";
import type { LabelVolume, Volume } from "../../volume/volume.js";
import { PSEUDO_NO_TRANSLATOR, type PseudoDiceRow, type PseudoDirection, type PseudoQualityKind, type PseudoQualityRow } from "./eval.js";
import { PSEUDO_STRUCTURES, PSEUDO_TARGETS, type PseudoTarget } from "./plan.js";
import type { KeyNumber, NamedFigure, NamedImage } from "../framework/types.js";

/** Within this much Dice two strategies count as tied. */
export const PSEUDO_DICE_TIE = 0.01;

/** The paper's Tutorship Dice on SEM (real data; Boschet et al. 2024), quoted in the reading. */
export const PSEUDO_PAPER_TUTORSHIP_SEM = { axon: 0.736, myelin: 0.652 } as const;

/** The targets the paper calls a small and a large domain shift. */
export const PSEUDO_SMALL_SHIFT: readonly PseudoTarget[] = ["tem-species2"];
export const PSEUDO_LARGE_SHIFT: readonly PseudoTarget[] = ["sem", "brightfield"];

const structures = (): string[] => Object.values(PSEUDO_STRUCTURES);
const r4 = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);
const f3 = (v: number | null | undefined): string => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(3) : "n/a");

/** A strategy arm's name in figures and keys: "NoAdapt", "Tutorship (syndiff)", ... */
export function pseudoArmName(strategy: string, method: string): string {
  return method === PSEUDO_NO_TRANSLATOR ? strategy : `${strategy} (${method})`;
}
const pseudoArmKey = (strategy: string, method: string): string => (method === PSEUDO_NO_TRANSLATOR ? strategy : `${strategy}.${method}`);

/** The arms in display order: NoAdapt, then Tutorship and Adaptation per translator. */
export function pseudoArms(methods: readonly string[]): { strategy: string; method: string }[] {
  return [{ strategy: "NoAdapt", method: PSEUDO_NO_TRANSLATOR }, ...methods.flatMap((m) => [{ strategy: "Tutorship", method: m }, { strategy: "Adaptation", method: m }])];
}

// ---------------------------------------------------------------------------------------------
// Dice over folds

/** Per fold: the mean Dice over images of each structure, and of both ("axon+myelin"). */
export function pseudoDiceByFold(rows: readonly PseudoDiceRow[]): Row[] {
  const groups = new Map<string, { target: string; strategy: string; method: string; fold: number; structure: string; values: number[] }>();
  const add = (r: PseudoDiceRow, structure: string) => {
    const k = [r.target, r.strategy, r.method, r.fold, structure].join("|");
    const g = groups.get(k) ?? { target: r.target, strategy: r.strategy, method: r.method, fold: r.fold, structure, values: [] };
    g.values.push(r.dice);
    groups.set(k, g);
  };
  for (const r of rows) {
    add(r, r.structure);
    add(r, "axon+myelin");
  }
  return [...groups.values()].map((g) => ({ target: g.target, strategy: g.strategy, method: g.method, fold: g.fold, structure: g.structure, images: g.values.length / (g.structure === "axon+myelin" ? 2 : 1), dice: r4(describe(g.values).mean) }));
}

/** Per target, strategy, translator and structure: mean and sd over folds of the per-fold mean Dice. */
export function pseudoDiceSummary(rows: readonly PseudoDiceRow[]): Row[] {
  const folds = pseudoDiceByFold(rows);
  const groups = new Map<string, { key: Row; values: number[] }>();
  for (const f of folds) {
    const k = [f["target"], f["strategy"], f["method"], f["structure"]].join("|");
    const g = groups.get(k) ?? { key: { target: f["target"], strategy: f["strategy"], method: f["method"], structure: f["structure"] }, values: [] };
    g.values.push(f["dice"] as number);
    groups.set(k, g);
  }
  return [...groups.values()].map((g) => {
    const d = describe(g.values);
    return { ...g.key, folds: d.n, mean: r4(d.mean), sd: r4(d.sd), min: r4(d.min), max: r4(d.max) };
  });
}

/** Per image: the mean over folds (one point per image in the box plots). */
export function pseudoDiceByImage(rows: readonly PseudoDiceRow[]): StrategyDiceRow[] {
  const groups = new Map<string, { row: StrategyDiceRow; values: number[] }>();
  for (const r of rows) {
    const k = [r.target, r.strategy, r.method, r.case, r.structure].join("|");
    const g = groups.get(k) ?? { row: { case: r.case, strategy: pseudoArmName(r.strategy, r.method), domain: r.target, structure: r.structure, dice: null }, values: [] };
    g.values.push(r.dice);
    groups.set(k, g);
  }
  return [...groups.values()].map((g) => ({ ...g.row, dice: describe(g.values).mean }));
}

// ---------------------------------------------------------------------------------------------
// Translation quality

/** Per target, translator, direction and kind: mean and sd over images of SSIM, PSNR and L1. */
export function pseudoQualitySummary(rows: readonly PseudoQualityRow[]): Row[] {
  const groups = new Map<string, { key: Row; rows: PseudoQualityRow[] }>();
  for (const r of rows) {
    const k = [r.target, r.method, r.direction, r.kind].join("|");
    const g = groups.get(k) ?? { key: { target: r.target, method: r.method, direction: r.direction, kind: r.kind }, rows: [] };
    g.rows.push(r);
    groups.set(k, g);
  }
  return [...groups.values()].map((g) => {
    const s = describe(g.rows.map((r) => r.ssim));
    const p = describe(g.rows.map((r) => r.psnr));
    const l = describe(g.rows.map((r) => r.l1));
    return { ...g.key, n: s.n, ssimMean: r4(s.mean), ssimSd: r4(s.sd), psnrMean: r4(p.mean), psnrSd: r4(p.sd), l1Mean: r4(l.mean), l1Sd: r4(l.sd) };
  });
}

function qualityFigure(rows: readonly PseudoQualityRow[], direction: PseudoDirection, kind: PseudoQualityKind, methods: readonly string[], targets: readonly string[], title: string) {
  const sel = rows.filter((r) => r.direction === direction && r.kind === kind);
  if (!sel.length) return undefined;
  const q: QualityRow[] = sel.flatMap((r) => [
    { domain: r.target, translator: r.method, metric: "SSIM", value: r.ssim },
    { domain: r.target, translator: r.method, metric: "PSNR", value: r.psnr },
    { domain: r.target, translator: r.method, metric: "L1", value: r.l1 },
  ]);
  const fig = qualityBarsFigure({ rows: q, metrics: ["SSIM", "PSNR", "L1"], domains: targets.filter((t) => sel.some((r) => r.target === t)), translators: methods.filter((m) => sel.some((r) => r.method === m)) });
  fig.layout.title = { text: title };
  return fig;
}

// ---------------------------------------------------------------------------------------------
// Examples

/** The images of one example row: an input, its translation and reconstruction per translator, the paired truth. */
export interface PseudoExampleRow {
  label: string;
  input: Volume;
  truth?: Volume;
  translations: Record<string, Volume>;
  cycles: Record<string, Volume>;
}

/** One target's segmentation example: the image, its truth and fold 1's prediction per arm. */
export interface PseudoSegmentationExample {
  target: string;
  case: string;
  image: Volume;
  labels: LabelVolume;
  /** By arm name (pseudoArmName). */
  predictions: Record<string, LabelVolume>;
}

const grey = (v: Volume): Bitmap => windowLevel(sliceOf(v), { range: [-1, 1] });

function translationGrid(rows: readonly PseudoExampleRow[], methods: readonly string[]) {
  const titles = ["input", ...methods, "truth (same field)", ...methods.map((m) => `${m} cycle`)];
  const grid = rows.map((r) => ({
    label: r.label,
    images: [grey(r.input), ...methods.map((m) => (r.translations[m] ? grey(r.translations[m]!) : null)), r.truth ? grey(r.truth) : null, ...methods.map((m) => (r.cycles[m] ? grey(r.cycles[m]!) : null))],
  }));
  return { titles, grid };
}

function segmentationGrid(examples: readonly PseudoSegmentationExample[], arms: readonly string[]) {
  const titles = ["image", "truth", ...arms];
  const grid = examples.map((e) => {
    const g = grey(e.image);
    return { label: `${e.target} (${e.case.replace(/^axon-phantom_/, "")})`, images: [g, overlayContours(g, sliceOf(e.labels)), ...arms.map((a) => (e.predictions[a] ? overlayContours(g, sliceOf(e.predictions[a]!)) : null))] };
  });
  return { titles, grid };
}

// ---------------------------------------------------------------------------------------------
// Figures

export interface PseudoFiguresInput {
  dice: readonly PseudoDiceRow[];
  quality: readonly PseudoQualityRow[];
  methods: readonly string[];
  targets: readonly string[];
  folds: number;
  translationExamples: readonly PseudoExampleRow[];
  segmentationExamples: readonly PseudoSegmentationExample[];
  profile: Profile;
}

/** Dice box plots (main), quality bars (three), translation and segmentation example grids. */
export function pseudoLabelsFigures(input: PseudoFiguresInput): { figures: NamedFigure[]; images: NamedImage[] } {
  const arms = pseudoArms(input.methods).map((a) => pseudoArmName(a.strategy, a.method));
  const perImage = pseudoDiceByImage(input.dice);
  const nImages = new Set(input.dice.map((r) => r.case)).size;
  const main = diceByStrategyFigure({ rows: perImage, strategies: arms.filter((a) => perImage.some((r) => r.strategy === a)), domains: input.targets, structures: structures() });
  main.layout.title = { text: `Dice per pseudo-labelling strategy and target domain (each point: one target test image, mean over ${input.folds} folds; ${input.profile})` };
  const figures: NamedFigure[] = [{ name: "", figure: main, caption: `Dice of axon and myelin per strategy and target (targets by increasing dissimilarity from TEM; ${nImages} test images)` }];
  const q = (name: string, direction: PseudoDirection, kind: PseudoQualityKind, title: string, caption: string) => {
    const fig = qualityFigure(input.quality, direction, kind, input.methods, input.targets, title);
    if (fig) figures.push({ name, figure: fig, caption });
  };
  q("quality-tutorship", "TEM→target", "translation", "TEM test images translated into the target vs the same fields rendered in the target (mean ± sd)", "Translation quality TEM -> target against the phantom's paired truth (what Tutorship trains on)");
  q("quality-adaptation", "target→TEM", "translation", "Target test images translated into TEM vs the same fields rendered as TEM (mean ± sd)", "Translation quality target -> TEM against the paired truth (what Adaptation segments)");
  q("quality-cycle", "TEM→target", "cycle", "Cycle reconstructions of TEM test images, TEM -> target -> TEM (mean ± sd)", "Cycle reconstruction quality (the paper's measure)");
  const images: NamedImage[] = [];
  if (input.translationExamples.length) {
    const t = translationGrid(input.translationExamples, input.methods);
    figures.push({ name: "translations", figure: imageGridFigure({ rows: t.grid, columnTitles: t.titles, title: "Translations, the paired truth and cycle reconstructions (window [-1, 1])", tileSize: 112 }), caption: "Translation examples per target, both directions" });
    images.push({ name: "translation-grid", image: composeGrid(t.grid.map((r) => r.images), { gap: 2, scale: 2 }), caption: `Rows: ${t.grid.map((r) => r.label).join("; ")}. Columns: ${t.titles.join(", ")}.` });
  }
  if (input.segmentationExamples.length) {
    const s = segmentationGrid(input.segmentationExamples, arms);
    figures.push({ name: "segmentations", figure: imageGridFigure({ rows: s.grid, columnTitles: s.titles, title: "One target test image per domain: truth and fold 1's segmentation per arm (blue axon, orange myelin)", tileSize: 112 }), caption: "Segmentation examples" });
    images.push({ name: "segmentation-grid", image: composeGrid(s.grid.map((r) => r.images), { gap: 2, scale: 2 }), caption: `Rows: ${s.grid.map((r) => r.label).join("; ")}. Columns: ${s.titles.join(", ")}.` });
  }
  return { figures, images };
}

// ---------------------------------------------------------------------------------------------
// Numbers and reading

/** Mean and sd over folds of the per-fold mean Dice of an arm (structure "axon+myelin" for both). */
function foldStats(rows: readonly PseudoDiceRow[], target: string, strategy: string, method: string, structure: string): { mean: number; sd: number; folds: number } {
  const byFold = new Map<number, number[]>();
  for (const r of rows) {
    if (r.target !== target || r.strategy !== strategy || r.method !== method) continue;
    if (structure !== "axon+myelin" && r.structure !== structure) continue;
    byFold.set(r.fold, [...(byFold.get(r.fold) ?? []), r.dice]);
  }
  const d = describe([...byFold.values()].map((v) => describe(v).mean));
  return { mean: d.mean, sd: d.sd, folds: d.n };
}

/**
 * Key numbers: per target and arm the fold mean (and sd) of Dice per structure and of both;
 * the Adaptation - Tutorship difference and the winner per target and translator; translation
 * quality means; the source-domain check; the sizes.
 */
export function pseudoLabelsNumbers(input: { dice: readonly PseudoDiceRow[]; quality: readonly PseudoQualityRow[]; sourceCv: readonly PseudoDiceRow[]; methods: readonly string[]; targets: readonly string[] }): Record<string, KeyNumber> {
  const out: Record<string, KeyNumber> = {};
  for (const t of input.targets) {
    for (const a of pseudoArms(input.methods)) {
      for (const s of [...structures(), "axon+myelin"]) {
        const st = foldStats(input.dice, t, a.strategy, a.method, s);
        const key = s === "axon+myelin" ? `dice2.${t}.${pseudoArmKey(a.strategy, a.method)}` : `dice.${t}.${pseudoArmKey(a.strategy, a.method)}.${s}`;
        out[key] = r4(st.mean);
        out[`${key}.sd`] = r4(st.sd);
      }
    }
    for (const m of input.methods) {
      const ad = foldStats(input.dice, t, "Adaptation", m, "axon+myelin").mean;
      const tu = foldStats(input.dice, t, "Tutorship", m, "axon+myelin").mean;
      out[`adaptationMinusTutorship.${t}.${m}`] = r4(ad - tu);
      out[`winner.${t}.${m}`] = !Number.isFinite(ad - tu) ? null : Math.abs(ad - tu) <= PSEUDO_DICE_TIE ? "tie" : ad > tu ? "Adaptation" : "Tutorship";
      for (const [name, direction, kind] of [
        ["tutorship", "TEM→target", "translation"],
        ["adaptation", "target→TEM", "translation"],
        ["cycle", "TEM→target", "cycle"],
      ] as const) {
        const sel = input.quality.filter((r) => r.target === t && r.method === m && r.direction === direction && r.kind === kind);
        if (!sel.length) continue;
        out[`ssim.${t}.${m}.${name}`] = r4(describe(sel.map((r) => r.ssim)).mean);
        out[`psnr.${t}.${m}.${name}`] = r4(describe(sel.map((r) => r.psnr)).mean);
        out[`l1.${t}.${m}.${name}`] = r4(describe(sel.map((r) => r.l1)).mean);
      }
    }
  }
  for (const m of input.methods) {
    const small = input.targets.filter((t) => PSEUDO_SMALL_SHIFT.includes(t as PseudoTarget));
    const large = input.targets.filter((t) => PSEUDO_LARGE_SHIFT.includes(t as PseudoTarget));
    if (small.length) out[`claim.adaptationWinsSmallShift.${m}`] = small.every((t) => out[`winner.${t}.${m}`] === "Adaptation");
    if (large.length) out[`claim.tutorshipWinsLargeShift.${m}`] = large.every((t) => out[`winner.${t}.${m}`] === "Tutorship");
  }
  for (const s of structures()) out[`sourceCv.${s}`] = r4(foldStats(input.sourceCv, "tem", "source CV", PSEUDO_NO_TRANSLATOR, s).mean);
  out["folds"] = new Set(input.dice.map((r) => r.fold)).size;
  out["testImagesPerTarget"] = input.targets.length ? new Set(input.dice.filter((r) => r.target === input.targets[0]).map((r) => r.case)).size : 0;
  return out;
}

/** SynDiff's TEM -> target translations must resemble the paired truth at least this much (SSIM). */
export const PSEUDO_SSIM_TARGET = 0.5;

/**
 * The study's targets: SynDiff's TEM -> target translations reach SSIM PSEUDO_SSIM_TARGET against
 * the phantom's paired truth on every target; and the paper's pattern with SynDiff, Adaptation
 * ahead of Tutorship by more than the tie margin on the small shift and behind it on the large ones.
 */
export function pseudoLabelsTargets(numbers: Record<string, KeyNumber>, ctx: { methods: readonly string[]; targets: readonly string[] }): Target[] {
  const n = (k: string) => (typeof numbers[k] === "number" ? (numbers[k] as number) : null);
  if (!ctx.methods.includes("syndiff")) return [];
  const out: Target[] = ctx.targets.map((t) => ({ id: `syndiffSsim.${t}`, claim: `SynDiff's TEM -> ${t} translations resemble the truth`, measure: "SSIM", measured: n(`ssim.${t}.syndiff.tutorship`), op: ">=" as const, threshold: PSEUDO_SSIM_TARGET }));
  for (const t of ctx.targets) {
    const d = n(`adaptationMinusTutorship.${t}.syndiff`);
    if (PSEUDO_SMALL_SHIFT.includes(t as PseudoTarget)) out.push({ id: `adaptationWins.${t}`, claim: `Adaptation beats Tutorship on the small shift (${t}, SynDiff)`, measure: "Adaptation minus Tutorship Dice", measured: d === null ? null : d - PSEUDO_DICE_TIE, op: ">=", threshold: 0, digits: 3 });
    if (PSEUDO_LARGE_SHIFT.includes(t as PseudoTarget)) out.push({ id: `tutorshipWins.${t}`, claim: `Tutorship beats Adaptation on the large shift (${t}, SynDiff)`, measure: "Tutorship minus Adaptation Dice", measured: d === null ? null : -d - PSEUDO_DICE_TIE, op: ">=", threshold: 0, digits: 3 });
  }
  return out;
}

/** The reading: what the numbers say about the paper's claims, in words. */
export function pseudoLabelsReading(numbers: Record<string, KeyNumber>, ctx: { profile: Profile; methods: readonly string[]; targets: readonly string[]; notes?: readonly string[] }): string {
  const n = (k: string) => (typeof numbers[k] === "number" ? (numbers[k] as number) : null);
  const pm = (k: string) => `${f3(n(k))} ± ${f3(n(`${k}.sd`))}`;
  // Markdown: paragraphs apart by blank lines, the per-target figures as a list.
  const parts: string[] = [];
  const list = ctx.targets.map((t) => `- ${t}: ${pseudoArms(ctx.methods).map((a) => `${pseudoArmName(a.strategy, a.method)} ${pm(`dice2.${t}.${pseudoArmKey(a.strategy, a.method)}`)}`).join("; ")}.`);
  parts.push(
    `Dice (mean of axon and myelin; mean ± sd over ${numbers["folds"]} folds; ${numbers["testImagesPerTarget"]} held-out test images per target; ${ctx.profile} profile), targets in order of increasing dissimilarity from TEM:\n\n${list.join("\n")}`,
  );
  const verdict = (t: string, m: string) => {
    const w = numbers[`winner.${t}.${m}`];
    const d = n(`adaptationMinusTutorship.${t}.${m}`);
    const sd = Math.max(n(`dice2.${t}.Adaptation.${m}.sd`) ?? 0, n(`dice2.${t}.Tutorship.${m}.sd`) ?? 0);
    const beyond = d !== null && Math.abs(d) > sd ? "beyond" : "within";
    return `${t}: ${w === "tie" ? "tie" : `${w} by ${f3(d === null ? null : Math.abs(d))}`} (${beyond} the larger fold sd, ${f3(sd)})`;
  };
  const smallT = ctx.targets.filter((t) => PSEUDO_SMALL_SHIFT.includes(t as PseudoTarget));
  const largeT = ctx.targets.filter((t) => PSEUDO_LARGE_SHIFT.includes(t as PseudoTarget));
  const heldFor: string[] = [];
  for (const m of ctx.methods) {
    const small = numbers[`claim.adaptationWinsSmallShift.${m}`];
    const large = numbers[`claim.tutorshipWinsLargeShift.${m}`];
    const said: string[] = [];
    if (typeof small === "boolean") said.push(`Adaptation wins the small shift (${smallT.join(", ")}): ${small ? "yes" : "no"}`);
    if (typeof large === "boolean") said.push(`Tutorship wins the large shifts (${largeT.join(", ")}): ${large ? "yes" : "no"}`);
    parts.push(`Adaptation vs Tutorship with ${m}: ${ctx.targets.map((t) => verdict(t, m)).join("; ")}.${said.length ? ` The paper's claim: ${said.join("; ")}.` : ""}`);
    if (small === true && large === true) heldFor.push(m);
  }
  if (smallT.length && largeT.length) {
    parts.push(
      heldFor.length
        ? `The paper's pattern (Adaptation for a small domain shift, Tutorship for a large one) held in full with ${heldFor.join(", ")}${heldFor.length < ctx.methods.length ? `, not with ${ctx.methods.filter((m) => !heldFor.includes(m)).join(", ")}` : ""}.`
        : `The paper's pattern (Adaptation for a small domain shift, Tutorship for a large one) did not hold in full with any translator on the phantom at this profile.`,
    );
  }
  // Is the study informative at all: does any strategy lift the floor where the shift is large?
  const floor = (t: string) => n(`dice2.${t}.NoAdapt`);
  const best = (t: string) => Math.max(...ctx.methods.flatMap((m) => [n(`dice2.${t}.Tutorship.${m}`) ?? -1, n(`dice2.${t}.Adaptation.${m}`) ?? -1]));
  if (ctx.targets.length) {
    parts.push(`NoAdapt, the floor, by target: ${ctx.targets.map((t) => `${t} ${f3(floor(t))}`).join(", ")}; the best pseudo-labelling arm: ${ctx.targets.map((t) => `${t} ${f3(best(t))}`).join(", ")}.`);
    const flat = largeT.filter((t) => floor(t) !== null && best(t) - floor(t)! < 0.05);
    if (flat.length) parts.push(`Caution: on ${flat.join(", ")} no strategy gains even 0.05 Dice over NoAdapt, so the translators carry little across the shift at this profile and the orderings there say little about the claim.`);
  }
  const sq = ctx.methods.map((m) => `${m} ${ctx.targets.map((t) => f3(n(`ssim.${t}.${m}.tutorship`))).join(" / ")}`);
  if (ctx.targets.length && ctx.methods.some((m) => n(`ssim.${ctx.targets[0]}.${m}.tutorship`) !== null)) {
    parts.push(`SSIM of TEM -> target translations against the phantom's paired truth (${ctx.targets.join(" / ")}): ${sq.join("; ")}. Cycle-reconstruction SSIM: ${ctx.methods.map((m) => `${m} ${ctx.targets.map((t) => f3(n(`ssim.${t}.${m}.cycle`))).join(" / ")}`).join("; ")}.`);
  }
  parts.push(`The TEM segmenters on their held-out TEM fold (the source-domain ceiling): axon ${f3(n("sourceCv.axon"))}, myelin ${f3(n("sourceCv.myelin"))}.`);
  if (ctx.targets.includes("sem") && ctx.methods.length) {
    const m = ctx.methods[0]!;
    parts.push(
      `For scale only: the paper reports Tutorship on real SEM at Dice ${PSEUDO_PAPER_TUTORSHIP_SEM.axon} (axon) and ${PSEUDO_PAPER_TUTORSHIP_SEM.myelin} (myelin); here Tutorship (${m}) on the SEM phantom reaches ${f3(n(`dice.sem.Tutorship.${m}.axon`))} and ${f3(n(`dice.sem.Tutorship.${m}.myelin`))} (a phantom, so not comparable in level).`,
    );
  }
  parts.push(`Ties: within ${PSEUDO_DICE_TIE} Dice.`);
  for (const note of ctx.notes ?? []) parts.push(note);
  return parts.join("\n\n");
}

/** The default target order (by increasing dissimilarity), for callers that pass a subset. */
export function orderedPseudoTargets(targets: readonly string[]): string[] {
  return [...targets].sort((a, b) => PSEUDO_TARGETS.indexOf(a as PseudoTarget) - PSEUDO_TARGETS.indexOf(b as PseudoTarget));
}
