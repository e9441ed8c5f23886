// A live view of training for notebooks: one display cell (tslab's newDisplay in JupyterLab)
// redrawn every few steps with the step, speed and ETA, the loss curves as an inline SVG, and
// sample translations (input | output) as inline images. Plain HTML, so any display that takes
// HTML works; tests pass their own.
import type { StepInfo } from "./loop.js";
import { colourAt } from "../viz/figure.js";
import { liveHtmlDisplay } from "../viz/display.js";

/** Anything that can show (and replace) an HTML snippet: tslab's Display has html(). */
export interface HtmlDisplay {
  html(s: string): void;
}

/** A grey image: values in [-1, 1], shape [height, width], row-major. */
export interface SampleImage {
  title: string;
  data: Float32Array;
  height: number;
  width: number;
}

/** A live display entry when running inside a tslab kernel, else undefined. */
export function tslabDisplay(): HtmlDisplay | undefined {
  return liveHtmlDisplay();
}

/** An uncompressed 8-bit grey BMP (every browser shows it; no image library needed), y pointing up. */
export function greyBmp(img: SampleImage): Uint8Array {
  const { width: w, height: h } = img;
  const row = Math.ceil(w / 4) * 4;
  const palette = 256 * 4;
  const offset = 14 + 40 + palette;
  const size = offset + row * h;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d;
  v.setUint32(2, size, true);
  v.setUint32(10, offset, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, w, true);
  v.setInt32(22, h, true); // positive height: rows stored bottom-up
  v.setUint16(26, 1, true);
  v.setUint16(28, 8, true);
  v.setUint32(34, row * h, true);
  v.setUint32(46, 256, true);
  for (let i = 0; i < 256; i++) out.set([i, i, i, 0], 54 + 4 * i);
  // BMP stores rows bottom-up: image row y goes to stored row y, so y = 0 is drawn at the bottom,
  // the orientation lib/viz/imageGrid shows slices in (second in-plane axis pointing up).
  for (let y = 0; y < h; y++) {
    const dst = offset + y * row;
    for (let x = 0; x < w; x++) {
      const t = (img.data[y * w + x]! + 1) / 2;
      out[dst + x] = Math.max(0, Math.min(255, Math.round(t * 255)));
    }
  }
  return out;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** Loss curves as an SVG: one line per loss, each scaled to its own range (legend shows the last value). */
export function lossCurvesSvg(history: { step: number; losses: Record<string, number> }[], width = 520, height = 180): string {
  const names = [...new Set(history.flatMap((h) => Object.keys(h.losses)))];
  const pad = 8;
  const legendW = 170;
  const plotW = width - legendW - 2 * pad;
  const first = history[0]?.step ?? 0;
  const last = history.at(-1)?.step ?? 1;
  const sx = (s: number) => pad + ((s - first) / Math.max(1, last - first)) * plotW;
  const lines = names.map((n, i) => {
    const pts = history.filter((h) => Number.isFinite(h.losses[n])).map((h) => [h.step, h.losses[n]!] as const);
    const lo = Math.min(...pts.map((p) => p[1]));
    const hi = Math.max(...pts.map((p) => p[1]));
    const sy = (v: number) => height - pad - ((v - lo) / (hi - lo || 1)) * (height - 2 * pad);
    const d = pts.map(([s, v], k) => `${k ? "L" : "M"}${sx(s).toFixed(1)},${sy(v).toFixed(1)}`).join("");
    const c = colourAt(i);
    const lastV = pts.at(-1)?.[1];
    return `<path d="${d}" fill="none" stroke="${c}" stroke-width="1.2"/><text x="${width - legendW + 4}" y="${16 + 14 * i}" font-size="11" fill="${c}">${esc(n)} ${lastV === undefined ? "" : lastV.toPrecision(3)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" style="background:#fff;border:1px solid #ddd">${lines.join("")}</svg>`;
}

export interface LiveDisplayOptions {
  /** Where to draw; default tslab's display when in a notebook, else nothing is drawn. */
  display?: HtmlDisplay;
  /** Redraw every this many steps (default 10; the last step always). */
  every?: number;
  /** Sample translations to show, computed when a redraw is due. */
  samples?: () => SampleImage[];
  title?: string;
}

/** An onStep listener that keeps a notebook cell up to date; returns undefined outside a notebook. */
export function liveTrainingDisplay(opts: LiveDisplayOptions = {}): ((info: StepInfo) => void) | undefined {
  const display = opts.display ?? tslabDisplay();
  if (!display) return undefined;
  const history: { step: number; losses: Record<string, number> }[] = [];
  const every = opts.every ?? 10;
  return (info) => {
    history.push({ step: info.step, losses: info.losses });
    if (info.step % every !== 0 && info.step !== info.total) return;
    const eta = Math.round(info.etaSeconds);
    const head = `<b>${esc(opts.title ?? "training")}</b> step ${info.step}/${info.total} &middot; ${info.stepsPerSecond.toFixed(2)} steps/s &middot; eta ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, "0")} &middot; lr x${info.lrFactor.toFixed(3)}`;
    const imgs = (opts.samples?.() ?? [])
      .map((s) => `<figure style="display:inline-block;margin:4px"><img width="${s.width * 2}" height="${s.height * 2}" style="image-rendering:pixelated" src="data:image/bmp;base64,${Buffer.from(greyBmp(s)).toString("base64")}"/><figcaption style="font-size:11px;text-align:center">${esc(s.title)}</figcaption></figure>`)
      .join("");
    display.html(`<div>${head}</div>${lossCurvesSvg(history)}<div>${imgs}</div>`);
  };
}
