// Entry of `npm run bench -- <name> [options]`: runs one benchmark (or all) against its peer.
import { benchEngine } from "./engine.js";
import { benchMetrics } from "./metrics.js";
import { benchNifti } from "./nifti.js";
import { benchTrain } from "./train.js";
import { benchRealMri } from "./realMri.js";
import { peerMallocOption } from "./peerEnv.js";
import { setOptions } from "../lib/util/setOptions.js";
import { UnpairedError } from "../lib/util/errors.js";

/** The value after `flag` in args, if given. */
const option = (args: string[], flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

/** The options engine and train share: steps, warm-up, backends, threads and the peer's malloc. */
function stepOptions(args: string[]) {
  const backends = option(args, "--backends")?.split(",") as ("torch" | "wasm")[] | undefined;
  const threads = option(args, "--threads")?.split(",").map(Number);
  return {
    steps: num(option(args, "--steps")),
    warmup: num(option(args, "--warmup")),
    ...(backends ? { backends } : {}),
    ...(threads ? { threads } : {}),
    peerMalloc: peerMallocOption(option(args, "--peer-malloc")),
  };
}

const benches: Record<string, (args: string[]) => Promise<void>> = {
  engine: async (args) => {
    const only = num(option(args, "--dims"));
    await benchEngine({ ...stepOptions(args), ...(only === 2 || only === 3 ? { only } : {}) });
  },
  train: async (args) => {
    const only = option(args, "--method");
    await benchTrain({ ...stepOptions(args), ...(only ? { only } : {}) });
  },
  nifti: async (args) => {
    const i = args.indexOf("--reps");
    await benchNifti({ reps: i >= 0 ? Number(args[i + 1]) : undefined });
  },
  "real-mri": async (args) => {
    const sets = args.flatMap((a, i) => (a === "--set" ? [args[i + 1] ?? ""] : []));
    await benchRealMri({ steps: num(option(args, "--steps")), overrides: setOptions(sets) });
  },
  metrics: async (args) => {
    const i = args.indexOf("--reps");
    await benchMetrics({ reps: i >= 0 ? Number(args[i + 1]) : undefined });
  },
};

const [name, ...rest] = process.argv.slice(2);
if (!name || !(name in benches || name === "all")) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join("|")}|all> [--steps N] [--warmup N] [--dims 2|3] [--reps N] [--method M] [--set key=value] [--backends torch,wasm] [--threads 1,2] [--peer-malloc default|cached]`);
  process.exit(name ? 2 : 0);
}
// real-mri trains for minutes and needs mricron-data: by name only.
try {
  for (const [k, run] of Object.entries(benches)) if ((name === "all" && k !== "real-mri") || name === k) await run(rest);
} catch (err) {
  // A mistake in the options (or a missing file) is one line, not a stack trace.
  if (!(err instanceof UnpairedError)) throw err;
  console.error(`bench ${name}: ${err.message}`);
  process.exit(2);
}
