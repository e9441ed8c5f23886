// Derived datasets for experiments: a manifest written next to a run that reuses files of an
// opened dataset under new roles, e.g. one toy pair of the lecture (colour-A -> colour-B), the
// Oracle's labelled target images as a labelled "source", or translated source volumes with the
// source labels. Paths are absolute, so the manifest works from anywhere; it is written
// atomically and only when its content changes (the run cache hashes the dataset id, not the file).
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomicSync } from "../../util/atomicWrite.js";
import { UnpairedError } from "../../util/errors.js";
import { parseManifest, type Dataset, type Manifest, type Subject } from "../../data/manifest.js";

export interface DerivedDomain {
  role: "source" | "target";
  modality: string;
  description?: string;
}

export interface DerivedSubject {
  id: string;
  domain: string;
  site: string;
  image: string;
  label?: string;
  labelUse?: "training" | "evaluation";
  trueStyle?: string;
  split: "train" | "val" | "test";
}

export interface DeriveOptions {
  id: string;
  description: string;
  domains: Record<string, DerivedDomain>;
  subjects: DerivedSubject[];
}

/** A manifest (absolute paths) over the files of `base` with new domains and subjects. */
export function derivedManifest(base: Dataset, o: DeriveOptions): Manifest {
  if (!o.subjects.length) throw new UnpairedError("BAD_CONFIG", `derived dataset ${o.id}: no subjects selected from ${base.id}`);
  const domains: Manifest["domains"] = {};
  for (const [name, d] of Object.entries(o.domains)) {
    const sites = [...new Set(o.subjects.filter((s) => s.domain === name).map((s) => s.site))];
    if (!sites.length) throw new UnpairedError("BAD_CONFIG", `derived dataset ${o.id}: domain ${name} has no subjects`);
    domains[name] = { role: d.role, modality: d.modality, sites, ...(d.description ? { description: d.description } : {}) };
  }
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(base.labels)) labels[String(k)] = v;
  return {
    id: o.id,
    description: o.description,
    // Absolute: the subjects' paths are absolute anyway; this only satisfies "every manifest has a root".
    dataRoot: base.root,
    dimensions: base.dimensions,
    ...(base.spacing ? { spacing: base.spacing } : {}),
    labels,
    domains,
    subjects: o.subjects.map((s) => ({ ...s })),
  } as Manifest;
}

/** Subjects of `base` copied as-is into a derived domain (optionally relabelling the label use). */
export function carry(subjects: readonly Subject[], domain: string, opts: { labelUse?: "training" | "evaluation"; split?: "train" | "val" | "test" } = {}): DerivedSubject[] {
  return subjects.map((s) => ({
    id: s.id,
    domain,
    site: s.site,
    image: s.image,
    ...(s.label ? { label: s.label, labelUse: opts.labelUse ?? s.labelUse ?? "evaluation" } : {}),
    ...(s.trueStyle ? { trueStyle: s.trueStyle } : {}),
    split: opts.split ?? s.split,
  }));
}

/** Writes a derived manifest to `path` (checked against the schema; atomically; only if changed). */
export function writeDerivedManifest(path: string, manifest: Manifest): string {
  parseManifest(manifest, path);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  if (existsSync(path) && readFileSync(path, "utf8") === text) return path;
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomicSync(path, text);
  return path;
}
