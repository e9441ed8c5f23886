// NIfTI reading and writing: the real files in ../shared/data/nifti, checked against an
// independent decoder and against the facts their sources publish, plus edge cases the tests
// build byte by byte (every datatype, both byte orders, NIfTI-2, pairs, broken files).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { readNifti, readNiftiHeader, readNiftiLabels, readNiftiSync } from "../lib/volume/niftiRead.js";
import { encodeNifti, writeNifti, writeNiftiSync } from "../lib/volume/niftiWrite.js";
import { affineToQuatern, quaternToAffine } from "../lib/volume/niftiFormat.js";
import { makeLabelVolume, makeVolume, type Affine } from "../lib/volume/volume.js";
import { UnpairedError } from "../lib/util/errors.js";
import { orientationOf, reorientToCanonical } from "../lib/volume/orient.js";
import { buildNifti, decodeNifti1, type BuildSpec, type TypeName } from "./niftiBuild.js";

const SHARED = new URL("../../shared/data/nifti/", import.meta.url).pathname;
const haveShared = existsSync(SHARED);
const scratch = mkdtempSync(join(tmpdir(), "unpaired-nifti-"));
let counter = 0;
function place(bytes: Uint8Array, name = `case${counter++}.nii`): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

async function rejects(p: Promise<unknown> | (() => unknown), code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(
    async () => (typeof p === "function" ? p() : p),
    (err: unknown) => {
      assert.ok(err instanceof UnpairedError, `expected an UnpairedError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const ramp = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

// ---------------------------------------------------------------------------------------------
// Real files.

interface Source {
  file: string;
  dims: number[];
  voxel: number[];
  dtype: string;
  notes: string;
}

function sources(): Source[] {
  const lines = readFileSync(join(SHARED, "SOURCES.tsv"), "utf8").trim().split("\n");
  const cols = lines[0]!.split("\t");
  return lines.slice(1).map((l) => {
    const f = l.split("\t");
    const get = (c: string) => f[cols.indexOf(c)] ?? "";
    return {
      file: get("file"),
      dims: get("dims") === "-" ? [] : get("dims").split("x").map(Number),
      voxel: get("voxel_mm") === "-" ? [] : get("voxel_mm").split("x").map(Number),
      dtype: get("dtype"),
      notes: get("header_notes"),
    };
  });
}

test("every shared NIfTI file reads with the shape, spacing and datatype its source lists", { skip: haveShared ? false : `needs ${SHARED}` }, async () => {
  const list = sources();
  assert.equal(list.length, readdirSync(SHARED).filter((f) => f.includes(".nii")).length, "SOURCES.tsv lists every file");
  for (const s of list) {
    const path = join(SHARED, s.file);
    if (`${s.dtype} ${s.notes}`.includes("bad sizeof_hdr")) {
      await rejects(readNifti(path), "NOT_NIFTI", /niftireaderjs_not-nifti\.nii: not a NIfTI file/);
      continue;
    }
    const v = await readNifti(path);
    assert.equal(v.header.datatype, s.dtype, s.file);
    assert.deepEqual([...v.shape, ...(v.header.volumes > 1 || s.dims.length > 3 ? [v.header.volumes] : [])], s.dims, s.file);
    s.voxel.slice(0, 3).forEach((mm, i) => assert.ok(Math.abs(v.spacing[i]! - mm) < 6e-4, `${s.file} spacing ${v.spacing} vs ${s.voxel}`));
    // The affine comes from the sform when its code is set, else the qform, else pixdim.
    const q = /q(\d)s(\d)/.exec(s.notes)!;
    const expected = Number(q[2]) > 0 ? "sform" : Number(q[1]) > 0 ? "qform" : "pixdim";
    assert.equal(v.header.affineSource, expected, s.file);
    // Its columns are as long as the voxels are wide.
    for (let c = 0; c < 3; c++) {
      const len = Math.hypot(v.affine[0]![c]!, v.affine[1]![c]!, v.affine[2]![c]!);
      assert.ok(Math.abs(len - v.spacing[c]!) < 1e-3, `${s.file}: affine column ${c} has length ${len}, spacing ${v.spacing[c]}`);
    }
    assert.equal(v.header.littleEndian, !s.notes.includes("BIG-endian"), s.file);
  }
});

test("shared files: voxel values match an independent decoder (byte order, scl_slope/scl_inter, 4D)", { skip: haveShared ? false : `needs ${SHARED}` }, async () => {
  for (const s of sources()) {
    if (`${s.dtype} ${s.notes}`.includes("bad sizeof_hdr")) continue;
    const path = join(SHARED, s.file);
    let bytes = new Uint8Array(readFileSync(path));
    if (bytes[0] === 0x1f) bytes = new Uint8Array(gunzipSync(bytes));
    const ref = decodeNifti1(bytes);
    const v = await readNifti(path);
    let worst = 0;
    for (let i = 0; i < ref.values.length; i++) worst = Math.max(worst, Math.abs(v.data[i]! - ref.values[i]!) / Math.max(1, Math.abs(ref.values[i]!)));
    assert.ok(worst < 1e-6, `${s.file}: relative difference ${worst}`);
  }
});

test("shared files: one image in five datatypes, two byte orders and two orientations agrees with itself", { skip: haveShared ? false : `needs ${SHARED}` }, async () => {
  const big = await readNifti(join(SHARED, "niftireaderjs_big.nii.gz"));
  const little = await readNifti(join(SHARED, "niftireaderjs_little.nii.gz"));
  assert.deepEqual(big.data, little.data);
  assert.deepEqual(big.affine, little.affine);
  const f32 = await readNifti(join(SHARED, "niivue_old_FLOAT32.nii.gz"));
  for (const [name, step] of [["FLOAT64", 1e-6], ["UINT8", 0.363], ["INT16", 0.002825], ["UINT16", 0.001412]] as const) {
    const other = await readNifti(join(SHARED, `niivue_old_${name}.nii.gz`));
    let worst = 0;
    for (let i = 0; i < f32.data.length; i++) worst = Math.max(worst, Math.abs(other.data[i]! - f32.data[i]!));
    // Quantised copies differ by at most one storage step (plus float rounding).
    assert.ok(worst <= step * 1.01 + 1e-4, `${name}: max difference ${worst} vs step ${step}`);
  }
  // LPS and RAS hold the same voxels and the world position of each voxel agrees.
  const lps = await readNifti(join(SHARED, "niivue_space_LPS.nii.gz"));
  const ras = await readNifti(join(SHARED, "niivue_space_RAS.nii.gz"));
  assert.deepEqual(lps.shape, ras.shape);
  const [nx, ny] = ras.shape as [number, number, number];
  const world = (a: Affine, p: number[]) => [0, 1, 2].map((r) => a[r]![0]! * p[0]! + a[r]![1]! * p[1]! + a[r]![2]! * p[2]! + a[r]![3]!);
  // LPS flips x and y: voxel (i, j, k) there is voxel (nx-1-i, ny-1-j, k) here.
  for (const [i, j, k] of [[3, 5, 7], [60, 2, 30], [10, 70, 66]] as const) {
    const a = world(lps.affine, [i, j, k]);
    const b = world(ras.affine, [nx - 1 - i, ny - 1 - j, k]);
    a.forEach((x, r) => assert.ok(Math.abs(x - b[r]!) < 1e-3, `world position of (${i},${j},${k})`));
    assert.equal(lps.data[i + nx * (j + ny * k)], ras.data[nx - 1 - i + nx * (ny - 1 - j + ny * k)]);
  }
  // Reoriented to RAS, the LPS file is the RAS file, voxel for voxel.
  const canon = reorientToCanonical(lps);
  assert.equal(orientationOf(lps), "LPS");
  assert.equal(orientationOf(canon), "RAS");
  assert.deepEqual(canon.data, ras.data);
  canon.affine.forEach((row, r) => row.forEach((x, c) => assert.ok(Math.abs(x - ras.affine[r]![c]!) < 1e-3, `canonical affine [${r}][${c}]`)));
  // The uint16 label file reads as labels; the 4D file gives any of its 20 volumes.
  const labels = await readNiftiLabels(join(SHARED, "monai_anatomical_label.nii.gz"));
  assert.ok(labels.data instanceof Uint8Array, "labels 0..255 fit a Uint8Array");
  const func = await readNifti(join(SHARED, "nibabel_functional.nii"), { volume: 19 });
  assert.equal(func.header.volumes, 20);
  assert.notDeepEqual(func.data, (await readNifti(join(SHARED, "nibabel_functional.nii"))).data);
  await rejects(readNifti(join(SHARED, "nibabel_functional.nii"), { volume: 20 }), "BAD_OPTION", /volume 20 does not exist; the file holds 20/);
});

// ---------------------------------------------------------------------------------------------
// Built edge cases.

const ALL_TYPES: [TypeName, number[]][] = [
  ["uint8", [0, 1, 200, 255]],
  ["int8", [-128, -1, 0, 127]],
  ["int16", [-32768, -7, 0, 32767]],
  ["uint16", [0, 9, 40000, 65535]],
  ["int32", [-2147483648, -5, 0, 2147483647]],
  ["uint32", [0, 3, 3000000000, 4294967295]],
  ["int64", [-9007199254740991, -2, 0, 9007199254740991]],
  ["uint64", [0, 2, 1e15, 9007199254740991]],
  ["float32", [-1.5, 0, 0.25, 3.0e38]],
  ["float64", [-1e-300, 0, 0.1, 1e300]],
];

test("every numeric datatype, both byte orders, NIfTI-1 and NIfTI-2", async () => {
  for (const version of [1, 2] as const) {
    for (const littleEndian of [true, false]) {
      for (const [type, base] of ALL_TYPES) {
        const values = ramp(2 * 3 * 2, (i) => base[i % base.length]!);
        const path = place(buildNifti({ version, littleEndian, type, dims: [2, 3, 2], values }).file);
        const what = `v${version} ${littleEndian ? "LE" : "BE"} ${type}`;
        const v = await readNifti(path);
        assert.equal(v.header.version, version, what);
        assert.equal(v.header.datatype, type, what);
        assert.deepEqual(v.shape, [2, 3, 2], what);
        assert.deepEqual([...v.data], values.map(Math.fround), what);
      }
    }
  }
});

test("scl_slope 0 means no scaling; otherwise stored * slope + inter", async () => {
  const values = [0, 1, 2, 3, 4, 5];
  const none = await readNifti(place(buildNifti({ type: "int16", dims: [6], values, slope: 0, inter: 100 }).file));
  assert.deepEqual([...none.data], values);
  assert.deepEqual(none.shape, [6, 1], "a 1D file reads as a 6x1 image");
  const scaled = await readNifti(place(buildNifti({ type: "int16", dims: [3, 2], values, slope: 0.5, inter: -1 }).file));
  assert.deepEqual([...scaled.data], values.map((x) => x * 0.5 - 1));
  assert.deepEqual(scaled.shape, [3, 2]);
  const v2 = await readNifti(place(buildNifti({ version: 2, littleEndian: false, type: "uint8", dims: [3, 2], values, slope: 2, inter: 1 }).file));
  assert.deepEqual([...v2.data], values.map((x) => 2 * x + 1));
});

test("affine: sform when its code is set, else qform (with qfac), else pixdim", async () => {
  const srow = [[0, -2, 0, 10], [3, 0, 0, -20], [0, 0, 4, 30]];
  // A 90-degree rotation about z: quaternion (a, b, c, d) = (cos 45, 0, 0, sin 45).
  const s = Math.SQRT1_2;
  const base: BuildSpec = { type: "uint8", dims: [2, 2, 2], values: ramp(8, (i) => i), pixdim: [-1, 2, 3, 4], quatern: [0, 0, s, 5, 6, 7] };
  const both = await readNifti(place(buildNifti({ ...base, sformCode: 2, qformCode: 1, srow }).file));
  assert.equal(both.header.affineSource, "sform");
  assert.deepEqual(both.affine, [...srow, [0, 0, 0, 1]]);
  const qOnly = await readNifti(place(buildNifti({ ...base, qformCode: 1, srow }).file));
  assert.equal(qOnly.header.affineSource, "qform");
  // R = [[0,-1,0],[1,0,0],[0,0,1]], columns scaled by (2, 3, 4 * qfac = -4).
  const expected = [[0, -3, 0, 5], [2, 0, 0, 6], [0, 0, -4, 7], [0, 0, 0, 1]];
  qOnly.affine.forEach((row, r) => row.forEach((x, c) => assert.ok(Math.abs(x - expected[r]![c]!) < 1e-6, `qform[${r}][${c}] ${x}`)));
  const bare = await readNifti(place(buildNifti({ ...base }).file));
  assert.equal(bare.header.affineSource, "pixdim");
  assert.deepEqual(bare.affine, [[2, 0, 0, 0], [0, 3, 0, 0], [0, 0, 4, 0], [0, 0, 0, 1]]);
  assert.deepEqual(bare.spacing, [2, 3, 4]);
});

test("quaternion and affine convert both ways, including flips and 180-degree turns", () => {
  const cases: Affine[] = [
    [[0.41, 0, 0, 1], [0, 0.41, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]],
    [[-2, 0, 0, 1], [0, 2, 0, 2], [0, 0, 2, 3], [0, 0, 0, 1]],
    [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    [[1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 0], [0, 0, 0, 1]],
  ];
  const c = Math.cos(0.3);
  const s = Math.sin(0.3);
  cases.push([[c * 0.5, -s * 0.7, 0, -4], [s * 0.5, c * 0.7, 0, 5], [0, 0, 1.2, 6], [0, 0, 0, 1]]);
  for (const a of cases) {
    const q = affineToQuatern(a)!;
    const back = quaternToAffine(q);
    a.forEach((row, r) => row.forEach((x, k) => assert.ok(Math.abs(back[r]![k]! - x) < 1e-9, `${JSON.stringify(a)}: [${r}][${k}] ${back[r]![k]} vs ${x}`)));
  }
  assert.equal(affineToQuatern([[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), undefined, "shear has no quaternion");
});

test("4D: pick a volume; the .hdr/.img pair opens from either name", async () => {
  const values = ramp(2 * 2 * 1 * 3, (i) => i);
  const v = await readNifti(place(buildNifti({ type: "int16", dims: [2, 2, 1, 3], values }).file), { volume: 2 });
  assert.deepEqual([...v.data], [8, 9, 10, 11]);
  assert.equal(v.header.volumes, 3);
  const pair = buildNifti({ type: "float32", dims: [2, 2, 2], values: ramp(8, (i) => i / 4), pair: true, littleEndian: false });
  const hdr = place(pair.header, "pair.hdr");
  place(pair.image, "pair.img");
  for (const name of [hdr, join(scratch, "pair.img")]) {
    const p = await readNifti(name);
    assert.deepEqual([...p.data], ramp(8, (i) => i / 4), name);
  }
  const lonely = place(pair.header, "lonely.hdr");
  await rejects(readNifti(lonely), "FILE_NOT_FOUND", /lonely\.img: no such image file/);
  // A single .nii whose magic says "pair" is a broken file, not a pair.
  await rejects(readNifti(place(buildNifti({ type: "uint8", dims: [2], values: [1, 2], magic: "ni1" }).file)), "BAD_NIFTI", /separate \.img/);
});

test("RGB and complex data get a clear unsupported-datatype error", async () => {
  for (const type of ["rgb24", "complex64"] as const) {
    const path = place(buildNifti({ type, dims: [2, 2], values: [1, 2, 3, 4] }).file);
    await rejects(readNifti(path), "UNSUPPORTED_DATATYPE", new RegExp(`${path.replace(/[.]/g, "\\.")}: unsupported datatype ${type}`));
  }
});

test("bad files: missing, not NIfTI, Analyze, truncated, corrupt gzip, size mismatch, NaN", async () => {
  await rejects(readNifti(join(scratch, "nope.nii.gz")), "FILE_NOT_FOUND", /nope\.nii\.gz: no such file/);
  await rejects(readNifti(scratch), "FILE_NOT_FOUND", /is a folder/);
  await rejects(readNifti(place(new TextEncoder().encode("just some text, clearly not an image"))), "NOT_NIFTI", /only 36 bytes/);
  await rejects(readNifti(place(new Uint8Array(400).fill(7))), "NOT_NIFTI", /not a NIfTI file/);
  await rejects(readNifti(place(buildNifti({ type: "uint8", dims: [2], values: [1, 2], magic: "\0\0\0" }).file)), "NOT_NIFTI", /Analyze 7\.5/);
  const good = buildNifti({ type: "int16", dims: [8, 8, 8], values: ramp(512, (i) => i) }).file;
  await rejects(readNifti(place(good.subarray(0, good.length - 10))), "BAD_NIFTI", /truncated or the header is wrong/);
  await rejects(readNifti(place(good.subarray(0, 200))), "NOT_NIFTI", /only 200 bytes/);
  const gz = new Uint8Array(gzipSync(good));
  await rejects(readNifti(place(gz.subarray(0, gz.length - 40), "cut.nii.gz")), "BAD_NIFTI", /cut\.nii\.gz: the gzip stream ends early/);
  const corrupt = gz.slice();
  for (let i = 20; i < 60; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
  await rejects(readNifti(place(corrupt, "corrupt.nii.gz")), "BAD_NIFTI", /corrupt\.nii\.gz: the gzip data is corrupt/);
  assert.throws(() => readNiftiSync(join(scratch, "corrupt.nii.gz")), /gzip data is corrupt/);
  const nan = place(buildNifti({ type: "float32", dims: [2, 2, 2], values: [0, 1, NaN, 3, 4, NaN, 6, 7] }).file, "nan.nii");
  await rejects(readNifti(nan), "BAD_NIFTI", /nan\.nii: 2 voxel\(s\) are NaN \(the first at voxel \(0, 1, 0\)\)/);
  assert.deepEqual([...(await readNifti(nan, { nan: "zero" })).data], [0, 1, 0, 3, 4, 0, 6, 7]);
  assert.ok(Number.isNaN((await readNifti(nan, { nan: "keep" })).data[2]));
  await rejects(readNifti(place(buildNifti({ type: "uint8", dims: [2, 0, 2], values: [] }).file)), "BAD_NIFTI", /dimensions \[2,0,2\] are not all positive/);
});

test("labels: whole numbers only, stored in the narrowest array", async () => {
  const small = await readNiftiLabels(place(buildNifti({ type: "float32", dims: [4], values: [0, 1, 2, 3] }).file));
  assert.ok(small.data instanceof Uint8Array);
  assert.deepEqual([...small.data], [0, 1, 2, 3]);
  const wide = await readNiftiLabels(place(buildNifti({ type: "int32", dims: [3], values: [0, 300, 70000] }).file));
  assert.ok(wide.data instanceof Int32Array || wide.data instanceof Uint16Array);
  assert.deepEqual([...wide.data], [0, 300, 70000]);
  const neg = await readNiftiLabels(place(buildNifti({ type: "int16", dims: [2], values: [-1, 5] }).file));
  assert.ok(neg.data instanceof Int32Array);
  await rejects(readNiftiLabels(place(buildNifti({ type: "float32", dims: [3], values: [0, 1.5, 2] }).file, "soft.nii")), "BAD_NIFTI", /soft\.nii: not a label map: voxel \(1, 0\) holds 1\.5/);
});

test("readNiftiHeader reads only the header of a .nii.gz and agrees with a full read", async () => {
  const bytes = buildNifti({ type: "int16", dims: [30, 20, 10], values: ramp(6000, (i) => i % 1000), sformCode: 1, srow: [[1, 0, 0, 3], [0, 1, 0, 4], [0, 0, 2, 5]], pixdim: [1, 1, 1, 2] }).file;
  const path = place(new Uint8Array(gzipSync(bytes)), "head.nii.gz");
  const header = await readNiftiHeader(path);
  const full = await readNifti(path);
  assert.deepEqual(header, full.header);
  assert.deepEqual(header.shape, [30, 20, 10]);
});

// ---------------------------------------------------------------------------------------------
// Writing.

const oblique: Affine = (() => {
  const c = Math.cos(0.4);
  const s = Math.sin(0.4);
  return [[0.41 * c, -0.41 * s, 0, -12.5], [0.41 * s, 0.41 * c, 0, 30.25], [0, 0, -1, 7], [0, 0, 0, 1]];
})();

test("write then read gives the same voxels, spacing and affine (float32, int16, uint8; 2D and 3D; .nii and .nii.gz)", async () => {
  const shape = [5, 4, 3];
  const spacing = [0.41, 0.41, 1];
  const img = makeVolume(Float32Array.from(ramp(60, (i) => Math.sin(i) * 100)), shape, spacing, oblique);
  const ints = makeVolume(Float32Array.from(ramp(60, (i) => (i * 37) % 500 - 250)), shape, spacing, oblique);
  const labels = makeLabelVolume(Uint8Array.from(ramp(60, (i) => i % 4)), shape, spacing, oblique);
  const flat = makeVolume(Float32Array.from(ramp(12, (i) => i)), [4, 3], [0.5, 0.25]);
  for (const ext of [".nii", ".nii.gz"]) {
    for (const [vol, type] of [[img, "float32"], [ints, "int16"], [labels, "uint8"], [flat, "uint8"]] as const) {
      const path = join(scratch, `out-${type}-${vol.shape.length}d${ext}`);
      await writeNifti(path, vol, { datatype: type });
      const back = await readNifti(path);
      const what = `${type} ${vol.shape.length}D ${ext}`;
      assert.equal(back.header.datatype, type, what);
      assert.deepEqual(back.shape, vol.shape, what);
      assert.deepEqual([...back.data], [...vol.data].map(Math.fround), what);
      assert.deepEqual(back.spacing, vol.spacing.map(Math.fround), what);
      // The header stores float32: the affine comes back rounded to float32, exactly.
      assert.deepEqual(back.affine, vol.affine.map((r, i) => (i < 3 ? r.map(Math.fround) : r)), what);
      // The qform written beside the sform encodes the same affine.
      const raw = decodeNifti1(ext === ".nii" ? new Uint8Array(readFileSync(path)) : new Uint8Array(gunzipSync(readFileSync(path))));
      assert.equal(raw.qformCode, 1, what);
      const [b, c, d, qx, qy, qz] = raw.quatern as [number, number, number, number, number, number];
      const qa = quaternToAffine({ b, c, d, qx, qy, qz, dx: raw.pixdim[1]!, dy: raw.pixdim[2]!, dz: raw.pixdim[3]!, qfac: raw.pixdim[0]! });
      vol.affine.forEach((row, r) => row.forEach((x, k) => assert.ok(Math.abs(qa[r]![k]! - x) < 1e-5, `${what} qform[${r}][${k}]`)));
    }
  }
  const labelsBack = await readNiftiLabels(join(scratch, "out-uint8-3d.nii.gz"));
  assert.deepEqual(labelsBack.data, labels.data);
});

test("writing is deterministic, atomic, and refuses what it cannot store", async () => {
  const vol = makeVolume(Float32Array.from(ramp(24, (i) => i / 3)), [2, 3, 4]);
  const a = join(scratch, "deep", "er", "same.nii.gz");
  await writeNifti(a, vol);
  const first = readFileSync(a);
  writeNiftiSync(a, vol);
  assert.deepEqual(readFileSync(a), first, "same volume, same bytes");
  assert.deepEqual(readdirSync(join(scratch, "deep", "er")), ["same.nii.gz"], "no temporary file left behind");
  await rejects(writeNifti(join(scratch, "frac.nii"), vol, { datatype: "int16" }), "BAD_OPTION", /frac\.nii: voxel 1 holds 0\.333.*int16 cannot store exactly/);
  await rejects(writeNifti(join(scratch, "x.png"), vol), "BAD_OPTION", /x\.png: NIfTI files the kit writes end in \.nii or \.nii\.gz/);
  const sheared: Affine = [[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  const raw = decodeNifti1(encodeNifti(makeVolume(new Float32Array(8), [2, 2, 2], [1, 1, 1], sheared)));
  assert.equal(raw.qformCode, 0, "a sheared affine is kept in the sform only");
  assert.equal(raw.sformCode, 1);
  const wide = makeLabelVolume(Uint16Array.from([0, 1000, 3]), [3, 1]);
  assert.equal(decodeNifti1(encodeNifti(wide)).values[1], 1000);
});
