// Chart figure builders: trace types and counts, points per trace equal to the input rows,
// non-finite values left out and counted, exemplar stars at the exemplars, hover text, colours
// per method across subplots, error bars equal to the sd, axis titles, and every figure plain
// JSON (no NaN, undefined or typed arrays).
import { test } from "node:test";
import assert from "node:assert/strict";
import { figureTitle, PALETTE, type Figure, type Trace } from "../lib/viz/figure.js";
import { columnDomains, formatNumber, formatPercent } from "../lib/viz/chartLayout.js";
import { stylePcaFigure, silhouetteFigure, type StylePoint } from "../lib/viz/styleSpaceFigures.js";
import { diceByStrategyFigure, metricBoxFigure, type MetricRow, type StrategyDiceRow } from "../lib/viz/metricBoxFigures.js";
import { qualityBarsFigure, type QualityRow } from "../lib/viz/qualityBarsFigure.js";
import { lossHistoryFromCsv, movingAverage, trainingCurvesFigure, type LossHistoryEntry } from "../lib/viz/trainingCurvesFigure.js";
import { UnpairedError } from "../lib/util/errors.js";

/** The figure survives a JSON round trip unchanged, and holds no typed array anywhere. */
function assertPlainJson(fig: Figure): void {
  assert.deepStrictEqual(JSON.parse(JSON.stringify(fig)), fig);
  const walk = (v: unknown, path: string): void => {
    assert.ok(!ArrayBuffer.isView(v), `typed array at ${path}`);
    if (typeof v === "number") assert.ok(Number.isFinite(v), `non-finite number at ${path}`);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(fig, "fig");
}

/** The common frame of every chart: size, title, white background, fonts, config. */
function assertFrame(fig: Figure): void {
  assert.ok(typeof fig.layout.width === "number" && fig.layout.width >= 400, "width");
  assert.ok(typeof fig.layout.height === "number" && fig.layout.height >= 300, "height");
  assert.ok(figureTitle(fig).length > 0, "title");
  assert.equal(fig.layout.plot_bgcolor, "white");
  assert.equal(fig.layout.paper_bgcolor, "white");
  assert.ok(((fig.layout.font as { size: number }).size ?? 0) >= 12, "readable font");
  assert.deepEqual(fig.config, { displaylogo: false, responsive: true });
  assertPlainJson(fig);
}

const isUserError = (re: RegExp) => (e: unknown) => e instanceof UnpairedError && e.code === "BAD_CONFIG" && re.test(e.message);

const xs = (t: Trace) => t.x as (number | string | null)[];
const ys = (t: Trace) => t.y as (number | null)[];

// ------------------------------------------------------------------ style space

const points: StylePoint[] = [
  { x: 1.0, y: 2.0, cluster: 0, id: "img-a", namedDomain: "etz", trueStyle: "bright" },
  { x: 1.5, y: 2.5, cluster: 0, id: "img-b", namedDomain: "ldn", trueStyle: "bright" },
  { x: -1.0, y: 0.5, cluster: 1, id: "img-c", namedDomain: "etz", trueStyle: "dark" },
  { x: -1.2, y: 0.1, cluster: 1, id: "img-d", namedDomain: "ukm", trueStyle: "dark" },
  { x: -0.8, y: 0.3, cluster: 1, id: "img-e", namedDomain: "ukm" },
  { x: 3.0, y: -2.0, cluster: 2, id: "img-f", namedDomain: "ldn", trueStyle: "noisy" },
];

test("stylePcaFigure: one trace per cluster with its points, exemplar stars, hover text, explained variance on the axes", () => {
  const fig = stylePcaFigure({ points, explainedVarianceRatio: [0.4213, 0.2, 0.1], exemplarIds: ["img-a", "img-d", "img-f"] });
  assertFrame(fig);
  assert.equal(fig.data.length, 4);
  const clusters = fig.data.slice(0, 3);
  for (const [i, t] of clusters.entries()) {
    assert.equal(t.type, "scatter");
    assert.equal(t.mode, "markers");
    assert.equal(t.name, `cluster ${i}`);
    const members = points.filter((p) => p.cluster === i);
    assert.equal(xs(t).length, members.length);
    assert.deepEqual(xs(t), members.map((p) => p.x));
    assert.deepEqual(ys(t), members.map((p) => p.y));
    assert.equal((t.marker as { color: string }).color, PALETTE[i]);
  }
  assert.equal(clusters.reduce((s, t) => s + xs(t).length, 0), points.length);

  // Hover text names id, named sub-domain and true style.
  const text = clusters.flatMap((t) => t.text as string[]);
  const c = text.find((s) => s.includes("img-c"))!;
  assert.match(c, /site: etz/);
  assert.match(c, /true style: dark/);
  assert.match(text.find((s) => s.includes("img-e"))!, /true style: unknown/);

  // Exemplars: stars at the exemplar coordinates, bigger than the points, black outline, cluster colour.
  const ex = fig.data[3]!;
  assert.equal(ex.name, "exemplars");
  assert.deepEqual(xs(ex), [1.0, -1.2, 3.0]);
  assert.deepEqual(ys(ex), [2.0, 0.1, -2.0]);
  const m = ex.marker as { symbol: string; size: number; color: string[]; line: { color: string } };
  assert.equal(m.symbol, "star");
  assert.ok(m.size > (clusters[0]!.marker as { size: number }).size);
  assert.equal(m.line.color, "black");
  assert.deepEqual(m.color, [PALETTE[0], PALETTE[1], PALETTE[2]]);
  assert.ok((ex.text as string[])[1]!.includes("img-d"));

  const xaxis = fig.layout.xaxis as { title: { text: string } };
  const yaxis = fig.layout.yaxis as { title: { text: string } };
  assert.equal(xaxis.title.text, "PC1 (42.1 %)");
  assert.equal(yaxis.title.text, "PC2 (20.0 %)");
});

test("stylePcaFigure: coloured by named sub-domain or true style, every point once", () => {
  const bySite = stylePcaFigure({ points, explainedVarianceRatio: [0.5, 0.3], colourBy: "namedDomain", namedDomainLabel: "site" });
  assertFrame(bySite);
  assert.deepEqual(bySite.data.map((t) => t.name), ["etz", "ldn", "ukm"]);
  assert.deepEqual(bySite.data.map((t) => xs(t).length), [2, 2, 2]);
  assert.match(figureTitle(bySite), /site/);

  const byStyle = stylePcaFigure({ points, explainedVarianceRatio: [0.5, 0.3], colourBy: "trueStyle", exemplarIds: ["img-e"] });
  assertFrame(byStyle);
  assert.deepEqual(byStyle.data.map((t) => t.name), ["style bright", "style dark", "style noisy", "style unknown", "exemplars"]);
  assert.deepEqual(byStyle.data.slice(0, 4).map((t) => xs(t).length), [2, 2, 1, 1]);
  // The star takes its group's colour (the unknown-style group, 4th).
  assert.deepEqual((byStyle.data[4]!.marker as { color: string[] }).color, [PALETTE[3]]);

  assert.throws(() => stylePcaFigure({ points, explainedVarianceRatio: [42.1, 20] }), isUserError(/fractions from 0 to 1/));
  assert.throws(() => stylePcaFigure({ points, explainedVarianceRatio: [0.4] }), isUserError(/PC1 and PC2/));
  assert.throws(() => stylePcaFigure({ points, explainedVarianceRatio: [0.4, 0.2], exemplarIds: ["nope"] }), isUserError(/exemplarIds names "nope"/));
  const noStyle = points.map(({ trueStyle: _, ...p }) => p);
  assert.throws(() => stylePcaFigure({ points: noStyle, explainedVarianceRatio: [0.4, 0.2], colourBy: "trueStyle" }), isUserError(/no point has a trueStyle/));
  assert.throws(() => stylePcaFigure({ points: [{ ...points[0]!, x: NaN }], explainedVarianceRatio: [0.4, 0.2] }), isUserError(/img-a/));
});

test("silhouetteFigure: score by k, the chosen k marked (default: the best score)", () => {
  const scores = [
    { k: 7, silhouette: 0.31 },
    { k: 5, silhouette: 0.42 },
    { k: 6, silhouette: NaN },
    { k: 8, silhouette: 0.25 },
  ];
  const fig = silhouetteFigure({ scores });
  assertFrame(fig);
  assert.equal(fig.data.length, 2);
  assert.deepEqual(xs(fig.data[0]!), [5, 6, 7, 8]);
  assert.deepEqual(ys(fig.data[0]!), [0.42, null, 0.31, 0.25]);
  assert.deepEqual(xs(fig.data[1]!), [5]);
  assert.deepEqual(ys(fig.data[1]!), [0.42]);
  const line = (fig.layout.shapes as { x0: number; x1: number }[])[0]!;
  assert.equal(line.x0, 5);
  assert.equal(line.x1, 5);
  assert.match((fig.layout.annotations as { text: string }[])[0]!.text, /k = 5/);

  const chosen = silhouetteFigure({ scores, chosenK: 7 });
  assert.deepEqual(xs(chosen.data[1]!), [7]);
  assert.equal(chosen.data[1]!.name, "chosen k = 7");
  assert.throws(() => silhouetteFigure({ scores, chosenK: 6 }), isUserError(/chosenK = 6/));
  assert.throws(() => silhouetteFigure({ scores: [{ k: 2, silhouette: 0.1 }, { k: 2, silhouette: 0.2 }] }), isUserError(/twice/));
  assert.throws(() => silhouetteFigure({ scores: [] }), isUserError(/scores is empty/));
});

// ------------------------------------------------------------------ box plots

const methods = ["NoAdapt", "Unified", "IntraStyler"];
const structures = ["intra-meatal VS", "extra-meatal VS", "cochlea"];
const metricRows: MetricRow[] = [];
for (const [mi, method] of methods.entries()) {
  for (const [si, structure] of structures.entries()) {
    for (let c = 0; c < 5; c++) {
      // A few NaN (and one Infinity) values: left out and counted.
      const value = method === "NoAdapt" && structure === "cochlea" && c < 2 ? NaN : method === "Unified" && si === 0 && c === 4 ? Infinity : 0.3 + 0.1 * mi + 0.02 * c + 0.01 * si;
      metricRows.push({ case: `case-${c}`, method, structure, value });
    }
  }
}

test("metricBoxFigure: one box trace per method, all points, NaN left out and counted, units on the y axis", () => {
  const fig = metricBoxFigure({ rows: metricRows, metric: "ASSD", unit: "mm" });
  assertFrame(fig);
  assert.equal(fig.data.length, methods.length);
  assert.equal(fig.layout.boxmode, "group");
  for (const [i, t] of fig.data.entries()) {
    assert.equal(t.type, "box");
    assert.equal(t.name, methods[i]);
    assert.equal(t.boxpoints, "all");
    assert.ok((t.jitter as number) > 0);
    assert.equal((t.marker as { color: string }).color, PALETTE[i]);
    const mine = metricRows.filter((r) => r.method === methods[i]);
    const finite = mine.filter((r) => Number.isFinite(r.value));
    assert.equal(ys(t).length, finite.length, `${t.name}: points = finite input rows`);
    assert.deepEqual(ys(t), finite.map((r) => r.value));
    assert.deepEqual(xs(t), finite.map((r) => r.structure));
    assert.deepEqual(t.text, finite.map((r) => r.case));
    assert.equal((t.meta as { missing: number }).missing, mine.length - finite.length);
  }
  const yaxis = fig.layout.yaxis as { title: { text: string } };
  assert.equal(yaxis.title.text, "ASSD (mm)");
  assert.deepEqual((fig.layout.xaxis as { categoryarray: string[] }).categoryarray, structures);
  const note = (fig.layout.annotations as { text: string }[]).map((a) => a.text).join(" ");
  assert.match(note, /3 values/);
  assert.match(note, /NoAdapt: 2/);
  assert.match(note, /Unified: 1/);

  const dice = metricBoxFigure({ rows: metricRows.filter((r) => Number.isFinite(r.value)), metric: "Dice", methods: ["IntraStyler", "NoAdapt", "Unified"] });
  assert.equal((dice.layout.yaxis as { title: { text: string } }).title.text, "Dice");
  assert.deepEqual(dice.data.map((t) => t.name), ["IntraStyler", "NoAdapt", "Unified"]);
  assert.deepEqual(dice.layout.annotations, []);
  assert.throws(() => metricBoxFigure({ rows: metricRows, metric: "Dice", methods: ["NoAdapt"] }), isUserError(/methods lacks "Unified", "IntraStyler"/));
  assert.throws(() => metricBoxFigure({ rows: [], metric: "Dice" }), isUserError(/rows is empty/));
});

test("diceByStrategyFigure: a panel per structure, a box per strategy, colours and legend consistent across panels", () => {
  const strategies = ["NoAdapt", "Tutorship", "Adaptation"];
  const domains = ["TEM (rat)", "SEM", "bright-field"];
  const rows: StrategyDiceRow[] = [];
  for (const structure of ["axon", "myelin"]) {
    for (const strategy of strategies) {
      for (const domain of domains) {
        for (let fold = 0; fold < 5; fold++) {
          const dice = structure === "myelin" && strategy === "Adaptation" && domain === "SEM" && fold === 0 ? NaN : 0.5 + 0.05 * fold;
          rows.push({ case: `fold ${fold}`, strategy, domain, structure, dice });
        }
      }
    }
  }
  const fig = diceByStrategyFigure({ rows, domains });
  assertFrame(fig);
  assert.equal(fig.data.length, 2 * strategies.length);
  assert.ok(fig.data.every((t) => t.type === "box" && t.boxpoints === "all"));
  for (const [i, t] of fig.data.entries()) {
    const panel = Math.floor(i / strategies.length);
    const strategy = strategies[i % strategies.length]!;
    assert.equal(t.name, strategy);
    assert.equal(t.xaxis, panel === 0 ? "x" : "x2");
    assert.equal(t.yaxis, panel === 0 ? "y" : "y2");
    assert.equal((t.marker as { color: string }).color, PALETTE[i % strategies.length], "same colour per strategy in every panel");
    assert.equal(t.showlegend, panel === 0, "one legend entry per strategy");
    const structure = panel === 0 ? "axon" : "myelin";
    const finite = rows.filter((r) => r.structure === structure && r.strategy === strategy && Number.isFinite(r.dice));
    assert.equal(ys(t).length, finite.length);
  }
  assert.equal((fig.layout.yaxis2 as { matches: string }).matches, "y");
  assert.deepEqual((fig.layout.xaxis2 as { categoryarray: string[] }).categoryarray, domains);
  const texts = (fig.layout.annotations as { text: string }[]).map((a) => a.text);
  assert.ok(texts.includes("<b>axon</b>") && texts.includes("<b>myelin</b>"), "panel titles");
  assert.ok(texts.some((t) => /1 value\b/.test(t) && /Adaptation \/ myelin: 1/.test(t)), "missing counted");
  const [d1, d2] = [(fig.layout.xaxis as { domain: number[] }).domain, (fig.layout.xaxis2 as { domain: number[] }).domain];
  assert.ok(d1[1]! < d2[0]!, "panels side by side");
});

// ------------------------------------------------------------------ quality bars

test("qualityBarsFigure: a panel per metric, bars at the mean, error bars equal to the sample sd", () => {
  const rows: QualityRow[] = [];
  const values: Record<string, number[]> = {
    "SSIM|SynDiff|SEM": [0.7, 0.8, 0.75, NaN],
    "SSIM|SynDiff|BF": [0.6, 0.65],
    "SSIM|CycleGAN|SEM": [0.6, 0.7, 0.65],
    "SSIM|CycleGAN|BF": [0.5],
    "PSNR|SynDiff|SEM": [24, 26, 25],
    "PSNR|SynDiff|BF": [20, 22],
    "PSNR|CycleGAN|SEM": [21, 22],
    "PSNR|CycleGAN|BF": [19, 19.5, Infinity],
    "L1|SynDiff|SEM": [0.05, 0.07],
    "L1|SynDiff|BF": [0.1, 0.12],
    "L1|CycleGAN|SEM": [0.08, 0.09],
    "L1|CycleGAN|BF": [0.14, 0.15],
  };
  for (const [key, vs] of Object.entries(values)) {
    const [metric, translator, domain] = key.split("|") as [string, string, string];
    for (const value of vs) rows.push({ metric, translator, domain, value });
  }
  const fig = qualityBarsFigure({ rows });
  assertFrame(fig);
  assert.equal(fig.data.length, 6);
  assert.equal(fig.layout.barmode, "group");
  const sd = (v: number[]) => {
    const f = v.filter(Number.isFinite);
    if (f.length < 2) return null;
    const m = f.reduce((s, x) => s + x, 0) / f.length;
    return Math.sqrt(f.reduce((s, x) => s + (x - m) ** 2, 0) / (f.length - 1));
  };
  const mean = (v: number[]) => {
    const f = v.filter(Number.isFinite);
    return f.reduce((s, x) => s + x, 0) / f.length;
  };
  for (const [i, t] of fig.data.entries()) {
    const metric = ["SSIM", "PSNR", "L1"][Math.floor(i / 2)]!;
    const translator = ["SynDiff", "CycleGAN"][i % 2]!;
    assert.equal(t.type, "bar");
    assert.equal(t.name, translator);
    assert.equal((t.marker as { color: string }).color, PALETTE[i % 2], "same colour per translator in every panel");
    assert.deepEqual(xs(t), ["SEM", "BF"]);
    const err = (t.error_y as { type: string; array: (number | null)[]; visible: boolean });
    assert.equal(err.type, "data");
    assert.equal(err.visible, true);
    ["SEM", "BF"].forEach((domain, j) => {
      const v = values[`${metric}|${translator}|${domain}`]!;
      const got = ys(t)[j]!;
      assert.ok(Math.abs(got - mean(v)) < 1e-12, `${metric} ${translator} ${domain} mean`);
      const want = sd(v);
      if (want === null) assert.equal(err.array[j], null, "no error bar for n < 2");
      else assert.ok(Math.abs(err.array[j]! - want) < 1e-12, `${metric} ${translator} ${domain} sd ${err.array[j]} vs ${want}`);
    });
  }
  assert.equal((fig.layout.yaxis2 as { title: { text: string } }).title.text, "PSNR (dB)");
  assert.equal((fig.layout.yaxis as { title: { text: string } }).title.text, "SSIM");
  assert.equal(fig.data[3]!.yaxis, "y2");
  const notes = (fig.layout.annotations as { text: string }[]).map((a) => a.text);
  assert.ok(notes.some((n) => /2 values/.test(n) && /SynDiff \/ SSIM: 1/.test(n) && /CycleGAN \/ PSNR: 1/.test(n)), notes.join(" | "));
});

// ------------------------------------------------------------------ training curves

const history: LossHistoryEntry[] = Array.from({ length: 12 }, (_, i) => ({
  step: i + 1,
  losses: { G_GAN: 1 / (i + 1), NCE: i === 5 ? NaN : 2 - 0.1 * i, D: i % 2 === 0 ? 0.5 : -0.1 },
}));

test("trainingCurvesFigure: a line per loss; smoothing adds the moving average over a faint raw line; log y", () => {
  const fig = trainingCurvesFigure({ history });
  assertFrame(fig);
  assert.equal(fig.data.length, 3);
  assert.deepEqual(fig.data.map((t) => t.name), ["G_GAN", "NCE", "D"]);
  for (const t of fig.data) {
    assert.equal(t.type, "scatter");
    assert.equal(xs(t).length, history.length);
    assert.deepEqual(xs(t), history.map((h) => h.step));
  }
  assert.equal(ys(fig.data[1]!)[5], null, "NaN is a gap");
  assert.match((fig.layout.annotations as { text: string }[])[0]!.text, /NCE: 1 not finite/);

  const smooth = trainingCurvesFigure({ history, smoothing: 3, losses: ["NCE", "G_GAN"], logY: true });
  assertFrame(smooth);
  assert.equal(smooth.data.length, 4);
  assert.deepEqual(smooth.data.map((t) => t.name), ["NCE (raw)", "NCE", "G_GAN (raw)", "G_GAN"]);
  assert.equal(smooth.data[0]!.showlegend, false);
  assert.equal((smooth.data[1]!.line as { color: string }).color, PALETTE[0]);
  assert.equal((smooth.layout.yaxis as { type: string }).type, "log");
  const g = history.map((h) => h.losses.G_GAN!);
  const ma = ys(smooth.data[3]!);
  assert.ok(Math.abs(ma[0]! - g[0]!) < 1e-12);
  assert.ok(Math.abs(ma[4]! - (g[2]! + g[3]! + g[4]!) / 3) < 1e-12);
  // The NaN at step 6 is skipped, not counted as zero: entries 5..7 hold 2 finite NCE values.
  const nce = history.map((h) => h.losses.NCE!);
  assert.ok(Math.abs(ys(smooth.data[1]!)[6]! - (nce[4]! + nce[6]!) / 2) < 1e-12);

  const logD = trainingCurvesFigure({ history, losses: ["D"], logY: true });
  assert.equal(ys(logD.data[0]!).filter((v) => v === null).length, 6, "values <= 0 are gaps on a log axis");
  assert.match((logD.layout.annotations as { text: string }[])[0]!.text, /D: 6 <= 0/);

  assert.throws(() => trainingCurvesFigure({ history, smoothing: 0 }), isUserError(/smoothing/));
  assert.throws(() => trainingCurvesFigure({ history, losses: ["nope"] }), isUserError(/losses names "nope"/));
  assert.throws(() => trainingCurvesFigure({ history: [] }), isUserError(/history is empty/));
});

test("movingAverage and lossHistoryFromCsv", () => {
  assert.deepEqual(movingAverage([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5]);
  assert.deepEqual(movingAverage([null, null, 4, NaN as unknown as number], 2), [null, null, 4, 4]);
  assert.deepEqual(movingAverage([1, 2, 3], 1), [1, 2, 3]);
  const h = lossHistoryFromCsv("step,lr_factor,seconds,G_GAN,NCE\n1,1,0.5,0.9,2.1\n2,1,0.4,0.8,\n");
  assert.equal(h.length, 2);
  assert.deepEqual(h[0], { step: 1, losses: { G_GAN: 0.9, NCE: 2.1 } });
  assert.ok(Number.isNaN(h[1]!.losses.NCE));
  assertPlainJson(trainingCurvesFigure({ history: h }));
  assert.throws(() => lossHistoryFromCsv("a,b\n1,2\n"), isUserError(/"step" column/));
});

test("chart helpers: subplot domains tile [0, 1]; numbers and percentages format", () => {
  const d = columnDomains(3, 0.1);
  assert.equal(d[0]![0], 0);
  assert.equal(d[2]![1], 1);
  assert.ok(Math.abs(d[1]![0] - d[0]![1] - 0.1) < 1e-6);
  assert.equal(formatPercent(0.4213), "42.1 %");
  assert.equal(formatNumber(0.123456), "0.123");
  assert.equal(formatNumber(NaN), "NaN");
});
