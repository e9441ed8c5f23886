// End-to-end: the kit's NIfTI reader and writer against nibabel (Debian's python3-nibabel,
// which .ci/run installs). Every shared file must read to nibabel's values and affine; files
// the kit writes must open in nibabel with the same voxels, affine and qform.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readNifti } from "../../lib/volume/niftiRead.js";
import { writeNifti } from "../../lib/volume/niftiWrite.js";
import { makeLabelVolume, makeVolume } from "../../lib/volume/volume.js";
import { python } from "./python.js";

const SHARED = new URL("../../../shared/data/nifti/", import.meta.url).pathname;

interface Dump {
  path: string;
  shape: number[];
  zooms: number[];
  affine: number[][];
  sform_code: number;
  qform_code: number;
  qform: number[][];
  dtype: string;
}

function nibabel(paths: string[]): { summary: Dump[]; data: Float32Array[] } {
  const out = mkdtempSync(join(tmpdir(), "unpaired-nib-"));
  execFileSync(python(["nibabel", "numpy"]), [new URL("nibabel_dump.py", import.meta.url).pathname, out, ...paths], { stdio: ["ignore", "inherit", "inherit"] });
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Dump[];
  const data = summary.map((_, i) => {
    const b = readFileSync(join(out, `${i}.f32`));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  });
  return { summary, data };
}

function closeAffine(a: number[][], b: number[][], tol: number, what: string): void {
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.ok(Math.abs(a[r]![c]! - b[r]![c]!) <= tol, `${what}: affine[${r}][${c}] ${a[r]![c]} vs ${b[r]![c]}`);
}

test("every shared file reads to nibabel's voxels and affine", { skip: existsSync(SHARED) ? false : `needs ${SHARED}` }, async () => {
  const files = readdirSync(SHARED).filter((f) => f.includes(".nii") && !f.includes("not-nifti")).map((f) => join(SHARED, f));
  assert.ok(files.length >= 14);
  const ref = nibabel(files);
  for (let i = 0; i < files.length; i++) {
    const v = await readNifti(files[i]!);
    const r = ref.summary[i]!;
    const name = files[i]!.split("/").pop()!;
    assert.deepEqual(v.shape, r.shape, name);
    v.spacing.forEach((s, k) => assert.ok(Math.abs(s - Math.abs(r.zooms[k]!)) < 1e-6, `${name} spacing`));
    if (r.sform_code > 0 || r.qform_code > 0) closeAffine(v.affine, r.affine, 1e-4, name);
    else assert.equal(v.header.affineSource, "pixdim", `${name}: no sform or qform; nibabel centres the image here, the kit uses pixdim as nifti1.h says`);
    const ours = v.data;
    const theirs = ref.data[i]!;
    assert.equal(ours.length, theirs.length, name);
    let worst = 0;
    for (let k = 0; k < ours.length; k++) worst = Math.max(worst, Math.abs(ours[k]! - theirs[k]!) / Math.max(1, Math.abs(theirs[k]!)));
    assert.ok(worst <= 1e-6, `${name}: max relative difference ${worst}`);
  }
});

test("files the kit writes open in nibabel with the same voxels, affine and qform", async () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-write-"));
  const c = Math.cos(0.7);
  const s = Math.sin(0.7);
  const affine = [[-0.41 * c, 0.41 * s, 0, 20.5], [0.41 * s, 0.41 * c, 0, -3.25], [0, 0, 1, -40], [0, 0, 0, 1]];
  const n = 7 * 6 * 5;
  const image = makeVolume(Float32Array.from({ length: n }, (_, i) => Math.cos(i / 7) * 250.5), [7, 6, 5], [0.41, 0.41, 1], affine);
  const labels = makeLabelVolume(Uint8Array.from({ length: n }, (_, i) => i % 4), [7, 6, 5], [0.41, 0.41, 1], affine);
  const ints = makeVolume(Float32Array.from({ length: n }, (_, i) => (i * 97) % 2000 - 1000), [7, 6, 5], [0.41, 0.41, 1], affine);
  const flat = makeVolume(Float32Array.from({ length: 12 }, (_, i) => i * 0.5), [4, 3], [0.5, 0.25]);
  const cases = [
    { file: join(dir, "image.nii.gz"), vol: image, type: "float32" as const, np: "float32" },
    { file: join(dir, "labels.nii.gz"), vol: labels, type: "uint8" as const, np: "uint8" },
    { file: join(dir, "ints.nii"), vol: ints, type: "int16" as const, np: "int16" },
    { file: join(dir, "flat.nii"), vol: flat, type: "float32" as const, np: "float32" },
  ];
  for (const k of cases) await writeNifti(k.file, k.vol, { datatype: k.type });
  const ref = nibabel(cases.map((k) => k.file));
  cases.forEach((k, i) => {
    const r = ref.summary[i]!;
    const what = k.file.split("/").pop()!;
    assert.equal(r.dtype, k.np, what);
    assert.deepEqual(r.shape, k.vol.shape, what);
    assert.deepEqual([...ref.data[i]!], [...k.vol.data].map(Math.fround), what);
    closeAffine(r.affine, k.vol.affine, 1e-5, `${what} sform`);
    assert.equal(r.qform_code, 1, what);
    closeAffine(r.qform, k.vol.affine, 1e-5, `${what} qform`);
  });
});
