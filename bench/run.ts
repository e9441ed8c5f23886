// Entry of `npm run bench -- <name> [options]`: runs one benchmark (or all) against its peer.
import { benchEngine } from "./engine.js";
import { benchMetrics } from "./metrics.js";
import { benchNifti } from "./nifti.js";
import { benchTrain } from "./train.js";
import { peerMallocOption } from "./peerEnv.js";

const benches: Record<string, (args: string[]) => Promise<void>> = {
  engine: async (args) => {
    const get = (flag: string) => {
      const i = args.indexOf(flag);
      return i >= 0 ? Number(args[i + 1]) : undefined;
    };
    const only = get("--dims");
    const list = (flag: string) => {
      const i = args.indexOf(flag);
      return i >= 0 ? args[i + 1]!.split(",") : undefined;
    };
    const backends = list("--backends") as ("torch" | "wasm")[] | undefined;
    const threads = list("--threads")?.map(Number);
    await benchEngine({ steps: get("--steps"), warmup: get("--warmup"), ...(only === 2 || only === 3 ? { only } : {}), ...(backends ? { backends } : {}), ...(threads ? { threads } : {}), peerMalloc: peerMallocOption(list("--peer-malloc")?.[0]) });
  },
  train: async (args) => {
    const get = (flag: string) => {
      const i = args.indexOf(flag);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const n = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    const only = get("--method");
    const backends = get("--backends")?.split(",") as ("torch" | "wasm")[] | undefined;
    const threads = get("--threads")?.split(",").map(Number);
    await benchTrain({ steps: n(get("--steps")), warmup: n(get("--warmup")), ...(only ? { only } : {}), ...(backends ? { backends } : {}), ...(threads ? { threads } : {}), peerMalloc: peerMallocOption(get("--peer-malloc")) });
  },
  nifti: async (args) => {
    const i = args.indexOf("--reps");
    await benchNifti({ reps: i >= 0 ? Number(args[i + 1]) : undefined });
  },
  metrics: async (args) => {
    const i = args.indexOf("--reps");
    await benchMetrics({ reps: i >= 0 ? Number(args[i + 1]) : undefined });
  },
};

const [name, ...rest] = process.argv.slice(2);
if (!name || !(name in benches || name === "all")) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join("|")}|all> [--steps N] [--warmup N] [--dims 2|3] [--reps N] [--method M] [--backends torch,wasm] [--threads 1,2] [--peer-malloc default|cached]`);
  process.exit(name ? 2 : 0);
}
for (const [k, run] of Object.entries(benches)) if (name === "all" || name === k) await run(rest);
