// The budget sweep chart: a metric against training steps (log axis), one line per series, with
// the target each series must reach drawn as a dashed line of the same colour, so a reader sees at
// which budget a claim starts to hold.
import { UnpairedError } from "../util/errors.js";
import { axisStyle, axisTitle, baseLayout, chartConfig, finiteOrNull, legendRight, type ChartSize } from "./chartLayout.js";
import { colourAt, type Figure, type Trace } from "./figure.js";

export interface BudgetSeries {
  name: string;
  points: { steps: number; value: number | null }[];
  /** The value the series must reach (drawn dashed), with its label. */
  target?: { value: number; label: string };
}

export interface BudgetSweepFigureOptions extends ChartSize {
  yTitle?: string;
  /** A vertical marker at the profile's own budget. */
  marker?: { steps: number; label: string };
}

export function budgetSweepFigure(series: readonly BudgetSeries[], opts: BudgetSweepFigureOptions = {}): Figure {
  if (!series.length) throw new UnpairedError("BAD_OPTION", "budgetSweepFigure: no series to draw");
  const all = series.flatMap((s) => s.points.map((p) => p.steps));
  if (!all.length || all.some((s) => !(Number.isFinite(s) && s > 0))) throw new UnpairedError("BAD_OPTION", "budgetSweepFigure: every point needs steps > 0");
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const data: Trace[] = [];
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.steps - b.steps);
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: s.name,
      x: pts.map((p) => p.steps),
      y: pts.map((p) => finiteOrNull(p.value)),
      line: { color: colourAt(i), width: 2 },
      marker: { size: 8 },
      hovertemplate: `${s.name}<br>%{x} steps: %{y:.3f}<extra></extra>`,
    });
    if (s.target) {
      data.push({
        type: "scatter",
        mode: "lines",
        name: s.target.label,
        x: [lo, hi],
        y: [s.target.value, s.target.value],
        line: { color: colourAt(i), width: 1.5, dash: "dash" },
        hoverinfo: "skip",
      });
    }
  });
  const layout = baseLayout("budgetSweepFigure", opts, { width: 860, height: 480, title: "Budget sweep" });
  return {
    data,
    layout: {
      ...layout,
      legend: legendRight(),
      xaxis: { ...axisStyle(), type: "log", title: { text: axisTitle("training steps", "log scale") } },
      yaxis: { ...axisStyle(), title: { text: opts.yTitle ?? "metric" } },
      ...(opts.marker
        ? {
            shapes: [{ type: "line", x0: opts.marker.steps, x1: opts.marker.steps, yref: "paper", y0: 0, y1: 1, line: { color: "#888888", width: 1, dash: "dot" } }],
            annotations: [{ x: Math.log10(opts.marker.steps), y: 1, yref: "paper", text: opts.marker.label, showarrow: false, xanchor: "left", yanchor: "bottom", font: { size: 12, color: "#555555" } }],
          }
        : {}),
    },
    config: chartConfig(),
  };
}
