// Writes a phantom dataset to disk the way real data arrives: one NIfTI file per image and per
// label, plus manifest.json describing them (domains, sites, true styles, splits, label use).
// The same kind, seed and options always give byte-identical files.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UnpairedError } from "../../util/errors.js";
import { writeNifti, type NiftiWriteType } from "../../volume/niftiWrite.js";
import { makeLabelVolume, makeVolume, type LabelVolume, type Volume } from "../../volume/volume.js";
import { parseManifest, resolveManifest, writeManifest, type Dataset, type Manifest, type ManifestSubject } from "../manifest.js";
import { EAR_PHANTOM_ID, earPhantomConfig, earSubject, earSubjectInfos, type EarPhantomOptions } from "./ear.js";
import { EAR_SITES, TARGET_STYLES } from "./styles.js";
import { AXON_DOMAINS, AXON_PHANTOM_ID, axonPhantomConfig, axonSample, axonSampleId, axonSplit, type AxonPhantomOptions } from "./axon.js";
import { TOY_KINDS, TOY_PHANTOM_ID, toyPhantomConfig, toySample, toySampleId, toySplit, type ToyPhantomOptions } from "./toy.js";
import { withFileLock } from "../../util/fileLock.js";

export type PhantomKind = "crossmoda" | "axon" | "toy";
export const PHANTOM_KINDS: readonly PhantomKind[] = ["crossmoda", "axon", "toy"];

/** One subject of a phantom: its manifest entry and how to draw it (only when written). */
export interface PhantomEntry {
  subject: ManifestSubject;
  render(): { image: Volume; label?: LabelVolume };
  /** Datatype the image is stored as. */
  imageType: NiftiWriteType;
}

/** A phantom dataset: the manifest (without dataRoot) and its entries, drawn lazily. */
export interface PhantomPlan {
  manifest: Manifest;
  entries: PhantomEntry[];
}

/** MRI scanners store whole numbers: round and clamp to int16, as a scanner export would. */
function asScannerInts(v: Volume): Volume {
  const out = new Float32Array(v.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(v.data[i]!)));
  return makeVolume(out, v.shape, v.spacing, v.affine);
}

/** A count option: a number (every part) or named parts, checked against the kind's parts. */
function counts<K extends string>(kind: string, value: unknown, parts: readonly K[], fromNumber: (n: number) => Record<K, number>): Partial<Record<K, number>> | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return fromNumber(value);
  if (typeof value !== "object" || value === null) throw new UnpairedError("BAD_OPTION", `${kind} phantom: counts must be a number or an object`);
  for (const k of Object.keys(value)) {
    if (!parts.includes(k as K)) throw new UnpairedError("BAD_OPTION", `${kind} phantom: unknown count "${k}"; its parts are ${parts.join(", ")}`);
  }
  return value as Partial<Record<K, number>>;
}

function earPlan(options: EarPhantomOptions & { counts?: unknown }): PhantomPlan {
  const c = counts("crossmoda", options.counts, ["source", "target", "targetTest"] as const, (n) => ({ source: n, target: n, targetTest: Math.ceil(0.4 * n) }));
  const cfg = earPhantomConfig({ ...options, ...(c ? { counts: c } : {}) });
  const infos = earSubjectInfos(cfg);
  const entries: PhantomEntry[] = infos.map((info) => {
    const subject: ManifestSubject = {
      id: info.id,
      domain: info.domain,
      site: info.site,
      image: `${info.id}.nii.gz`,
      label: `${info.labelId}.nii.gz`,
      labelUse: info.domain === "source" ? "training" : "evaluation",
      trueStyle: info.trueStyle,
      split: info.split,
    };
    return {
      subject,
      imageType: "int16",
      render: () => {
        const s = earSubject(info.index, cfg);
        return { image: asScannerInts(s.image), label: s.label };
      },
    };
  });
  const targetStyles = TARGET_STYLES.map((s) => s.name).join(", ");
  return {
    manifest: {
      id: EAR_PHANTOM_ID,
      description:
        `Ear MRI phantom: ${cfg.shape.join("x")} crops around the cochlea at ${cfg.spacing.join("x")} mm, CrossMoDA labels. ` +
        `${cfg.counts.source} labelled ceT1 (source) from three sites, ${cfg.counts.target} unlabelled T2 (target, labels held out for analysis) ` +
        `and ${cfg.counts.targetTest} labelled T2 for testing. The target sub-dataset "ukm" secretly mixes two scanners: ` +
        `four true target styles (${targetStyles}), recorded as trueStyle for scoring analyses only.`,
      dimensions: 3,
      spacing: [...cfg.spacing],
      labels: { "0": "background", "1": "intra-meatal VS", "2": "extra-meatal VS", "3": "cochlea" },
      domains: {
        source: { role: "source", modality: "ceT1", sites: [...EAR_SITES], description: "contrast-enhanced T1-like, labelled" },
        target: { role: "target", modality: "T2", sites: [...EAR_SITES], description: "T2-like; labels only for evaluation" },
      },
      subjects: entries.map((e) => e.subject),
      generator: { kind: "crossmoda", seed: cfg.seed, options: { shape: [...cfg.shape], spacing: [...cfg.spacing], counts: { ...cfg.counts } } },
    },
    entries,
  };
}

/** Renders lazily and checks the drawn sample is the one the manifest names. */
function checked<T extends { id: string }>(id: string, draw: () => T): T {
  const s = draw();
  if (s.id !== id) throw new Error(`phantom writer: expected ${id}, the generator drew ${s.id}`);
  return s;
}

function axonPlan(options: AxonPhantomOptions & { counts?: unknown }): PhantomPlan {
  const { counts: c, ...rest } = options;
  if (c !== undefined && typeof c !== "number") throw new UnpairedError("BAD_OPTION", "axon phantom: --count is one number (images per domain)");
  const cfg = axonPhantomConfig({ ...rest, ...(typeof c === "number" ? { count: c } : {}) });
  const entries: PhantomEntry[] = [];
  for (const domain of AXON_DOMAINS) {
    for (let index = 0; index < cfg.count; index++) {
      const id = axonSampleId(domain, index);
      entries.push({
        subject: { id, domain, site: domain, image: `${id}.nii.gz`, label: `${id}_Label.nii.gz`, labelUse: domain === "tem" ? "training" : "evaluation", split: axonSplit(index, cfg) },
        imageType: "float32",
        render: () => {
          const s = checked(id, () => axonSample(domain, index, cfg));
          return { image: s.image, label: s.label };
        },
      });
    }
  }
  const dom = (modality: string, role: "source" | "target", description: string) => ({ role, modality, sites: [modality], description });
  return {
    manifest: {
      id: AXON_PHANTOM_ID,
      description:
        `Histology phantom: ${cfg.shape.join("x")} fields of myelinated axons at ${cfg.pixelUm} um per pixel, labels 1 axon, 2 myelin. ` +
        `A labelled TEM-like source and three unlabelled targets of increasing dissimilarity (TEM of another species, SEM-like, bright-field-like), ` +
        `${cfg.count} images per domain; target labels are for evaluation only.`,
      dimensions: 2,
      spacing: [cfg.pixelUm / 1000, cfg.pixelUm / 1000],
      labels: { "0": "background", "1": "axon", "2": "myelin" },
      domains: {
        tem: dom("tem", "source", "TEM, labelled"),
        "tem-species2": dom("tem-species2", "target", "TEM of another species: slightly smaller axons, other contrast"),
        sem: dom("sem", "target", "SEM-like: inverted contrast, other texture"),
        brightfield: dom("brightfield", "target", "bright-field-like: blur, low contrast, other noise"),
      },
      subjects: entries.map((e) => e.subject),
      generator: { kind: "axon", seed: cfg.seed, options: { shape: [...cfg.shape], pixelUm: cfg.pixelUm, count: cfg.count, testFraction: cfg.testFraction } },
    },
    entries,
  };
}

function toyPlan(options: ToyPhantomOptions & { counts?: unknown }): PhantomPlan {
  const { counts: c, ...rest } = options;
  if (c !== undefined && typeof c !== "number") throw new UnpairedError("BAD_OPTION", "toy phantom: --count is one number (images per domain)");
  const cfg = toyPhantomConfig({ ...rest, ...(typeof c === "number" ? { count: c } : {}) });
  const entries: PhantomEntry[] = [];
  const domains: Manifest["domains"] = {};
  for (const toy of TOY_KINDS) {
    for (const side of ["A", "B"] as const) {
      const domain = `${toy}-${side}`;
      domains[domain] = { role: side === "A" ? "source" : "target", modality: domain, sites: [toy] };
      for (let index = 0; index < cfg.count; index++) {
        const id = toySampleId(toy, side, index);
        entries.push({
          subject: { id, domain, site: toy, image: `${id}.nii.gz`, label: `${id}_mask.nii.gz`, labelUse: side === "A" ? "training" : "evaluation", split: toySplit(index, cfg) },
          imageType: "float32",
          render: () => {
            const s = checked(id, () => toySample(toy, side, index, cfg));
            // The files hold object-versus-background; instance numbers stay in memory.
            const binary = Uint8Array.from(s.mask.data, (v) => (v > 0 ? 1 : 0));
            return { image: s.image, label: makeLabelVolume(binary, s.mask.shape, s.mask.spacing, s.mask.affine) };
          },
        });
      }
    }
  }
  return {
    manifest: {
      id: TOY_PHANTOM_ID,
      description:
        `Lecture toy domains, ${cfg.shape.join("x")} grey images: colour (two grey-level mappings of the same objects), texture ` +
        `(smooth <-> striped blobs) and geometry (circles <-> squares, which no pixel-wise mapping can solve). Domain A is the source, B the target; ` +
        `${cfg.count} images per domain; masks mark objects.`,
      dimensions: 2,
      labels: { "0": "background", "1": "object" },
      domains,
      subjects: entries.map((e) => e.subject),
      generator: { kind: "toy", seed: cfg.seed, options: { shape: [...cfg.shape], count: cfg.count, testFraction: cfg.testFraction } },
    },
    entries,
  };
}

export interface PhantomOptions {
  seed?: number;
  /** Kind-specific options (shape, spacing, counts ...), as the generator's config takes them. */
  [key: string]: unknown;
}

/** The plan (manifest + lazy entries) of a phantom kind. */
export function phantomPlan(kind: PhantomKind, options: PhantomOptions = {}): PhantomPlan {
  switch (kind) {
    case "crossmoda":
      return earPlan(options as EarPhantomOptions);
    case "axon":
      return axonPlan(options as AxonPhantomOptions);
    case "toy":
      return toyPlan(options as ToyPhantomOptions);
    default:
      throw new UnpairedError("BAD_OPTION", `unknown phantom kind "${String(kind)}"; choose one of ${PHANTOM_KINDS.join(", ")}`);
  }
}

export interface WritePhantomOptions extends PhantomOptions {
  /** Called after each subject is written. */
  onProgress?: (e: { done: number; total: number; info?: string }) => void;
  /** Replace files that already exist (default true: a re-run reproduces them). */
  overwrite?: boolean;
}

/** Writes every image, label and manifest.json of a phantom into `outDir`; returns the manifest path. */
export async function writePhantom(kind: PhantomKind, outDir: string, options: WritePhantomOptions = {}): Promise<string> {
  const { onProgress, overwrite, ...rest } = options;
  const plan = phantomPlan(kind, rest);
  const root = resolve(outDir);
  mkdirSync(root, { recursive: true });
  const total = plan.entries.length;
  let done = 0;
  for (const entry of plan.entries) {
    const imagePath = join(root, entry.subject.image);
    const labelPath = entry.subject.label === undefined ? undefined : join(root, entry.subject.label);
    if (overwrite !== false || !existsSync(imagePath) || (labelPath && !existsSync(labelPath))) {
      const { image, label } = entry.render();
      await writeNifti(imagePath, image, { datatype: entry.imageType, description: `${plan.manifest.id} ${entry.subject.id}` });
      if (labelPath && label) await writeNifti(labelPath, label, { datatype: "uint8", description: `${plan.manifest.id} labels` });
    }
    done++;
    onProgress?.({ done, total, info: entry.subject.id });
  }
  const manifestPath = join(root, "manifest.json");
  await writeManifest(manifestPath, { ...plan.manifest, dataRoot: "." });
  return manifestPath;
}

/**
 * Where a phantom manifest's files live: the given data root; else, for a manifest with a
 * generator, <UNPAIRED_PHANTOMS>/<id>-<hash of the generator's kind, seed and options> when that
 * environment variable names a folder (the test suite points it at a temporary folder, so tests
 * never write into the project; the hash keeps phantoms drawn with other options apart); else
 * the manifest's own dataRoot (data/<id> for the shipped ones).
 */
export function phantomRoot(m: Manifest, manifestPath: string, dataRoot?: string): string {
  if (dataRoot !== undefined) return resolve(dataRoot);
  const shared = process.env["UNPAIRED_PHANTOMS"];
  if (m.generator && shared) {
    const g = m.generator;
    const options = Object.fromEntries(Object.entries(g.options ?? {}).sort(([a], [b]) => a.localeCompare(b)));
    const hash = createHash("sha256").update(JSON.stringify({ kind: g.kind, seed: g.seed, options })).digest("hex").slice(0, 8);
    return resolve(shared, `${m.id}-${hash}`);
  }
  return resolve(dirname(resolve(manifestPath)), m.dataRoot ?? ".");
}

/**
 * Loads a phantom manifest (e.g. data-manifests/crossmoda-phantom.json) and, when its files are
 * not there yet, first generates them from the manifest's generator section (seed and options),
 * so an experiment can start from a fresh clone. Real-data manifests load as usual.
 */
export async function loadOrGeneratePhantom(
  manifestPath: string,
  opts: { dataRoot?: string; onProgress?: WritePhantomOptions["onProgress"] } = {},
): Promise<Dataset> {
  const m = parseManifest(JSON.parse(readFileSync(manifestPath, "utf8")), manifestPath);
  const root = phantomRoot(m, manifestPath, opts.dataRoot);
  if (m.generator && !existsSync(join(root, "manifest.json"))) {
    const generator = m.generator;
    // One writer at a time (parallel figures workers start on a fresh machine together).
    await withFileLock(`${root}.lock`, async () => {
      if (existsSync(join(root, "manifest.json"))) return;
      await writePhantom(generator.kind, root, { seed: generator.seed, ...(generator.options ?? {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    });
  }
  return resolveManifest(m, { manifestPath, dataRoot: root });
}

/** The manifest shipped in data-manifests/ for a phantom: default options, files under ../data/<id>. */
export function shippedPhantomManifest(kind: PhantomKind): Manifest {
  const m = phantomPlan(kind).manifest;
  return { $schema: "./manifest.schema.json", ...m, dataRoot: `../data/${m.id}` };
}
