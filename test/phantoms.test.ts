// The embedded phantoms: determinism per subject, geometry as configured, label conventions,
// contrast facts measured from the images, separable scanner styles (the mixed target
// sub-dataset included), counts and splits; axon myelin rings; the toy domain pairs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AXON_DOMAINS,
  DEFAULT_EAR_PHANTOM_CONFIG,
  TARGET_STYLES,
  TOY_KINDS,
  axonSample,
  axonSamples,
  earAnatomy,
  earCounterpart,
  earIdealImage,
  earPhantomConfig,
  earSubject,
  earSubjectInfos,
  earSubjects,
  toySample,
  toySamples,
  type EarSubject,
} from "../lib/data/phantoms/index.js";
import { UnpairedError } from "../lib/util/errors.js";

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) => bytes(a).equals(bytes(b));
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sdOf = (xs: number[]) => Math.sqrt(meanOf(xs.map((x) => (x - meanOf(xs)) ** 2)));

/** A smaller ear dataset for the tests (default shape and spacing). */
const EAR = earPhantomConfig({ seed: 7, counts: { source: 9, target: 36, targetTest: 12 } });
const earAll: EarSubject[] = [...earSubjects(EAR)];

describe("ear phantom (crossmoda-phantom)", () => {
  test("is deterministic per subject: alone == in the list, same seed == same bytes, other seed differs", () => {
    for (const k of [0, 5, 17, 44]) {
      const alone = earSubject(k, EAR);
      assert.ok(sameBytes(alone.image.data, earAll[k]!.image.data), `subject ${k} image`);
      assert.ok(sameBytes(alone.label.data, earAll[k]!.label.data), `subject ${k} label`);
      assert.equal(alone.id, earAll[k]!.id);
    }
    // A target subject's anatomy does not depend on how many source subjects there are.
    const fewerSources = earPhantomConfig({ ...EAR, counts: { ...EAR.counts, source: 3 } });
    const t = earSubject(9 + 4, EAR);
    const t2 = earSubject(3 + 4, fewerSources);
    assert.ok(sameBytes(t.image.data, t2.image.data));
    const other = earSubject(5, { ...EAR, seed: 8 });
    assert.ok(!sameBytes(other.image.data, earAll[5]!.image.data));
    assert.ok(!sameBytes(other.label.data, earAll[5]!.label.data));
  });

  test("has the configured shape, spacing and affine, and a plausible MRI range", () => {
    for (const s of earAll) {
      assert.deepEqual(s.image.shape, [64, 64, 32]);
      assert.deepEqual(s.label.shape, [64, 64, 32]);
      assert.deepEqual(s.image.spacing, [0.41, 0.41, 1]);
      assert.deepEqual(s.image.affine, [[0.41, 0, 0, 0], [0, 0.41, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
      assert.ok(s.image.data instanceof Float32Array && s.label.data instanceof Uint8Array);
      let min = Infinity;
      let max = -Infinity;
      for (const v of s.image.data) (min = Math.min(min, v)), (max = Math.max(max, v));
      assert.ok(min >= 0 && max > 300 && max < 5000, `${s.id}: range ${min}..${max}`);
    }
    const custom = earSubject(1, { seed: 1, shape: [48, 40, 20], spacing: [0.5, 0.55, 1.2], counts: { source: 2, target: 0, targetTest: 0 } });
    assert.deepEqual(custom.image.shape, [48, 40, 20]);
    assert.deepEqual(custom.label.spacing, [0.5, 0.55, 1.2]);
    assert.equal(custom.image.affine[1]![1], 0.55);
    assert.ok(custom.label.data.includes(3) && custom.label.data.includes(1));
    assert.throws(() => earPhantomConfig({ shape: [64, 64] }), UnpairedError);
    assert.throws(() => earSubject(57, EAR), UnpairedError);
  });

  test("default counts, sites, splits, ids and the held-out labels", () => {
    assert.deepEqual(DEFAULT_EAR_PHANTOM_CONFIG.counts, { source: 60, target: 60, targetTest: 24 });
    const infos = earSubjectInfos();
    assert.equal(infos.length, 144);
    const count = (f: (i: (typeof infos)[number]) => boolean) => infos.filter(f).length;
    assert.equal(count((i) => i.domain === "source" && i.modality === "ceT1" && i.split === "train" && !i.labelHeldOut), 60);
    assert.equal(count((i) => i.domain === "target" && i.modality === "T2" && i.split === "train" && i.labelHeldOut), 60);
    assert.equal(count((i) => i.domain === "target" && i.split === "test" && !i.labelHeldOut), 24);
    for (const site of ["etz", "ldn", "ukm"]) {
      assert.equal(count((i) => i.domain === "source" && i.site === site), 20);
      assert.equal(count((i) => i.domain === "target" && i.split === "train" && i.site === site), 20);
      assert.equal(count((i) => i.split === "test" && i.site === site), 8);
    }
    assert.equal(new Set(infos.map((i) => i.id)).size, 144);
    for (const i of infos) assert.match(i.id, new RegExp(`^crossmoda-phantom_${i.site}_\\d{4}_${i.modality}$`));
    // Three named target sub-datasets, four true styles: "ukm" mixes two scanners half and half.
    const targetStyles = new Set(infos.filter((i) => i.domain === "target").map((i) => i.trueStyle));
    assert.deepEqual([...targetStyles].sort(), TARGET_STYLES.map((s) => s.name).sort());
    for (const site of ["etz", "ldn"]) assert.equal(new Set(infos.filter((i) => i.domain === "target" && i.site === site).map((i) => i.trueStyle)).size, 1);
    const ukm = infos.filter((i) => i.domain === "target" && i.site === "ukm");
    assert.equal(count((i) => i.trueStyle === "ukm-T2-a"), count((i) => i.trueStyle === "ukm-T2-b"));
    assert.deepEqual([...new Set(ukm.map((i) => i.trueStyle))].sort(), ["ukm-T2-a", "ukm-T2-b"]);
  });

  test("labels follow CrossMoDA: cochlea and intra-meatal VS always, extra-meatal in most, touching the intra-meatal part", () => {
    const [nx, ny] = [64, 64];
    let withExtra = 0;
    for (const s of earAll) {
      const l = s.label.data;
      const n = [0, 0, 0, 0];
      for (const v of l) {
        assert.ok(v <= 3, `${s.id}: label ${v}`);
        n[v]!++;
      }
      assert.ok(n[3]! > 20, `${s.id}: cochlea voxels ${n[3]}`);
      assert.ok(n[1]! > 20, `${s.id}: intra-meatal voxels ${n[1]}`);
      if (n[2]! > 0) {
        withExtra++;
        let touching = 0;
        for (let p = 0; p < l.length; p++) {
          if (l[p] !== 1) continue;
          const x = p % nx;
          const y = Math.floor(p / nx) % ny;
          if ((x + 1 < nx && l[p + 1] === 2) || (x > 0 && l[p - 1] === 2) || (y + 1 < ny && l[p + nx] === 2) || (y > 0 && l[p - nx] === 2) || l[p + nx * ny] === 2 || l[p - nx * ny] === 2) touching++;
        }
        assert.ok(touching > 0, `${s.id}: intra- and extra-meatal parts do not touch`);
      }
    }
    assert.ok(withExtra > earAll.length / 2 && withExtra < earAll.length, `extra-meatal in ${withExtra} of ${earAll.length}`);
  });

  test("tissue contrast: ceT1 tumour > CSF, cochlea dark; T2 CSF > tumour > brain, cochlea bright", () => {
    const facts = { ideal: [] as boolean[], image: [] as boolean[] };
    const ratios: Record<string, number[]> = { t1TumourCsf: [], t1BrainCochlea: [], t2CsfTumour: [], t2TumourBrain: [], t2CochleaBrain: [] };
    for (const s of earAll) {
      const a = earAnatomy(s.index, EAR);
      const mask = (f: (j: number) => boolean) => {
        const at: number[] = [];
        for (let j = 0; j < s.label.data.length; j++) if (f(j)) at.push(j);
        return (img: Float32Array) => meanOf(at.map((j) => img[j]!));
      };
      const tumour = mask((j) => s.label.data[j] === 1 || s.label.data[j] === 2);
      const cochlea = mask((j) => s.label.data[j] === 3);
      const csf = mask((j) => a.fractions.csf[j]! > 0.9);
      const brain = mask((j) => a.fractions.brain[j]! > 0.9);
      for (const [kind, img] of [["ideal", earIdealImage(a, s.modality)], ["image", s.image.data]] as const) {
        const [t, c, f, b] = [tumour(img), cochlea(img), csf(img), brain(img)];
        facts[kind].push(s.modality === "ceT1" ? t > f && c < b : f > t && t > b && c > b);
        if (kind === "image" && s.modality === "ceT1") ratios.t1TumourCsf!.push(t / f), ratios.t1BrainCochlea!.push(b / c);
        if (kind === "image" && s.modality === "T2") ratios.t2CsfTumour!.push(f / t), ratios.t2TumourBrain!.push(t / b), ratios.t2CochleaBrain!.push(c / b);
      }
    }
    // Before the scanner the facts hold everywhere; after it (bias, blur, partial volume) nearly everywhere.
    assert.ok(facts.ideal.every(Boolean), "a contrast fact fails on an ideal image");
    assert.ok(facts.image.filter(Boolean).length >= 0.9 * facts.image.length, `contrast facts hold on ${facts.image.filter(Boolean).length} of ${facts.image.length}`);
    for (const [k, r] of Object.entries(ratios)) assert.ok(meanOf(r) > 1.15, `${k}: mean ratio ${meanOf(r).toFixed(2)}`);
  });

  test("the four true target styles (and the two inside 'ukm') differ measurably", () => {
    // Per image, normalised by its 99th percentile: mean, std, high-frequency energy / std,
    // 5th percentile, median absolute difference of neighbours (a noise level).
    const features = (d: Float32Array) => {
      const diffs = new Float32Array(d.length);
      for (let i = 1; i < d.length; i++) diffs[i] = Math.abs(d[i]! - d[i - 1]!);
      diffs.sort();
      const sorted = Float32Array.from(d).sort();
      const p99 = sorted[Math.floor(0.99 * sorted.length)]!;
      let m = 0;
      let m2 = 0;
      let hf = 0;
      for (let i = 0; i < d.length; i++) {
        const v = d[i]! / p99;
        m += v;
        m2 += v * v;
        if (i % 64 !== 0) hf += ((d[i]! - d[i - 1]!) / p99) ** 2;
      }
      m /= d.length;
      const sd = Math.sqrt(m2 / d.length - m * m);
      return [m, sd, Math.sqrt(hf / d.length) / sd, sorted[Math.floor(0.05 * sorted.length)]! / p99, diffs[d.length >> 1]! / p99];
    };
    const byStyle = new Map<string, number[][]>();
    for (const s of earAll.filter((x) => x.domain === "target")) {
      if (!byStyle.has(s.trueStyle)) byStyle.set(s.trueStyle, []);
      byStyle.get(s.trueStyle)!.push(features(s.image.data));
    }
    assert.equal(byStyle.size, 4);
    const names = [...byStyle.keys()];
    for (let a = 0; a < names.length; a++) {
      for (let b = a + 1; b < names.length; b++) {
        const A = byStyle.get(names[a]!)!;
        const B = byStyle.get(names[b]!)!;
        // Separation of the style means in units of the within-style spread (d'), best feature.
        const best = Math.max(
          ...[0, 1, 2, 3, 4].map((f) => {
            const xa = A.map((r) => r[f]!);
            const xb = B.map((r) => r[f]!);
            return Math.abs(meanOf(xa) - meanOf(xb)) / Math.sqrt((sdOf(xa) ** 2 + sdOf(xb) ** 2) / 2);
          }),
        );
        assert.ok(best > 2, `${names[a]} vs ${names[b]}: best separation ${best.toFixed(2)}`);
      }
    }
    const ukm = earAll.filter((s) => s.domain === "target" && s.site === "ukm");
    assert.deepEqual([...new Set(ukm.map((s) => s.trueStyle))].sort(), ["ukm-T2-a", "ukm-T2-b"]);
  });

  test("a counterpart renders the same anatomy in another modality and style", () => {
    const s = earAll[2]!;
    const t2 = earCounterpart(2, "etz-T2", EAR);
    assert.deepEqual(t2.shape, s.image.shape);
    assert.ok(!sameBytes(t2.data, s.image.data));
    assert.ok(sameBytes(earCounterpart(2, "etz-T2", EAR).data, t2.data));
    assert.throws(() => earCounterpart(2, "nope", EAR), UnpairedError);
  });
});

describe("axon phantom (axon-phantom)", () => {
  const CFG = { seed: 3, count: 8 };
  const all = [...axonSamples(CFG)];

  test("is deterministic per image and seed", () => {
    const k = all.findIndex((s) => s.domain === "sem" && s.index === 5);
    const alone = axonSample("sem", 5, CFG);
    assert.ok(sameBytes(alone.image.data, all[k]!.image.data) && sameBytes(alone.label.data, all[k]!.label.data));
    assert.ok(!sameBytes(axonSample("sem", 5, { ...CFG, seed: 4 }).label.data, alone.label.data));
  });

  test("shapes, spacing, counts, splits, held-out target labels, intensities in [0, 1]", () => {
    assert.equal(all.length, 4 * 8);
    for (const s of all) {
      assert.deepEqual(s.image.shape, [128, 128]);
      assert.deepEqual(s.image.spacing, [0.0001, 0.0001]);
      assert.equal(s.labelHeldOut, s.domain !== "tem");
      for (const v of s.image.data) assert.ok(v >= 0 && v <= 1);
      for (const v of s.label.data) assert.ok(v <= 2);
    }
    for (const d of AXON_DOMAINS) assert.equal(all.filter((s) => s.domain === d && s.split === "test").length, 2);
  });

  test("every myelinated axon is enclosed by its myelin ring", () => {
    let checked = 0;
    for (const s of all) {
      const l = s.label.data;
      for (const f of s.fibres.filter((f) => f.myelinated && f.inside)) {
        const start = Math.round(f.y) * 128 + Math.round(f.x);
        assert.equal(l[start], 1, `${s.id}: centre of a fibre is not axon`);
        const seen = new Set([start]);
        const stack = [start];
        while (stack.length) {
          const p = stack.pop()!;
          const x = p % 128;
          const y = Math.floor(p / 128);
          for (const [qx, qy] of [[x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]] as const) {
            assert.ok(qx >= 0 && qy >= 0 && qx < 128 && qy < 128, `${s.id}: axon region reaches the border`);
            const q = qy * 128 + qx;
            if (l[q] === 1 && !seen.has(q)) (seen.add(q), stack.push(q));
            else assert.ok(l[q] === 1 || l[q] === 2, `${s.id}: axon touches label ${l[q]}`);
          }
        }
        checked++;
      }
      // Some unmyelinated fibres exist across the set.
    }
    assert.ok(checked > 50);
    assert.ok(all.some((s) => s.fibres.some((f) => !f.myelinated)));
  });

  test("domains look as described: TEM dark myelin, SEM inverted, bright-field low contrast, species 2 smaller", () => {
    const mean = (s: (typeof all)[number], label: number) => {
      let m = 0;
      let c = 0;
      s.label.data.forEach((v, i) => v === label && ((m += s.image.data[i]!), c++));
      return m / c;
    };
    for (const s of all) {
      if (s.domain === "tem" || s.domain === "tem-species2") assert.ok(mean(s, 2) + 0.3 < mean(s, 1));
      if (s.domain === "sem") assert.ok(mean(s, 2) > mean(s, 1) + 0.3);
      if (s.domain === "brightfield") assert.ok(mean(s, 2) < mean(s, 1) && mean(s, 1) - mean(s, 2) < 0.25);
    }
    const size = (d: string) => meanOf(all.filter((s) => s.domain === d).flatMap((s) => s.fibres.map((f) => f.outerRadius)));
    assert.ok(size("tem-species2") < 0.85 * size("tem"));
    // The same geometry imaged as another domain keeps the labels.
    const asSem = axonSample("tem", 1, CFG, { renderAs: "sem" });
    assert.ok(sameBytes(asSem.label.data, axonSample("tem", 1, CFG).label.data));
  });
});

describe("toy domains", () => {
  const CFG = { seed: 5, count: 12 };

  test("are deterministic and shaped as configured", () => {
    for (const toy of TOY_KINDS) {
      const all = [...toySamples(toy, CFG)];
      assert.equal(all.length, 24);
      assert.equal(all.filter((s) => s.split === "test").length, 6);
      const k = all.findIndex((s) => s.domain === "B" && s.index === 4);
      assert.ok(sameBytes(toySample(toy, "B", 4, CFG).image.data, all[k]!.image.data));
      for (const s of all) {
        assert.deepEqual(s.image.shape, [64, 64]);
        assert.deepEqual(s.mask.shape, [64, 64]);
        for (const v of s.image.data) assert.ok(v >= 0 && v <= 1);
        const ids = new Set(s.mask.data);
        ids.delete(0);
        assert.equal(ids.size, s.objects.length);
      }
      assert.ok(!sameBytes(toySample(toy, "A", 0, { ...CFG, seed: 6 }).image.data, toySample(toy, "A", 0, CFG).image.data));
    }
  });

  const stats = (toy: (typeof TOY_KINDS)[number], domain: "A" | "B", index: number, renderAs?: "A" | "B") => {
    const s = toySample(toy, domain, index, CFG, renderAs ? { renderAs } : {});
    const inside: number[] = [];
    const outside: number[] = [];
    s.mask.data.forEach((m, i) => (m ? inside : outside).push(s.image.data[i]!));
    return { s, inside, outside };
  };

  test("colour: dark objects on light in A, light on dark in B, one grey mapping apart", () => {
    for (let i = 0; i < 6; i++) {
      const a = stats("colour", "A", i);
      const b = stats("colour", "B", i);
      assert.ok(meanOf(a.inside) < meanOf(a.outside) - 0.3);
      assert.ok(meanOf(b.inside) > meanOf(b.outside) + 0.3);
      // The same scene in B is a pixel-wise (decreasing) function of A.
      const pair = stats("colour", "A", i, "B");
      const xa = Array.from(a.s.image.data);
      const xb = Array.from(pair.s.image.data);
      const ma = meanOf(xa);
      const mb = meanOf(xb);
      const corr = xa.reduce((acc, v, j) => acc + (v - ma) * (xb[j]! - mb), 0) / (xa.length * sdOf(xa) * sdOf(xb));
      assert.ok(corr < -0.9, `correlation ${corr}`);
    }
  });

  test("texture: striped blobs vary far more inside than smooth blobs", () => {
    for (let i = 0; i < 6; i++) {
      assert.ok(sdOf(stats("texture", "B", i).inside) > 2 * sdOf(stats("texture", "A", i).inside));
    }
  });

  test("geometry: circles in A, squares of the same area in B", () => {
    for (let i = 0; i < 6; i++) {
      for (const domain of ["A", "B"] as const) {
        const s = toySample("geometry", domain, i, CFG);
        s.objects.forEach((o, k) => {
          let area = 0;
          let x0 = 64;
          let x1 = 0;
          let y0 = 64;
          let y1 = 0;
          s.mask.data.forEach((m, p) => {
            if (m !== k + 1) return;
            area++;
            const x = p % 64;
            const y = Math.floor(p / 64);
            (x0 = Math.min(x0, x)), (x1 = Math.max(x1, x)), (y0 = Math.min(y0, y)), (y1 = Math.max(y1, y));
          });
          assert.ok(Math.abs(area / (Math.PI * o.r * o.r) - 1) < 0.2, `area ${area} vs ${Math.PI * o.r * o.r}`);
          const fill = area / ((x1 - x0 + 1) * (y1 - y0 + 1));
          if (domain === "A") assert.ok(fill < 0.85, `circle fill ${fill}`);
          else assert.ok(fill > 0.95, `square fill ${fill}`);
        });
      }
    }
  });
});
