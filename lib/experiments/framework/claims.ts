// The targets a figure is held to: a claim of the paper turned into a number, a threshold and
// a verdict, checked the same way in every figure's reading and in figures/manifest.json
// (key `target.<id>`: true, false, or null when the number could not be measured).
import type { KeyNumber } from "./types.js";

export interface Target {
  /** Short key, e.g. "anatomyKept.NoDiverse" (manifest key target.<id>). */
  id: string;
  /** What is claimed, in words (e.g. "NoDiverse's translations keep the anatomy"). */
  claim: string;
  /** The measured value (null: not measured, e.g. an arm did not run). */
  measured: number | null;
  /** The comparison: measured >= threshold ("at least") or measured <= threshold ("at most"). */
  op: ">=" | "<=";
  threshold: number;
  /** What the number is, for the reading (e.g. "Oracle Dice of the translations vs the source labels"). */
  measure: string;
  /** Digits to print (default 3). */
  digits?: number;
}

/** Whether a target holds (null when its number is missing or not finite). */
export function holds(t: Target): boolean | null {
  if (t.measured === null || !Number.isFinite(t.measured)) return null;
  return t.op === ">=" ? t.measured >= t.threshold : t.measured <= t.threshold;
}

/** The manifest entries of targets: target.<id> -> holds. */
export function targetNumbers(targets: readonly Target[]): Record<string, KeyNumber> {
  return Object.fromEntries(targets.map((t) => [`target.${t.id}`, holds(t)]));
}

const fmt = (v: number, digits: number) => (Math.round(v * 10 ** digits) / 10 ** digits + 0).toFixed(digits);

/** One target in words: "claim: measure 0.612 (target >= 0.6): holds". */
export function targetLine(t: Target): string {
  const d = t.digits ?? 3;
  const h = holds(t);
  const verdict = h === null ? "not measured" : h ? "holds" : "fails";
  return `${t.claim}: ${t.measure} ${t.measured === null ? "n/a" : fmt(t.measured, d)} (target ${t.op} ${fmt(t.threshold, d)}): ${verdict}`;
}

/** The reading's paragraph on targets: how many hold, then each one. */
export function targetsReading(targets: readonly Target[], profile: string): string {
  if (!targets.length) return "";
  const ok = targets.filter((t) => holds(t) === true).length;
  return `Targets at the ${profile} profile (${ok} of ${targets.length} hold): ${targets.map(targetLine).join("; ")}.`;
}
