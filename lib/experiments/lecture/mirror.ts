// The geometric ambiguity of the cycle loss, measured on a trained toy pair: a pair (G, F) and its
// mirrored twin (T G, F T^-1) have equal cycle losses while their translations differ.
import { tf } from "../../engine/tf.js";
import { type Volume } from "../../volume/volume.js";
import type { Row } from "../../analysis/tables.js";
import { imageGridFigure } from "../../viz/imageFigures.js";
import type { Figure } from "../../viz/figure.js";
import { grey, stack, unstack } from "./common.js";
import { type ToyEvaluation, type ToyPair } from "./toys.js";

// ---------------------------------------------------------------------------------------------
// 2. The geometric ambiguity of the cycle loss

/** An image translator: [n, h, w, 1] -> [n, h, w, 1]. */
export type ImageTranslator = (x: tf.Tensor) => tf.Tensor;

export interface CycleLosses {
  /** Mean |F(G(x)) - x| (the X -> Y -> X cycle). */
  cycleX: number;
  /** Mean |G(F(y)) - y| (the Y -> X -> Y cycle). */
  cycleY: number;
}

export interface FlipAmbiguity {
  transform: string;
  /** Images each cycle was averaged over (the test images and their mirror images). */
  imagesX: number;
  imagesY: number;
  /** (G, F) as trained. */
  original: CycleLosses;
  /** (T o G, F o T^-1): the translation mirrored, undone before the way back. */
  mirrored: CycleLosses;
  /** |difference| of each cycle loss between the two pairs, and relative to the loss. */
  absDifference: CycleLosses;
  relDifference: number;
  /** Largest |F'(G'(x)) - F(G(x))| over all pixels: the X reconstructions are the same images. */
  reconstructionMaxDiff: number;
  /** Mean |T(G(x)) - G(x)|: how much the two translations differ. */
  translationChange: number;
  /** Mean |G(x) - mean G(x)|: the translations' own spread, for scale. */
  translationSpread: number;
}

/** The left-right mirror T of [n, h, w, c] images (T^-1 = T). */
export const mirrorImages = (x: tf.Tensor): tf.Tensor => tf.reverse(x, 2);

/** Mean |a - b|, the float32 differences summed in float64 (so the order of summation hardly matters). */
function meanAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const d = tf.tidy(() => tf.abs(tf.sub(a, b)));
  const v = d.dataSync() as Float32Array;
  d.dispose();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

/**
 * Cycle consistency cannot tell (G, F) from (T o G, F o T^-1) for a bijection T of Y: here the
 * left-right mirror. F'(G'(x)) = F(T^-1(T(G(x)))) = F(G(x)) exactly, since mirroring twice
 * returns the very same pixels; G'(F'(y)) = T(G(F(T^-1 y))), whose L1 distance to y equals that
 * of G(F(T^-1 y)) to T^-1 y (mirroring keeps distances), so over a set of images that holds each
 * image's mirror too the Y cycle loss is the same sum in another order. Both pairs are therefore
 * equally cycle consistent, to float precision, while their translations differ by a mirror.
 * `xs` and `ys` are [n, h, w, 1]; their mirror images are added here.
 */
export function flipAmbiguity(G: ImageTranslator, F: ImageTranslator, xs: tf.Tensor, ys: tf.Tensor): FlipAmbiguity {
  return tf.tidy(() => {
    const x = tf.concat([xs, mirrorImages(xs)], 0);
    const y = tf.concat([ys, mirrorImages(ys)], 0);
    const Gx = G(x);
    const FGx = F(Gx);
    const GFy = G(F(y));
    // The mirrored pair.
    const G2 = (t: tf.Tensor) => mirrorImages(G(t));
    const F2 = (t: tf.Tensor) => F(mirrorImages(t));
    const G2x = G2(x);
    const F2G2x = F2(G2x);
    const G2F2y = G2(F2(y));
    const original = { cycleX: meanAbsDiff(FGx, x), cycleY: meanAbsDiff(GFy, y) };
    const mirrored = { cycleX: meanAbsDiff(F2G2x, x), cycleY: meanAbsDiff(G2F2y, y) };
    const absDifference = { cycleX: Math.abs(original.cycleX - mirrored.cycleX), cycleY: Math.abs(original.cycleY - mirrored.cycleY) };
    const total = original.cycleX + original.cycleY;
    return {
      transform: "left-right mirror",
      imagesX: x.shape[0]!,
      imagesY: y.shape[0]!,
      original,
      mirrored,
      absDifference,
      relDifference: (absDifference.cycleX + absDifference.cycleY) / Math.max(total, 1e-30),
      reconstructionMaxDiff: tf.max(tf.abs(tf.sub(F2G2x, FGx))).dataSync()[0]!,
      translationChange: meanAbsDiff(G2x, Gx),
      translationSpread: tf.mean(tf.abs(tf.sub(Gx, tf.mean(Gx)))).dataSync()[0]!,
    };
  });
}

/** The flip experiment on a trained toy pair's test images (G = G_A, F = G_B). */
export function flipAmbiguityOfPair(pair: ToyPair, ev: ToyEvaluation): FlipAmbiguity {
  const xs = stack(ev.testA);
  const ys = stack(ev.testB);
  try {
    return flipAmbiguity((t) => pair.trainer.G_A.apply(t), (t) => pair.trainer.G_B.apply(t), xs, ys);
  } finally {
    tf.dispose([xs, ys]);
  }
}

export function flipRows(f: FlipAmbiguity, toy: string): Row[] {
  const row = (pair: string, c: CycleLosses, change: number | null): Row => ({
    toy,
    pair,
    cycle_x: c.cycleX,
    cycle_y: c.cycleY,
    cycle_total: c.cycleX + c.cycleY,
    translation_change: change,
  });
  return [
    row("(G, F)", f.original, 0),
    row("(T∘G, F∘T⁻¹), T = mirror", f.mirrored, f.translationChange),
    { toy, pair: "|difference|", cycle_x: f.absDifference.cycleX, cycle_y: f.absDifference.cycleY, cycle_total: Math.abs(f.original.cycleX + f.original.cycleY - f.mirrored.cycleX - f.mirrored.cycleY), translation_change: f.translationChange },
  ];
}

/** The flip numbers as a plotly table (values to 9 significant digits, so equality shows). */
export function flipTableFigure(f: FlipAmbiguity, toy: string): Figure {
  const rows = flipRows(f, toy);
  const fmt = (v: unknown) => (typeof v === "number" ? (v === 0 ? "0" : v.toPrecision(9)) : String(v));
  const cols = ["pair", "cycle_x", "cycle_y", "cycle_total", "translation_change"] as const;
  const header = ["pair", "cycle loss X→Y→X", "cycle loss Y→X→Y", "sum", "mean |G'(x) − G(x)|"];
  return {
    data: [
      {
        type: "table",
        columnwidth: [2.2, 1.3, 1.3, 1.3, 1.5],
        header: { values: header.map((h) => `<b>${h}</b>`), align: "left", fill: { color: "#e5e9f0" }, font: { size: 13 } },
        cells: { values: cols.map((c) => rows.map((r) => fmt(r[c]))), align: "left", font: { size: 13, family: "monospace" }, height: 26 },
      },
    ],
    layout: {
      title: { text: `Cycle consistency is blind to a mirror: ${toy} pair, ${f.imagesX} + ${f.imagesY} test images (with their mirror images)`, x: 0.02, xanchor: "left", font: { size: 15 } },
      width: 980,
      height: 230,
      margin: { l: 20, r: 20, t: 60, b: 20 },
    } as Figure["layout"],
    config: { displaylogo: false, responsive: true },
  };
}

/** x | G(x) | T(G(x)) | F(G(x)) | F'(G'(x)) for the first test images of a pair. */
export function flipImagesFigure(pair: ToyPair, ev: ToyEvaluation, n = 2): Figure {
  const xs = stack(ev.testA.slice(0, n));
  const out = tf.tidy(() => {
    const g = pair.trainer.G_A.apply(xs);
    const tg = mirrorImages(g);
    return [g, tg, pair.trainer.G_B.apply(g), pair.trainer.G_B.apply(mirrorImages(tg))].map((t) => tf.keep(t));
  });
  const [g, tg, fg, f2g2] = out.map(unstack) as [Volume[], Volume[], Volume[], Volume[]];
  tf.dispose([xs, ...out]);
  return imageGridFigure({
    title: `G and its mirror T∘G: the same reconstructions (${pair.toy})`,
    rows: ev.testA.slice(0, n).map((x, i) => ({ label: `#${i + 1}`, images: [grey(x), grey(g[i]!), grey(tg[i]!), grey(fg[i]!), grey(f2g2[i]!)] })),
    columnTitles: ["x", "G(x)", "T(G(x))", "F(G(x))", "F(T⁻¹(T(G(x))))"],
    tileSize: 110,
  });
}
