// What every experiment is: a function from a config (profile, seed, data) to results (figures,
// tables, key numbers and a short reading of them). `npm run figures`, the CLI and the notebooks
// all call the same functions; nothing here writes figures (see figures.ts).
import type { Profile } from "../../methods/config.js";
import type { Row } from "../../analysis/tables.js";
import type { Figure } from "../../viz/figure.js";
import type { Bitmap } from "../../viz/png.js";

export interface ExperimentConfig {
  /** smoke: wiring only (about a minute); quick: CPU minutes with visible effects; paper: the papers' sizes. */
  profile: Profile;
  seed: number;
  /** Where trained runs are cached (one folder per method config hash). Default "runs". */
  runsDir: string;
  /** Data root for manifests whose files are not phantoms written on first use. */
  dataRoot?: string;
  /** Phantom data folder override (default: the manifest's own dataRoot, ../data/<id>). */
  phantomRoot?: string;
  /** Progress bars on stderr for training and long stages. */
  progress: boolean;
  /** Live training views in a notebook (tslab); default: when running inside a kernel. */
  liveDisplay?: boolean;
}

export interface NamedFigure {
  /** File stem suffix: "" for the experiment's main figure, else e.g. "true-style". */
  name: string;
  figure: Figure;
  caption?: string;
}

export interface NamedImage {
  name: string;
  image: Bitmap;
  caption?: string;
}

export interface NamedTable {
  name: string;
  rows: Row[];
  caption?: string;
}

export type KeyNumber = number | string | boolean | null;

export interface ExperimentResult {
  name: string;
  title: string;
  profile: Profile;
  seed: number;
  figures: NamedFigure[];
  /** Pictures written as PNG without a browser (image grids). */
  images: NamedImage[];
  tables: NamedTable[];
  /** The numbers a reader checks against the paper's claims (also in figures/manifest.json). */
  numbers: Record<string, KeyNumber>;
  /** A few sentences saying what the result shows, written from the numbers. */
  reading: string;
  /** Run folders this result used (trained or reused). */
  runs: string[];
  seconds: number;
}

export interface Experiment {
  name: string;
  title: string;
  /** What it reproduces or teaches, one line. */
  summary: string;
  /** Run only when named (`figures --only NAME`): a costly extra; a plain `figures` keeps its last files. */
  byNameOnly?: boolean;
  run(cfg: ExperimentConfig): Promise<ExperimentResult>;
}

export const DEFAULT_EXPERIMENT_CONFIG: ExperimentConfig = { profile: "quick", seed: 0, runsDir: "runs", progress: true };

/** Fills the defaults in; a notebook can pass only what it changes. */
export function experimentConfig(partial: Partial<ExperimentConfig> = {}): ExperimentConfig {
  return { ...DEFAULT_EXPERIMENT_CONFIG, ...partial };
}
