// Checks trained translation runs on the ear phantom, where the truth is known (the acceptance
// check of the training issue): do translated ceT1 phantoms have T2 tissue contrast, do they keep
// the anatomy, and does IntraStyler follow its exemplar's style?
//   npx tsx scripts/translation-check.ts --runs /tmp/accept [--subjects 12]
// Expects <runs>/{cut,cyclegan,intrastyler} trained on data-manifests/crossmoda-phantom.json.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { tf } from "../lib/engine/index.js";
import { preprocess } from "../lib/data/loader.js";
import { selectSubjects } from "../lib/data/manifest.js";
import { earAnatomy, earCounterpart, earSubjectInfo, DEFAULT_EAR_PHANTOM_CONFIG, EAR_TISSUES } from "../lib/data/phantoms/index.js";
import { TARGET_STYLES } from "../lib/data/phantoms/styles.js";
import { openDataset } from "../lib/data/openDataset.js";
import { applyToVolume, asTensorFor, openRun } from "../lib/inference/translate.js";
import { IntraStylerTrainer } from "../lib/methods/intrastyler.js";
import { readNifti } from "../lib/volume/niftiRead.js";
import { makeVolume, type Volume } from "../lib/volume/volume.js";

const args = parseArgs({ options: { runs: { type: "string" }, subjects: { type: "string" } } }).values;
const runs = args.runs ?? "runs";
const count = Number(args.subjects ?? 12);
const manifest = new URL("../data-manifests/crossmoda-phantom.json", import.meta.url).pathname;
const dataset = await openDataset(manifest);
const sources = selectSubjects(dataset, { role: "source" }).slice(0, count);
const cfg = DEFAULT_EAR_PHANTOM_CONFIG;
const norm = (v: Volume) => preprocess(v, undefined).image;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const corr = (a: number[], b: number[]) => {
  const ma = mean(a);
  const mb = mean(b);
  let num = 0, da = 0, db = 0;
  a.forEach((x, i) => { num += (x - ma) * (b[i]! - mb); da += (x - ma) ** 2; db += (b[i]! - mb) ** 2; });
  return num / Math.sqrt(da * db);
};
// Tissues with voxels that are at least 90% that tissue in every subject (the thin nerve has none).
const tissues = EAR_TISSUES.filter((t) => t !== "vessel" && t !== "cyst" && t !== "nerve");

/** Mean intensity per tissue (voxels at least 90% that tissue). */
function tissueMeans(v: Volume, index: number): Record<string, number> {
  const a = earAnatomy(index, cfg);
  const out: Record<string, number> = {};
  for (const t of tissues) {
    const f = a.fractions[t];
    let s = 0, n = 0;
    for (let i = 0; i < f.length; i++) if (f[i]! >= 0.9) { s += v.data[i]!; n++; }
    out[t] = n ? s / n : NaN;
  }
  return out;
}

const mae = (a: Volume, b: Volume) => { let s = 0; for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i]! - b.data[i]!); return s / a.data.length; };

for (const method of ["cut", "cyclegan", "intrastyler"]) {
  const dir = join(runs, method);
  if (!existsSync(join(dir, "checkpoint"))) { console.log(`${method}: no run in ${dir}`); continue; }
  const { trainer, config } = await openRun(dir);
  const rows: { input: Record<string, number>; out: Record<string, number>; truth: Record<string, number>; maeIn: number; maeOut: number }[] = [];
  // The exemplar/style for intrastyler: one target image of a real T2 style.
  const exemplarSubject = selectSubjects(dataset, { role: "target", split: "train" })[0]!;
  const exemplar = norm(await readNifti(exemplarSubject.image));
  const truthStyle = exemplarSubject.trueStyle ?? TARGET_STYLES[0]!.name;
  for (const s of sources) {
    const index = sources.indexOf(s);
    const info = earSubjectInfo(index, cfg);
    if (info.id !== s.id) throw new Error(`subject order: ${info.id} vs ${s.id}`);
    const input = norm(await readNifti(s.image));
    const r = applyToVolume(trainer, config, input, method === "intrastyler" ? { exemplar } : {});
    const out = makeVolume(r.data, input.shape, input.spacing, input.affine);
    const truth = norm(earCounterpart(index, truthStyle, cfg));
    rows.push({ input: tissueMeans(input, index), out: tissueMeans(out, index), truth: tissueMeans(truth, index), maeIn: mae(input, truth), maeOut: mae(out, truth) });
  }
  console.log(`\n${method} (${config.profile}, ${config.patch.length}D patches ${config.patch.join("x")}), ${rows.length} source subjects -> T2 (truth: the same anatomy rendered by ${truthStyle})`);
  console.log("| tissue | ceT1 input | translation | T2 truth |");
  console.log("|---|---|---|---|");
  for (const t of tissues) console.log(`| ${t} | ${mean(rows.map((r) => r.input[t]!)).toFixed(2)} | ${mean(rows.map((r) => r.out[t]!)).toFixed(2)} | ${mean(rows.map((r) => r.truth[t]!)).toFixed(2)} |`);
  const tIn = tissues.map((t) => mean(rows.map((r) => r.input[t]!)));
  const tOut = tissues.map((t) => mean(rows.map((r) => r.out[t]!)));
  const tTruth = tissues.map((t) => mean(rows.map((r) => r.truth[t]!)));
  console.log(`tissue-contrast correlation with T2 truth: input ${corr(tIn, tTruth).toFixed(2)}, translation ${corr(tOut, tTruth).toFixed(2)}`);
  console.log(`mean |image - T2 truth| (same anatomy): input ${mean(rows.map((r) => r.maeIn)).toFixed(3)}, translation ${mean(rows.map((r) => r.maeOut)).toFixed(3)}`);
  if (trainer instanceof IntraStylerTrainer) {
    // Style following: translate with one exemplar per true target style; E(output) should be
    // closest to its own exemplar's style vector.
    const netDims = config.patch.length === 2 ? 2 : 3;
    const exemplars = TARGET_STYLES.map((st) => selectSubjects(dataset, { role: "target", split: "train" }).find((x) => x.trueStyle === st.name)!);
    const styleVecs: tf.Tensor[] = [];
    for (const e of exemplars) {
      const x = asTensorFor(norm(await readNifti(e.image)), netDims);
      styleVecs.push(trainer.embed(x));
      x.dispose();
    }
    let own = 0, other = 0, wins = 0, n = 0;
    for (const s of sources.slice(0, 6)) {
      const x = asTensorFor(norm(await readNifti(s.image)), netDims);
      for (let i = 0; i < exemplars.length; i++) {
        const out = trainer.translate(x, { style: styleVecs[i]! });
        const e = trainer.embed(out);
        const cos = styleVecs.map((sv) => tf.sum(tf.mul(e, sv)).dataSync()[0]!);
        own += cos[i]!;
        other += mean(cos.filter((_, j) => j !== i));
        if (cos.indexOf(Math.max(...cos)) === i) wins++;
        n++;
        tf.dispose([out, e]);
      }
      x.dispose();
    }
    console.log(`style following (${n} translations, 4 true target styles): cosine to own exemplar ${(own / n).toFixed(3)}, to the other exemplars ${(other / n).toFixed(3)}; own exemplar closest in ${wins}/${n}`);
    tf.dispose(styleVecs);
  }
  trainer.dispose();
}
