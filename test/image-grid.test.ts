// Images from volumes and the image-grid figures: PNG round trips, display slices through a label
// centroid, window/level, label contours, grid composition, and the plotly image-grid builders
// (trace counts, placement, titles, data URIs that decode to the inputs, JSON round trip).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { UnpairedError } from "../lib/util/errors.js";
import { makeLabelVolume, makeVolume, voxelIndex } from "../lib/volume/volume.js";
import { PALETTE, figureTitle, type Figure, type Trace } from "../lib/viz/figure.js";
import { decodePng, decodePngDataUri, encodePng, pngDataUri, writePng, type Bitmap, type Channels } from "../lib/viz/png.js";
import {
  centroidSlice,
  composeGrid,
  convertChannels,
  overlayContours,
  parseColour,
  sliceOf,
  squarePixels,
  upscale,
  windowLevel,
  writeImageGridPng,
} from "../lib/viz/imageGrid.js";
import { EXTRAPOLATED_COLOUR, exemplarGridFigure, imageGridFigure, interpolationGridFigure } from "../lib/viz/imageFigures.js";

// ---------------------------------------------------------------------------------------------
// Fixtures

/** A w x h image whose bytes follow a seeded pattern. */
function pattern(width: number, height: number, channels: Channels, seed = 1): Bitmap {
  const data = new Uint8Array(width * height * channels);
  let s = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, channels, data };
}

/** A flat grey image. */
const flat = (width: number, height: number, v: number): Bitmap => ({ width, height, channels: 1, data: new Uint8Array(width * height).fill(v) });

const throwsCode = (f: () => unknown, code: string) => assert.throws(f, (e: unknown) => e instanceof UnpairedError && e.code === code);

const NX = 10;
const NY = 12;
const NZ = 8;
/** value = x + 100 y + 10000 z: every voxel names its coordinates. */
function rampVolume() {
  const data = new Float32Array(NX * NY * NZ);
  for (let z = 0; z < NZ; z++) for (let y = 0; y < NY; y++) for (let x = 0; x < NX; x++) data[voxelIndex([NX, NY, NZ], x, y, z)] = x + 100 * y + 10000 * z;
  return makeVolume(data, [NX, NY, NZ], [0.5, 0.5, 2]);
}
/** Label 2 on the box x 2..4, y 6..8, z 4..6 (centroid (3, 7, 5)), label 1 on one far voxel. */
function blobLabels() {
  const data = new Uint8Array(NX * NY * NZ);
  for (let z = 4; z <= 6; z++) for (let y = 6; y <= 8; y++) for (let x = 2; x <= 4; x++) data[voxelIndex([NX, NY, NZ], x, y, z)] = 2;
  data[voxelIndex([NX, NY, NZ], 9, 0, 0)] = 1;
  return makeLabelVolume(data, [NX, NY, NZ], [0.5, 0.5, 2]);
}
const value = (x: number, y: number, z: number) => x + 100 * y + 10000 * z;

// ---------------------------------------------------------------------------------------------

describe("PNG", () => {
  for (const channels of [1, 2, 3, 4] as const) {
    test(`round trip through pngjs, ${channels} channel(s)`, () => {
      const img = pattern(7, 5, channels, channels);
      const bytes = encodePng(img);
      assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
      const png = PNG.sync.read(Buffer.from(bytes));
      assert.equal(png.width, 7);
      assert.equal(png.height, 5);
      assert.equal(png.colorType, ({ 1: 0, 2: 4, 3: 2, 4: 6 } as const)[channels]);
      // pngjs hands back RGBA: compare with the input, expanded.
      assert.deepEqual(new Uint8Array(png.data), convertChannels(img, 4).data);
      assert.deepEqual(decodePng(bytes), img);
    });
  }

  test("writePng writes the file atomically; data URIs decode to the image", async () => {
    const dir = mkdtempSync(join(tmpdir(), "image-grid-"));
    try {
      const img = pattern(6, 4, 3);
      await writePng(join(dir, "sub", "a.png"), img);
      assert.deepEqual(decodePng(readFileSync(join(dir, "sub", "a.png"))), img);
      const uri = pngDataUri(img);
      assert.ok(uri.startsWith("data:image/png;base64,"));
      assert.deepEqual(decodePngDataUri(uri), img);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("malformed images are BAD_VOLUME errors", () => {
    throwsCode(() => encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(3) }), "BAD_VOLUME");
    throwsCode(() => encodePng({ width: 2, height: 2, channels: 5 as Channels, data: new Uint8Array(20) }), "BAD_VOLUME");
    throwsCode(() => decodePng(new Uint8Array([1, 2, 3])), "BAD_VOLUME");
  });
});

describe("slices", () => {
  test("sliceOf: columns = first in-plane axis, rows = second flipped (row 0 = its last index)", () => {
    const vol = rampVolume();
    const s = sliceOf(vol, { axis: 2, index: 3 });
    assert.equal(s.width, NX);
    assert.equal(s.height, NY);
    assert.deepEqual(s.spacing, [0.5, 0.5]);
    for (let r = 0; r < NY; r++) for (let c = 0; c < NX; c++) assert.equal(s.data[r * NX + c], value(c, NY - 1 - r, 3));
    const raw = sliceOf(vol, { axis: 2, index: 3, orientation: "raw" });
    for (let r = 0; r < NY; r++) for (let c = 0; c < NX; c++) assert.equal(raw.data[r * NX + c], value(c, r, 3));
    const cor = sliceOf(vol, { axis: 1, index: 5 }); // [x, z]: superior (high z) up
    assert.equal(cor.width, NX);
    assert.equal(cor.height, NZ);
    assert.deepEqual(cor.spacing, [0.5, 2]);
    assert.equal(cor.data[0], value(0, 5, NZ - 1));
    const sag = sliceOf(vol, { axis: 0, index: 4 }); // [y, z]
    assert.equal(sag.width, NY);
    assert.equal(sag.data[1], value(4, 1, NZ - 1));
    assert.equal(sliceOf(vol).index, NZ / 2);
    throwsCode(() => sliceOf(vol, { axis: 2, index: NZ }), "BAD_OPTION");
    throwsCode(() => sliceOf(vol, { axis: 3 }), "BAD_OPTION");
  });

  test("centroidSlice picks the label centroid along each axis, the same way for image and labels", () => {
    const vol = rampVolume();
    const lab = blobLabels();
    const expected = [3, 7, 5];
    for (const axis of [0, 1, 2]) {
      const cs = centroidSlice(vol, lab, { axis, labelValues: 2 });
      assert.equal(cs.found, true);
      assert.equal(cs.fallback, null);
      assert.equal(cs.index, expected[axis]);
      assert.equal(cs.image.index, expected[axis]);
      assert.deepEqual(cs.image.data, sliceOf(vol, { axis, index: expected[axis]! }).data);
      assert.deepEqual(cs.labels.data, sliceOf(lab, { axis, index: expected[axis]! }).data);
      assert.ok(cs.labels.data instanceof Uint8Array);
      assert.equal(cs.labels.data.filter((v) => v === 2).length, 9); // the 3x3 cross-section
    }
    // Axial label pixels sit where the image has y 6..8, x 2..4.
    const ax = centroidSlice(vol, lab, { axis: 2, labelValues: 2 });
    for (let p = 0; p < ax.labels.data.length; p++) {
      if (ax.labels.data[p] !== 2) continue;
      const v = ax.image.data[p]!;
      const x = v % 100;
      const y = Math.floor(v / 100) % 100;
      assert.ok(x >= 2 && x <= 4 && y >= 6 && y <= 8, `label pixel at image voxel (${x}, ${y})`);
    }
  });

  test("centroidSlice falls back to the middle slice when the label is absent, and says so", () => {
    const vol = rampVolume();
    const lab = blobLabels();
    for (const axis of [0, 1, 2]) {
      const cs = centroidSlice(vol, lab, { axis, labelValues: 7 });
      assert.equal(cs.found, false);
      assert.equal(cs.index, Math.floor([NX, NY, NZ][axis]! / 2));
      assert.match(cs.fallback!, /label 7 does not occur.*middle slice/);
    }
    const empty = makeLabelVolume(new Uint8Array(NX * NY * NZ), [NX, NY, NZ]);
    const cs = centroidSlice(vol, empty);
    assert.equal(cs.found, false);
    assert.match(cs.fallback!, /no non-zero label/);
    // Default labelValues: every non-zero label (the far voxel of label 1 pulls the centroid).
    const all = centroidSlice(vol, lab, { axis: 2 });
    assert.equal(all.index, Math.round((27 * 5 + 0) / 28));
  });

  test("2D volumes pass through; shapes must match", () => {
    const img = makeVolume(Float32Array.from({ length: 12 }, (_, i) => i), [4, 3]);
    const lab = makeLabelVolume(new Uint8Array(12), [4, 3]);
    const cs = centroidSlice(img, lab);
    assert.equal(cs.index, null);
    assert.equal(cs.found, false);
    assert.deepEqual([...cs.image.data], [8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]);
    throwsCode(() => centroidSlice(rampVolume(), lab), "BAD_VOLUME");
  });

  test("squarePixels repeats rows of a coarse axis", () => {
    const cor = sliceOf(rampVolume(), { axis: 1, index: 0 }); // spacing [0.5, 2]: rows x4
    const sq = squarePixels(cor);
    assert.equal(sq.width, NX);
    assert.equal(sq.height, NZ * 4);
    assert.deepEqual(sq.spacing, [0.5, 0.5]);
    assert.equal(sq.data[3 * NX + 1], cor.data[1]);
    assert.equal(sq.data[4 * NX + 1], cor.data[NX + 1]);
  });
});

describe("window / level", () => {
  const row = (values: number[]) => ({ width: values.length, height: 1, data: Float32Array.from(values) });

  test("level - window/2 -> 0, level + window/2 -> 255, linear between, clipped outside", () => {
    const g = windowLevel(row([100 - 40, 100 + 40, 100, 100 - 20, -1e6, 1e6, NaN]), { window: 80, level: 100 });
    assert.equal(g.channels, 1);
    assert.deepEqual([...g.data], [0, 255, 128, 64, 0, 255, 0]);
  });

  test("fixed range (network outputs in [-1, 1]) and percentiles", () => {
    assert.deepEqual([...windowLevel(row([-1, 1, 0, -2, 2]), { range: [-1, 1] }).data], [0, 255, 128, 0, 255]);
    const ramp = row(Array.from({ length: 1001 }, (_, i) => i)); // percentiles 0.5 / 99.5 = 5 / 995
    const g = windowLevel(ramp);
    assert.equal(g.data[5], 0);
    assert.equal(g.data[995], 255);
    assert.equal(g.data[500], 128);
    assert.equal(g.data[0], 0);
    assert.equal(g.data[1000], 255);
    // A shared window from other data.
    const h = windowLevel(row([0, 50, 100]), { percentiles: [0, 100], of: [0, 200] });
    assert.deepEqual([...h.data], [0, 64, 128]);
    throwsCode(() => windowLevel(ramp, { window: 0, level: 1 }), "BAD_OPTION");
    throwsCode(() => windowLevel(ramp, { range: [1, -1] }), "BAD_OPTION");
    throwsCode(() => windowLevel(ramp, { percentiles: [99, 1] }), "BAD_OPTION");
  });
});

describe("contours", () => {
  const N = 8;
  const squareLabels = (v = 1) => {
    const data = new Uint8Array(N * N);
    for (let r = 2; r <= 5; r++) for (let c = 2; c <= 5; c++) data[r * N + c] = v;
    return { width: N, height: N, data };
  };
  const rgbOf = (hex: string) => parseColour(hex);
  const pixel = (img: Bitmap, p: number) => [...img.data.subarray(p * 3, p * 3 + 3)];

  test("the contour of a square label is exactly its border ring, in PALETTE order", () => {
    const grey = flat(N, N, 40);
    const out = overlayContours(grey, squareLabels(1));
    assert.equal(out.channels, 3);
    for (let r = 0; r < N; r++) {
      for (let c = 0; c < N; c++) {
        const inSquare = r >= 2 && r <= 5 && c >= 2 && c <= 5;
        const ring = inSquare && (r === 2 || r === 5 || c === 2 || c === 5);
        assert.deepEqual(pixel(out, r * N + c), ring ? rgbOf(PALETTE[0]) : [40, 40, 40], `pixel (${r}, ${c})`);
      }
    }
    assert.deepEqual([...grey.data], new Array(N * N).fill(40), "input untouched");
    const three = overlayContours(grey, squareLabels(3));
    assert.deepEqual(pixel(three, 2 * N + 2), rgbOf(PALETTE[2]));
  });

  test("thickness grows inwards; colours, label choice; the image edge is no boundary", () => {
    const grey = flat(N, N, 0);
    const thick = overlayContours(grey, squareLabels(1), { thickness: 2, colours: { 1: "#ff0000" } });
    for (let p = 0; p < N * N; p++) {
      const r = Math.floor(p / N);
      const c = p % N;
      const inSquare = r >= 2 && r <= 5 && c >= 2 && c <= 5;
      assert.deepEqual(pixel(thick, p), inSquare ? [255, 0, 0] : [0, 0, 0]);
    }
    assert.deepEqual([...overlayContours(grey, squareLabels(1), { labelValues: 2 }).data], new Array(N * N * 3).fill(0));
    const full = overlayContours(grey, { width: N, height: N, data: new Uint8Array(N * N).fill(1) });
    assert.deepEqual([...full.data], new Array(N * N * 3).fill(0));
    throwsCode(() => overlayContours(flat(3, 3, 0), squareLabels(1)), "BAD_VOLUME");
    throwsCode(() => overlayContours(grey, squareLabels(1), { colours: { 1: "reddish" } }), "BAD_OPTION");
  });
});

describe("composeGrid", () => {
  test("tiles are centred in cells as large as the largest per column/row, with gaps on the background", () => {
    const A = flat(2, 2, 10);
    const B = flat(4, 3, 20);
    const C = flat(3, 1, 30);
    const out = composeGrid([[A, B], [C]], { gap: 1, background: 0 });
    // columns 3 | 4 wide, rows 3 | 1 tall; gap 1 -> 8 x 5.
    assert.equal(out.channels, 1);
    assert.equal(out.width, 8);
    assert.equal(out.height, 5);
    const expected = [
      [10, 10, 0, 0, 20, 20, 20, 20],
      [10, 10, 0, 0, 20, 20, 20, 20],
      [0, 0, 0, 0, 20, 20, 20, 20],
      [0, 0, 0, 0, 0, 0, 0, 0],
      [30, 30, 30, 0, 0, 0, 0, 0],
    ].flat();
    assert.deepEqual([...out.data], expected);
  });

  test("scale, empty cells, margins and colour promotion", () => {
    const A = flat(1, 1, 10);
    const R: Bitmap = { width: 1, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0]) };
    const out = composeGrid([[A, null, R]], { gap: 1, margin: 1, scale: 2, background: "#0000ff" });
    assert.equal(out.channels, 3);
    // margin 1 + 2 + gap 1 + (empty col, width 0) + gap 1 + 2 + margin 1 = 8; height 1 + 2 + 1 = 4
    assert.equal(out.width, 8);
    assert.equal(out.height, 4);
    const at = (x: number, y: number) => [...out.data.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3)];
    assert.deepEqual(at(0, 0), [0, 0, 255]);
    assert.deepEqual(at(1, 1), [10, 10, 10]);
    assert.deepEqual(at(2, 2), [10, 10, 10]);
    assert.deepEqual(at(3, 1), [0, 0, 255]);
    assert.deepEqual(at(5, 1), [255, 0, 0]);
    assert.deepEqual(at(6, 2), [255, 0, 0]);
    assert.deepEqual(at(7, 2), [0, 0, 255]);
    assert.deepEqual(upscale(A, 3).data, new Uint8Array(9).fill(10));
    throwsCode(() => composeGrid([[null]]), "BAD_OPTION");
    throwsCode(() => composeGrid([[A]], { scale: 1.5 }), "BAD_OPTION");
  });

  test("writeImageGridPng writes the composed grid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "image-grid-"));
    try {
      const img = await writeImageGridPng(join(dir, "grid.png"), [[pattern(3, 2, 1), pattern(2, 2, 1, 2)]], { gap: 2 });
      assert.deepEqual(decodePng(readFileSync(join(dir, "grid.png"))), img);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("image figures", () => {
  const images = (fig: Figure) => fig.data.filter((t) => t.type === "image");
  const axisOf = (fig: Figure, t: Trace, xy: "x" | "y") => fig.layout[`${xy}axis${String(t[`${xy}axis`]).slice(1)}`] as { domain: [number, number]; range: [number, number] };
  const annotationTexts = (fig: Figure) => (fig.layout.annotations as { text: string }[]).map((a) => a.text);
  const annotation = (fig: Figure, text: string) => (fig.layout.annotations as { text: string; font: { color: string } }[]).find((a) => a.text === text)!;

  /** Screen pixels per image pixel along x and y of every trace are equal (images are not stretched). */
  function checkAspect(fig: Figure) {
    const m = fig.layout.margin as { l: number; r: number; t: number; b: number };
    const pw = fig.layout.width! - m.l - m.r;
    const ph = fig.layout.height! - m.t - m.b;
    for (const t of images(fig)) {
      const xa = axisOf(fig, t, "x");
      const ya = axisOf(fig, t, "y");
      const sx = ((xa.domain[1] - xa.domain[0]) * pw) / (xa.range[1] - xa.range[0]);
      const sy = ((ya.domain[1] - ya.domain[0]) * ph) / (ya.range[0] - ya.range[1]);
      assert.ok(Math.abs(sx / sy - 1) < 0.01, `${t.name}: ${sx} vs ${sy} screen px per image px`);
      assert.ok(ya.range[0] > ya.range[1], "y reversed: row 0 on top");
    }
  }
  const roundTrip = (fig: Figure) => assert.deepStrictEqual(JSON.parse(JSON.stringify(fig)), fig);

  test("imageGridFigure: rows x cols image traces, titles, labels, decodable sources", () => {
    const grid = [0, 1].map((r) => [0, 1, 2].map((c) => pattern(6 + c, 5, r === 0 ? 1 : 3, 10 * r + c)));
    const fig = imageGridFigure({ rows: grid.map((imgs, r) => ({ label: `row ${r}`, images: imgs })), columnTitles: ["a", "b", "c"], title: "Grid" });
    assert.equal(images(fig).length, 6);
    assert.equal(figureTitle(fig), "Grid");
    for (const t of ["a", "b", "c", "row 0", "row 1"]) assert.ok(annotationTexts(fig).includes(t), t);
    images(fig).forEach((t, k) => {
      assert.match(String(t.source), /^data:image\/png;base64,/);
      assert.deepEqual(decodePngDataUri(String(t.source)), grid[Math.floor(k / 3)]![k % 3]);
    });
    // Left-to-right, top-to-bottom placement.
    const xa = images(fig).map((t) => axisOf(fig, t, "x").domain[0]);
    const ya = images(fig).map((t) => axisOf(fig, t, "y").domain[1]);
    assert.ok(xa[0]! < xa[1]! && xa[1]! < xa[2]! && xa[0] === xa[3]);
    assert.ok(ya[0]! > ya[3]! && ya[0] === ya[2]);
    checkAspect(fig);
    roundTrip(fig);
    // Bigger tiles, bigger figure.
    const big = imageGridFigure({ rows: [{ images: grid[0]! }], tileSize: 320 });
    const small = imageGridFigure({ rows: [{ images: grid[0]! }], tileSize: 160 });
    assert.ok(big.layout.width! > 1.8 * small.layout.width! - 40);
    throwsCode(() => imageGridFigure({ rows: [{ images: [grid[0]![0]!] }], columnTitles: ["a", "b"] }), "BAD_OPTION");
    throwsCode(() => imageGridFigure({ rows: [] }), "BAD_OPTION");
  });

  test("exemplarGridFigure: exemplars along the top, sources down the first column, translations[i][j] at (i + 1, j + 1)", () => {
    const exemplars = [0, 1, 2].map((j) => ({ image: pattern(8, 8, 1, 100 + j), name: `cluster ${j} (ldn)`, cluster: j }));
    const sources = [0, 1].map((i) => ({ image: pattern(8, 8, 1, 200 + i), label: `patient ${i}` }));
    const translations = [0, 1].map((i) => [0, 1, 2].map((j) => pattern(8, 8, 1, 300 + 10 * i + j)));
    const fig = exemplarGridFigure({ sources, exemplars, translations, title: "IntraStyler exemplars" });
    const tr = images(fig);
    assert.equal(tr.length, 3 + 2 * 4); // (rows + 1) x (cols + 1) cells, corner empty
    // The exemplar row is on top, to the right of the source column.
    const top = (t: Trace) => axisOf(fig, t, "y").domain[1];
    const left = (t: Trace) => axisOf(fig, t, "x").domain[0];
    for (let j = 0; j < 3; j++) {
      assert.deepEqual(decodePngDataUri(String(tr[j]!.source)), exemplars[j]!.image);
      assert.equal(top(tr[j]!), 1);
    }
    for (let i = 0; i < 2; i++) {
      const src = tr[3 + 4 * i]!;
      assert.deepEqual(decodePngDataUri(String(src.source)), sources[i]!.image);
      assert.equal(left(src), 0);
      assert.ok(top(src) < axisOf(fig, tr[0]!, "y").domain[0], "sources below the exemplar row");
      for (let j = 0; j < 3; j++) {
        const t = tr[3 + 4 * i + 1 + j]!;
        assert.deepEqual(decodePngDataUri(String(t.source)), translations[i]![j]);
        assert.equal(left(t), left(tr[j]!), "under its exemplar");
        assert.equal(top(t), top(src), "beside its source");
      }
    }
    for (let j = 0; j < 3; j++) assert.equal(annotation(fig, `cluster ${j} (ldn)`).font.color, PALETTE[j]);
    assert.ok(annotationTexts(fig).includes("source"));
    assert.ok(annotationTexts(fig).includes("patient 1"));
    assert.equal(figureTitle(fig), "IntraStyler exemplars");
    checkAspect(fig);
    roundTrip(fig);
    throwsCode(() => exemplarGridFigure({ sources, exemplars, translations: [translations[0]!] }), "BAD_OPTION");
    throwsCode(() => exemplarGridFigure({ sources, exemplars, translations: [translations[0]!, translations[1]!.slice(1)] }), "BAD_OPTION");
  });

  test("interpolationGridFigure: one row per source, one column per t, extrapolated columns marked, exemplars at the ends", () => {
    const ts = [-0.25, 0, 0.25, 0.5, 1, 1.5];
    const imgs = [0, 1].map((i) => ts.map((_, j) => pattern(6, 4, 1, 10 * i + j)));
    const plain = interpolationGridFigure({ sources: [{ label: "a" }, { label: "b" }], ts, images: imgs });
    assert.equal(images(plain).length, 2 * ts.length);
    for (const t of ts) assert.ok(annotationTexts(plain).includes(`t = ${t}`), `t = ${t}`);
    assert.equal(annotation(plain, "t = 0.25").font.color !== EXTRAPOLATED_COLOUR, true);
    assert.equal(annotation(plain, "t = -0.25").font.color, EXTRAPOLATED_COLOUR);
    assert.equal(annotation(plain, "t = 1.5").font.color, EXTRAPOLATED_COLOUR);
    assert.equal(annotationTexts(plain).filter((t) => t === "extrapolated").length, 2);
    assert.equal((plain.layout.shapes as unknown[]).length, 2);
    images(plain).forEach((t, k) => assert.deepEqual(decodePngDataUri(String(t.source)), imgs[Math.floor(k / ts.length)]![k % ts.length]));
    checkAspect(plain);
    roundTrip(plain);

    const exA = { image: pattern(6, 4, 1, 900), name: "exemplar A" };
    const exB = { image: pattern(6, 4, 1, 901), cluster: 4 };
    const src = [pattern(6, 4, 1, 800), pattern(6, 4, 1, 801)];
    const full = interpolationGridFigure({ sources: src, ts, images: imgs, exemplars: [exA, exB], extrapolated: ts.map(() => false), title: "SLERP" });
    const tr = images(full);
    assert.equal(tr.length, 2 * ts.length + 2 + 2);
    const x0 = (t: Trace) => axisOf(full, t, "x").domain[0];
    const byX = [...tr].sort((a, b) => x0(a) - x0(b));
    assert.deepEqual(decodePngDataUri(String(byX[0]!.source)), src[0]); // source column first
    const a = tr.find((t) => t.name === "exemplar A: exemplar A")!;
    const b = tr.find((t) => t.name === "exemplar B: cluster 4")!;
    assert.deepEqual(decodePngDataUri(String(a.source)), exA.image);
    assert.deepEqual(decodePngDataUri(String(b.source)), exB.image);
    const tCols = tr.filter((t) => /t = /.test(String(t.name)));
    assert.ok(tCols.every((t) => x0(t) > x0(a) && x0(t) < x0(b)), "exemplars at the two ends of the t columns");
    assert.deepEqual(axisOf(full, a, "y").domain, [0, 1], "spans all rows");
    assert.equal(annotation(full, "cluster 4").font.color, PALETTE[4]);
    assert.equal(annotationTexts(full).filter((t) => t === "extrapolated").length, 0);
    assert.equal(full.layout.shapes, undefined);
    checkAspect(full);
    roundTrip(full);
    throwsCode(() => interpolationGridFigure({ sources: src, ts, images: [imgs[0]!] }), "BAD_OPTION");
    throwsCode(() => interpolationGridFigure({ sources: src, ts: [0, NaN], images: imgs }), "BAD_OPTION");
  });
});
