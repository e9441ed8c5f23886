// Dataset manifests (data-manifests/*.json): which images and labels make up a dataset, their
// domains, sub-domains (sites), optional true styles and splits. A manifest is checked against
// its schema and then against the files on disk, and every problem is reported at once, before
// any work starts. Real datasets (CrossMoDA 2023) are described by file-name patterns and found
// under a user's --data-root; the phantoms list their subjects explicitly.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { z } from "zod";
import { UnpairedError } from "../util/errors.js";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { readNiftiHeader, type NiftiHeader } from "../volume/niftiRead.js";

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '_', '-' or '.'");

const domainSchema = z.strictObject({
  /** Source domains carry training labels; target domains are what the methods translate to. */
  role: z.enum(["source", "target"]),
  modality: z.string().min(1),
  /** Named sub-domains (sites / sub-datasets) subjects of this domain may carry. */
  sites: z.array(name).min(1),
  description: z.string().optional(),
});

const splitSchema = z.enum(["train", "val", "test"]);
const labelUseSchema = z.enum(["training", "evaluation"]);

const subjectSchema = z.strictObject({
  id: name,
  domain: name,
  site: name,
  /** Path of the image, relative to the data root (or absolute). */
  image: z.string().min(1),
  label: z.string().min(1).optional(),
  /**
   * "training": methods may train on this label (labelled source data). "evaluation": the label
   * is held out and only scores results (labelled target test data, the phantom's hidden truth).
   */
  labelUse: labelUseSchema.optional(),
  /** The true acquisition style where it is known (phantoms): for scoring analyses only. */
  trueStyle: z.string().min(1).optional(),
  split: splitSchema,
});

const discoverSchema = z.strictObject({
  domain: name,
  /** File-name pattern with {site} and {n} placeholders, e.g. "crossmoda2023_{site}_{n}_ceT1.nii.gz". */
  image: z.string().includes("{n}"),
  /** Label file-name pattern in the same folder, same placeholders; absent when unlabelled. */
  label: z.string().includes("{n}").optional(),
  labelUse: labelUseSchema.optional(),
  split: splitSchema,
  /** When false, a rule that matches nothing is not an error (e.g. a validation set few people have). */
  required: z.boolean().optional(),
});

const generatorSchema = z.strictObject({
  kind: z.enum(["crossmoda", "axon", "toy"]),
  seed: z.number().int(),
  options: z.record(z.string(), z.unknown()).optional(),
});

export const manifestSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: name,
    description: z.string().optional(),
    /** Folder holding the files, relative to the manifest's folder; --data-root overrides it. */
    dataRoot: z.string().optional(),
    dimensions: z.union([z.literal(2), z.literal(3)]),
    /** Typical voxel size in mm (informative; resampling targets come from experiment configs). */
    spacing: z.array(z.number().positive()).optional(),
    /** Label value -> structure name; 0 is background. */
    labels: z.record(z.string().regex(/^\d+$/, "label values are whole numbers"), z.string()),
    domains: z.record(name, domainSchema),
    subjects: z.array(subjectSchema).optional(),
    discover: z.array(discoverSchema).optional(),
    /** How to regenerate the files (phantoms): `npx unpaired-lab phantom --kind <kind> --seed <seed>`. */
    generator: generatorSchema.optional(),
  })
  .refine((m) => (m.subjects?.length ?? 0) > 0 || (m.discover?.length ?? 0) > 0, {
    message: "a manifest needs 'subjects' (a list) or 'discover' (file-name patterns)",
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestSubject = z.infer<typeof subjectSchema>;
export type DomainSpec = z.infer<typeof domainSchema>;
export type Split = z.infer<typeof splitSchema>;

/** A subject with its paths resolved and its domain's role and modality attached. */
export interface Subject extends ManifestSubject {
  role: "source" | "target";
  modality: string;
  /** Absolute path of the image. */
  image: string;
  /** Absolute path of the label, if any. */
  label?: string;
}

export interface Dataset {
  id: string;
  description?: string;
  /** The manifest file this dataset came from (undefined when built in memory). */
  manifestPath?: string;
  /** Absolute data root. */
  root: string;
  dimensions: 2 | 3;
  spacing?: number[];
  labels: Record<number, string>;
  domains: Record<string, DomainSpec>;
  subjects: Subject[];
  generator?: Manifest["generator"];
}

function problemList(source: string, problems: string[]): UnpairedError {
  const shown = problems.slice(0, 40).map((p) => `  - ${p}`);
  if (problems.length > 40) shown.push(`  - ... and ${problems.length - 40} more`);
  return new UnpairedError("BAD_MANIFEST", `${source}: ${problems.length} problem(s):\n${shown.join("\n")}`);
}

/** Checks a parsed JSON value against the schema and the manifest's own consistency. */
export function parseManifest(value: unknown, source = "manifest"): Manifest {
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    throw problemList(
      source,
      parsed.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`),
    );
  }
  const m = parsed.data;
  const problems: string[] = [];
  const seen = new Map<string, number>();
  (m.subjects ?? []).forEach((s, k) => {
    const where = `subjects.${k} (${s.id})`;
    if (seen.has(s.id)) problems.push(`${where}: duplicate id, also subjects.${seen.get(s.id)}`);
    else seen.set(s.id, k);
    const d = m.domains[s.domain];
    if (!d) problems.push(`${where}: unknown domain "${s.domain}" (the manifest defines ${Object.keys(m.domains).join(", ")})`);
    else if (!d.sites.includes(s.site)) problems.push(`${where}: unknown site "${s.site}" for domain ${s.domain} (its sites: ${d.sites.join(", ")})`);
    if (s.labelUse && !s.label) problems.push(`${where}: labelUse is set but there is no label`);
  });
  (m.discover ?? []).forEach((r, k) => {
    if (!m.domains[r.domain]) problems.push(`discover.${k}: unknown domain "${r.domain}"`);
  });
  if (!("0" in m.labels)) problems.push(`labels: needs an entry for 0 (background)`);
  if (problems.length) throw problemList(source, problems);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Resolving against a data root.

function patternRegex(pattern: string, sites: string[]): RegExp {
  const esc = pattern.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
  const body = esc.replace("{site}", `(?<site>${sites.join("|")})`).replace("{n}", "(?<n>\\d+)");
  return new RegExp(`^${body}$`, "i");
}

function walk(root: string, out: string[] = [], depth = 0): string[] {
  if (depth > 6) return out;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const p = join(root, entry.name);
    if (entry.isDirectory()) walk(p, out, depth + 1);
    else out.push(p);
  }
  return out;
}

function discover(m: Manifest, root: string, problems: string[]): ManifestSubject[] {
  if (!m.discover?.length) return [];
  const files = walk(root).sort();
  const found: ManifestSubject[] = [];
  m.discover.forEach((rule, k) => {
    const domain = m.domains[rule.domain]!;
    const re = patternRegex(rule.image, domain.sites);
    let count = 0;
    for (const file of files) {
      const hit = re.exec(file.split(/[\\/]/).pop()!);
      if (!hit?.groups) continue;
      count++;
      const site = rule.image.includes("{site}") ? hit.groups["site"]!.toLowerCase() : domain.sites[0]!;
      const n = hit.groups["n"]!;
      const fill = (p: string) => p.replace("{site}", hit.groups!["site"] ?? site).replace("{n}", n);
      const base = fill(rule.image).replace(/\.nii(\.gz)?$/i, "");
      const subject: ManifestSubject = { id: base, domain: rule.domain, site, image: relative(root, file), split: rule.split };
      if (rule.label) {
        subject.label = relative(root, join(dirname(file), fill(rule.label)));
        if (rule.labelUse) subject.labelUse = rule.labelUse;
      }
      found.push(subject);
    }
    if (count === 0 && rule.required !== false) {
      problems.push(`discover.${k}: no file under ${root} matches ${rule.image}. Is --data-root the folder you downloaded ${m.id} into?`);
    }
  });
  return found;
}

export interface LoadManifestOptions {
  /** Folder holding the data; overrides the manifest's dataRoot (the CLI's --data-root). */
  dataRoot?: string;
  /** Read every image and label header to check shapes and affines (default true). */
  checkHeaders?: boolean;
}

/** Builds a Dataset from a parsed manifest; `manifestPath` anchors a relative dataRoot. */
export async function resolveManifest(m: Manifest, opts: LoadManifestOptions & { manifestPath?: string } = {}): Promise<Dataset> {
  const source = opts.manifestPath ?? m.id;
  const base = opts.manifestPath ? dirname(resolve(opts.manifestPath)) : process.cwd();
  const rootSetting = opts.dataRoot ?? m.dataRoot;
  if (rootSetting === undefined) {
    throw new UnpairedError("BAD_MANIFEST", `${source}: no data root; pass --data-root DIR (the folder holding the ${m.id} files)`);
  }
  const root = opts.dataRoot !== undefined ? resolve(opts.dataRoot) : resolve(base, rootSetting);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    const hint = m.generator
      ? ` Generate it with: npx unpaired-lab phantom --kind ${m.generator.kind} --seed ${m.generator.seed} --out ${root}`
      : opts.dataRoot === undefined
        ? " Pass --data-root DIR pointing at your download."
        : "";
    throw new UnpairedError("BAD_MANIFEST", `${source}: the data root ${root} is not a folder.${hint}`);
  }
  const problems: string[] = [];
  const listed = [...(m.subjects ?? []), ...discover(m, root, problems)];
  const ids = new Map<string, string>();
  const subjects: Subject[] = [];
  for (const s of listed) {
    const where = `subject ${s.id}`;
    if (ids.has(s.id)) problems.push(`${where}: duplicate id (${s.image} and ${ids.get(s.id)})`);
    ids.set(s.id, s.image);
    const domain = m.domains[s.domain]!;
    const image = isAbsolute(s.image) ? s.image : join(root, s.image);
    const label = s.label === undefined ? undefined : isAbsolute(s.label) ? s.label : join(root, s.label);
    if (!existsSync(image)) problems.push(`${where}: image ${image} is missing`);
    if (label !== undefined && !existsSync(label)) problems.push(`${where}: label ${label} is missing`);
    const labelUse = s.labelUse ?? (label === undefined ? undefined : domain.role === "source" ? "training" : "evaluation");
    subjects.push({ ...s, image, ...(label === undefined ? {} : { label, labelUse }), role: domain.role, modality: domain.modality });
  }
  if (problems.length === 0 && (opts.checkHeaders ?? true)) await checkHeaders(subjects, m.dimensions, problems);
  if (problems.length) throw problemList(source, problems);
  const labels: Record<number, string> = {};
  for (const [k, v] of Object.entries(m.labels)) labels[Number(k)] = v;
  return {
    id: m.id,
    ...(m.description === undefined ? {} : { description: m.description }),
    ...(opts.manifestPath === undefined ? {} : { manifestPath: resolve(opts.manifestPath) }),
    root,
    dimensions: m.dimensions,
    ...(m.spacing === undefined ? {} : { spacing: m.spacing }),
    labels,
    domains: m.domains,
    subjects,
    ...(m.generator === undefined ? {} : { generator: m.generator }),
  };
}

async function checkHeaders(subjects: Subject[], dimensions: 2 | 3, problems: string[]): Promise<void> {
  const header = async (path: string): Promise<NiftiHeader | undefined> => {
    try {
      return await readNiftiHeader(path);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      return undefined;
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < subjects.length) {
      const s = subjects[next++]!;
      const img = await header(s.image);
      const lab = s.label === undefined ? undefined : await header(s.label);
      if (img && img.shape.length !== dimensions) {
        problems.push(`subject ${s.id}: ${s.image} is ${img.shape.length}D ([${img.shape}]) but the manifest says ${dimensions}D`);
      }
      if (img && lab) {
        if (img.shape.join("x") !== lab.shape.join("x")) {
          problems.push(`subject ${s.id}: image shape [${img.shape}] and label shape [${lab.shape}] differ`);
        } else {
          let worst = 0;
          for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(img.affine[r]![c]! - lab.affine[r]![c]!));
          if (worst > 1e-3) problems.push(`subject ${s.id}: image and label affines differ by up to ${worst.toFixed(4)} mm`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Reads, checks and resolves a manifest file: every problem is reported in one error. */
export async function loadManifest(path: string, opts: LoadManifestOptions = {}): Promise<Dataset> {
  if (!existsSync(path)) throw new UnpairedError("FILE_NOT_FOUND", `${path}: no such manifest`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UnpairedError("BAD_MANIFEST", `${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return resolveManifest(parseManifest(value, path), { ...opts, manifestPath: path });
}

/** Writes a manifest (checked against the schema first) atomically, pretty-printed. */
export async function writeManifest(path: string, m: Manifest): Promise<void> {
  parseManifest(m, path);
  await writeFileAtomic(path, `${JSON.stringify(m, null, 2)}\n`);
}

export interface SubjectFilter {
  domain?: string;
  role?: "source" | "target";
  site?: string | string[];
  split?: Split | Split[];
  /** Only subjects whose label methods may train on. */
  trainingLabels?: boolean;
  /** Only subjects with a label of any use (for evaluation). */
  labelled?: boolean;
}

/** The subjects that match every given condition, in manifest order. */
export function selectSubjects(d: Dataset, f: SubjectFilter = {}): Subject[] {
  const asList = <T>(v: T | T[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
  const sites = asList(f.site);
  const splits = asList(f.split);
  return d.subjects.filter(
    (s) =>
      (f.domain === undefined || s.domain === f.domain) &&
      (f.role === undefined || s.role === f.role) &&
      (sites === undefined || sites.includes(s.site)) &&
      (splits === undefined || splits.includes(s.split)) &&
      (!f.trainingLabels || (s.label !== undefined && s.labelUse === "training")) &&
      (!f.labelled || s.label !== undefined),
  );
}

/** The manifest schema as JSON Schema (data-manifests/manifest.schema.json), for editors and other tools. */
export function manifestJsonSchema(): Record<string, unknown> {
  return { ...z.toJSONSchema(manifestSchema), title: "unpaired-lab dataset manifest" } as Record<string, unknown>;
}
