// The figure object every builder in lib/viz returns: plotly's {data, layout} as plain JSON, so
// a notebook can send it as a mime bundle, the CLI can write it to HTML/PNG/SVG, and a test can
// read its traces. Kept loosely typed (plotly's schema is vast); the fields the kit relies on
// are named.

/** One plotly trace. */
export interface Trace {
  type: string;
  name?: string;
  [key: string]: unknown;
}

/** plotly's layout (title, axes, grid, shapes, images, annotations, ...). */
export type Layout = Record<string, unknown> & {
  title?: { text: string } | string;
  width?: number;
  height?: number;
};

export interface Figure {
  data: Trace[];
  layout: Layout;
  /** plotly's config (e.g. displaylogo); optional. */
  config?: Record<string, unknown>;
}

/** The kit's categorical palette (plotly's default ten; one colour per method, cluster, style). */
export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"] as const;

export const colourAt = (i: number): string => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;

/** A figure's title as text (whichever form the layout holds). */
export function figureTitle(fig: Figure): string {
  const t = fig.layout.title;
  return typeof t === "string" ? t : (t?.text ?? "");
}
