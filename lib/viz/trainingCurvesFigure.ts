// Loss curves of a training run: one line per loss against the step, from the trainer's history
// ({step, losses}, as train() and the live display keep it) or a run folder's losses.csv, with
// optional moving-average smoothing (the raw curve stays faintly behind) and a log y axis.
import { UnpairedError } from "../util/errors.js";
import { baseLayout, categoryOrder, chartConfig, escapeText, finiteOrNull, footnote, requireRows, withAlpha, type ChartSize } from "./chartLayout.js";
import { colourAt, type Figure, type Trace } from "./figure.js";

/** The losses of one training step (the shape of TrainResult.history with steps, and of losses.csv rows). */
export interface LossHistoryEntry {
  step: number;
  losses: Readonly<Record<string, number>>;
}

export interface TrainingCurvesFigureOptions extends ChartSize {
  history: readonly LossHistoryEntry[];
  /** Which losses, in which order (default: all, by first appearance). */
  losses?: readonly string[];
  /** Moving-average window in steps (entries of the history); 1 (the default) draws the raw curves only. */
  smoothing?: number;
  /** A logarithmic y axis (values <= 0 cannot be shown there and are left out, and counted). */
  logY?: boolean;
}

/**
 * Trailing moving average: entry i is the mean of the finite values among entries
 * max(0, i - window + 1) .. i (gaps are skipped, not counted as zero); null where there are none.
 */
export function movingAverage(values: readonly (number | null)[], window: number): (number | null)[] {
  if (!(Number.isInteger(window) && window >= 1)) throw new UnpairedError("BAD_CONFIG", `movingAverage: window must be a whole number >= 1, got ${window}`);
  const out: (number | null)[] = [];
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === "number" && Number.isFinite(v)) {
      sum += v;
      count++;
    }
    if (i >= window) {
      const old = values[i - window];
      if (typeof old === "number" && Number.isFinite(old)) {
        sum -= old;
        count--;
      }
    }
    out.push(count > 0 ? finiteOrNull(sum / count) : null);
  }
  return out;
}

/** Columns of losses.csv that are not losses. */
const NOT_LOSSES = new Set(["step", "lr_factor", "seconds"]);

/**
 * The history in a run folder's losses.csv (header "step,lr_factor,seconds,<loss names>", as
 * lib/train/run.ts writes it): every column but step, lr_factor and seconds is a loss; empty
 * or unreadable fields become NaN.
 */
export function lossHistoryFromCsv(text: string): LossHistoryEntry[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = lines[0]?.split(",").map((h) => h.trim());
  const stepAt = header?.indexOf("step") ?? -1;
  if (!header || stepAt < 0) throw new UnpairedError("BAD_CONFIG", `lossHistoryFromCsv: the text has no header with a "step" column; give the contents of a run's losses.csv`);
  const lossCols = header.map((h, i) => [h, i] as const).filter(([h]) => !NOT_LOSSES.has(h));
  return lines.slice(1).map((line, li) => {
    const f = line.split(",");
    const step = Number(f[stepAt]);
    if (!Number.isFinite(step)) throw new UnpairedError("BAD_CONFIG", `lossHistoryFromCsv: line ${li + 2} has step ${JSON.stringify(f[stepAt])}, not a number; check the file`);
    const losses: Record<string, number> = {};
    for (const [name, i] of lossCols) losses[name] = f[i] === undefined || f[i]!.trim() === "" ? NaN : Number(f[i]);
    return { step, losses };
  });
}

const WHAT = "trainingCurvesFigure";

/**
 * Loss against step, one line per loss (colour by loss). With smoothing > 1 each loss gets its
 * raw curve (faint, no legend entry) and the moving average (named after the loss). Non-finite
 * values, and values <= 0 on a log axis, are gaps (null) and are counted in a footnote.
 */
export function trainingCurvesFigure(opts: TrainingCurvesFigureOptions): Figure {
  requireRows(WHAT, "history", opts.history.length);
  const window = opts.smoothing ?? 1;
  if (!(Number.isInteger(window) && window >= 1)) throw new UnpairedError("BAD_CONFIG", `${WHAT}: smoothing must be a whole number of steps >= 1 (1 = none), got ${window}`);
  const present = opts.history.flatMap((h) => Object.keys(h.losses));
  const names = opts.losses ? [...opts.losses] : categoryOrder(WHAT, "losses", present);
  const known = new Set(present);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UnpairedError("BAD_CONFIG", `${WHAT}: losses lists "${twice}" twice; list each once`);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new UnpairedError("BAD_CONFIG", `${WHAT}: losses names ${unknown.map((n) => `"${n}"`).join(", ")}, which the history lacks (losses: ${[...known].join(", ")}); use those names`);
  }
  for (const h of opts.history) {
    if (!Number.isFinite(h.step)) throw new UnpairedError("BAD_CONFIG", `${WHAT}: history holds step ${h.step}; steps must be finite numbers`);
  }
  const logY = opts.logY ?? false;
  const steps = opts.history.map((h) => h.step);
  const shown = (v: number | null): number | null => (v === null || (logY && v <= 0) ? null : v);

  const data: Trace[] = [];
  const gaps: string[] = [];
  names.forEach((name, i) => {
    const colour = colourAt(i);
    const raw = opts.history.map((h) => finiteOrNull(h.losses[name]));
    const nonFinite = opts.history.filter((h) => name in h.losses && finiteOrNull(h.losses[name]) === null).length;
    const nonPositive = logY ? raw.filter((v) => v !== null && v <= 0).length : 0;
    if (nonFinite > 0) gaps.push(`${escapeText(name)}: ${nonFinite} not finite`);
    if (nonPositive > 0) gaps.push(`${escapeText(name)}: ${nonPositive} <= 0 (log axis)`);
    const smoothed = window > 1;
    data.push({
      type: "scatter",
      mode: "lines",
      name: smoothed ? `${name} (raw)` : name,
      legendgroup: name,
      x: [...steps],
      y: raw.map(shown),
      line: { color: smoothed ? withAlpha(colour, 0.3) : colour, width: smoothed ? 1 : 1.8 },
      ...(smoothed ? { showlegend: false, hoverinfo: "skip" } : { hovertemplate: `step %{x}<br>${escapeText(name)} %{y:.4g}<extra></extra>` }),
    });
    if (!smoothed) return;
    data.push({
      type: "scatter",
      mode: "lines",
      name,
      legendgroup: name,
      x: [...steps],
      y: movingAverage(raw, window).map(shown),
      line: { color: colour, width: 2 },
      hovertemplate: `step %{x}<br>${escapeText(name)} (mean of ${window}) %{y:.4g}<extra></extra>`,
    });
  });

  const layout = baseLayout(WHAT, opts, { width: 900, height: 460, title: window > 1 ? `Training losses (moving average over ${window} steps)` : "Training losses" });
  layout.xaxis = { title: { text: "step" } };
  layout.yaxis = { title: { text: logY ? "loss (log scale)" : "loss" }, ...(logY ? { type: "log" } : {}) };
  layout.hovermode = "x unified";
  if (gaps.length > 0) {
    layout.annotations = [footnote(`Gaps (values not shown): ${gaps.join("; ")}`)];
    layout.margin = { l: 70, r: 30, t: 70, b: 100 };
  }
  return { data, layout, config: chartConfig() };
}
