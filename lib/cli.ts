#!/usr/bin/env node
// The `unpaired-lab` command line. Each command calls the library; errors a user can cause
// print one line that says what to do, never a stack trace.
import { createRequire } from "node:module";
import { describeEngine, initEngine } from "./engine/index.js";
import { UnpairedError } from "./util/errors.js";

const USAGE = `usage: unpaired-lab <command> [options]

commands:
  doctor        start the tensor engine and report the backend, its threads and the
                kernels the kit replaced (set UNPAIRED_BACKEND=tensorflow|wasm|cpu to force one)
  help          this text

options:
  --version     print the version`;

async function doctor(): Promise<void> {
  const info = await initEngine({ quiet: true });
  console.log(describeEngine(info));
  for (const k of info.replacedKernels) console.log(`  kernel ${k.kernel} (${k.reason} in the backend): ${k.via}`);
  for (const g of info.fixedGradients) console.log(`  gradient ${g}: registered by the kit`);
  console.log(`node ${process.version}, ${process.platform} ${process.arch}`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--version") {
    const pkg = createRequire(import.meta.url)("../package.json") as { version: string };
    console.log(pkg.version);
    return 0;
  }
  if (!command || command === "help" || command === "--help" || command === "-h") {
    console.log(USAGE);
    return 0;
  }
  if (command === "doctor") {
    if (rest.length) throw new UnpairedError("BAD_OPTION", `doctor takes no arguments (got ${rest.join(" ")})`);
    await doctor();
    return 0;
  }
  console.error(`unpaired-lab: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UnpairedError) {
      console.error(`unpaired-lab: error [${e.code}]: ${e.message}`);
      process.exitCode = 1;
    } else {
      throw e;
    }
  },
);
