// Registers the project's own tslab (node_modules/tslab, a devDependency) as the Jupyter kernel
// "tslab" in a Jupyter data folder of your choice, by writing its kernel.json directly: no Python
// packages needed, and nothing outside that folder is touched. The end-to-end notebook test uses
// it with a temporary folder; by hand:
//   npx tsx scripts/notebook-kernel.ts /tmp/unpaired-jupyter
//   export JUPYTER_PATH=/tmp/unpaired-jupyter     # Jupyter now finds the kernel "tslab"
// The kernel runs with the node that wrote it (absolute path), so it does not depend on PATH.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The kernel name notebooks use in metadata.kernelspec.name (what `tslab install` registers too). */
export const KERNEL_NAME = "tslab";
/** metadata.kernelspec of every notebook in notebooks/. */
export const KERNELSPEC = { name: KERNEL_NAME, display_name: "TypeScript", language: "typescript" } as const;

/** The repository root (this file sits in scripts/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface KernelRegistration {
  /** The Jupyter data folder: put it first in JUPYTER_PATH (or use it as JUPYTER_DATA_DIR). */
  dataDir: string;
  /** The kernel.json written. */
  kernelJson: string;
  /** The kernel's argv. */
  argv: string[];
}

/**
 * Writes <dataDir>/kernels/tslab/kernel.json starting node_modules/tslab/bin/tslab with this
 * node. Throws, saying what to run, when the project's tslab is missing.
 */
export function registerTslabKernel(dataDir: string, root = REPO_ROOT): KernelRegistration {
  const bin = join(root, "node_modules", "tslab", "bin", "tslab");
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: tslab is a devDependency of this project; run npm install (or npm ci) in ${root}`);
  }
  const dir = join(resolve(dataDir), "kernels", KERNEL_NAME);
  mkdirSync(dir, { recursive: true });
  // The same argv tslab's own installer writes (config path and {connection_file} as two items),
  // with absolute paths for node and the binary.
  const argv = [process.execPath, bin, "kernel", "--config-path", "{connection_file}"];
  const kernelJson = join(dir, "kernel.json");
  writeFileSync(kernelJson, `${JSON.stringify({ argv, display_name: KERNELSPEC.display_name, language: KERNELSPEC.language }, null, 2)}\n`);
  return { dataDir: resolve(dataDir), kernelJson, argv };
}

/**
 * The environment for Jupyter processes that use only the private data folder: kernels found
 * there first, and the user's own Jupyter data, config and runtime folders left alone.
 */
export function privateJupyterEnv(dataDir: string): Record<string, string> {
  const d = resolve(dataDir);
  return {
    JUPYTER_PATH: d,
    JUPYTER_DATA_DIR: d,
    JUPYTER_CONFIG_DIR: join(d, "config"),
    JUPYTER_RUNTIME_DIR: join(d, "runtime"),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dataDir = process.argv[2];
  if (!dataDir || dataDir.startsWith("-")) {
    console.error("usage: npx tsx scripts/notebook-kernel.ts JUPYTER_DATA_FOLDER\n  writes JUPYTER_DATA_FOLDER/kernels/tslab/kernel.json; then export JUPYTER_PATH=JUPYTER_DATA_FOLDER");
    process.exit(2);
  }
  const r = registerTslabKernel(dataDir);
  console.log(`wrote ${r.kernelJson}\n  argv: ${r.argv.join(" ")}\nuse it with:\n  export JUPYTER_PATH=${r.dataDir}`);
}
