// Opening a dataset by its manifest path, whatever kind it is: a phantom manifest (with a
// generator section) writes its files on first use, any other is loaded and checked as is.
import { existsSync, readFileSync } from "node:fs";
import { UnpairedError } from "../util/errors.js";
import { loadManifest, type Dataset } from "./manifest.js";
import { loadOrGeneratePhantom } from "./phantoms/write.js";

/** Loads a manifest; phantom manifests (with a generator section) write their files first if missing. */
export async function openDataset(manifest: string, dataRoot?: string): Promise<Dataset> {
  if (!existsSync(manifest)) throw new UnpairedError("FILE_NOT_FOUND", `${manifest}: no such manifest`);
  const raw = JSON.parse(readFileSync(manifest, "utf8")) as { generator?: unknown };
  return raw.generator ? loadOrGeneratePhantom(manifest, dataRoot === undefined ? {} : { dataRoot }) : loadManifest(manifest, dataRoot === undefined ? {} : { dataRoot });
}
