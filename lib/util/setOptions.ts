// `--set key=value` options, as the CLI's train command and the benchmarks take them: numbers,
// booleans and comma lists are parsed; which names and types a method takes, its config checks.
import { UnpairedError } from "./errors.js";

/** Method options from repeated `--set key=value` values. */
export function setOptions(values: readonly string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of values ?? []) {
    const m = /^([A-Za-z][\w]*)=(.*)$/.exec(v);
    if (!m) throw new UnpairedError("BAD_OPTION", `--set ${v}: expected key=value, e.g. --set lambdaNCE=2`);
    const parse = (x: string): unknown => (x === "true" ? true : x === "false" ? false : x !== "" && Number.isFinite(Number(x)) ? Number(x) : x);
    out[m[1]!] = m[2]!.includes(",") ? m[2]!.split(",").map(parse) : parse(m[2]!);
  }
  return out;
}
