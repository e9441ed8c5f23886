// Metric tables for the studies: per-case rows (case, method, structure, dice, assd, ...) held in
// an arquero table, group summaries (n, missing, mean, sd, median, quartiles, range) and the
// table written out as CSV (atomically), Markdown or a small styled HTML table for notebooks.
import { from, op, table as columnTable } from "arquero";
import type { ColumnTable } from "arquero";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { UnpairedError } from "../util/errors.js";

export type { ColumnTable };

/** One cell of a metric row. null, undefined and NaN all mean "missing". */
export type Cell = string | number | boolean | null | undefined;

/** One row of a metric table, e.g. {case: "etz_3", method: "IntraStyler", structure: "cochlea", dice: 0.81, assd: 0.3}. */
export type Row = Readonly<Record<string, Cell>>;

/** What the writers and summarise accept: an arquero table, or plain rows. */
export type TableLike = ColumnTable | readonly Row[];

/** The statistics summarise reports for one group and value column. */
export interface SummaryStats {
  /** Non-missing values (±Infinity counts as a value). */
  n: number;
  /** Missing values: null, undefined or NaN. */
  missing: number;
  mean: number;
  /** Sample standard deviation (divides by n - 1); NaN for n < 2. */
  sd: number;
  median: number;
  /** 25th percentile, numpy's default ("linear") definition. */
  q1: number;
  /** 75th percentile, numpy's default ("linear") definition. */
  q3: number;
  /** q3 - q1. */
  iqr: number;
  min: number;
  max: number;
}

/** The statistic columns of summarise's output, in order. */
export const SUMMARY_COLUMNS = ["n", "missing", "mean", "sd", "median", "q1", "q3", "iqr", "min", "max"] as const;

/** The column of summarise's output that names the value column a row summarises. */
export const METRIC_COLUMN = "metric";

const isMissing = (v: unknown): boolean => v === null || v === undefined || (typeof v === "number" && Number.isNaN(v));

/**
 * An arquero table from plain rows. Columns are the union of the rows' keys in first-seen
 * order (a row without a key gets undefined there), or `columns` when given (which also names
 * the columns of an empty table).
 */
export function tableFromRows(rows: readonly Row[], columns?: readonly string[]): ColumnTable {
  let names: string[];
  if (columns) {
    names = [...columns];
  } else {
    const seen = new Set<string>();
    for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
    names = [...seen];
  }
  if (rows.length === 0) return columnTable(Object.fromEntries(names.map((n) => [n, [] as Cell[]])), names);
  return from(rows as Row[], names);
}

function asTable(t: TableLike): ColumnTable {
  return Array.isArray(t) ? tableFromRows(t as readonly Row[]) : (t as ColumnTable);
}

/**
 * The q-th quantile (0 <= q <= 1) of values already sorted ascending, by numpy's default
 * definition (method "linear", Hyndman & Fan type 7): h = (n - 1) q, result =
 * x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]), with numpy's way of interpolating
 * (from the upper neighbour when the fraction is >= 0.5). NaN for an empty list.
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new UnpairedError("BAD_CONFIG", `quantile: q must lie in [0, 1], got ${q}`);
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const t = h - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  if (t === 0 || a === b) return a;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * Summary statistics of a list of numbers; null, undefined and NaN are counted as missing and
 * left out. An empty (or all-missing) list gives n = 0 and NaN for every statistic.
 */
export function describe(values: Iterable<number | null | undefined>): SummaryStats {
  const xs: number[] = [];
  let missing = 0;
  for (const v of values) {
    if (isMissing(v)) missing++;
    else xs.push(v as number);
  }
  return describeFinite(xs, missing);
}

function describeFinite(xs: number[], missing: number): SummaryStats {
  const n = xs.length;
  if (n === 0) return { n, missing, mean: NaN, sd: NaN, median: NaN, q1: NaN, q3: NaN, iqr: NaN, min: NaN, max: NaN };
  const sorted = [...xs].sort((p, q) => p - q);
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / n;
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  const sd = n < 2 ? NaN : Math.sqrt(ss / (n - 1));
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  return { n, missing, mean, sd, median: quantileSorted(sorted, 0.5), q1, q3, iqr: q3 - q1, min: sorted[0]!, max: sorted[n - 1]! };
}

export interface SummariseOptions {
  /** Columns to group by (e.g. ["method", "structure"]); [] summarises the whole table. */
  by: readonly string[];
  /** Numeric columns to summarise (e.g. ["dice", "assd"]). */
  values: readonly string[];
}

function checkColumns(what: string, option: string, names: readonly string[], have: readonly string[]): void {
  for (const c of names) {
    if (!have.includes(c)) {
      throw new UnpairedError("BAD_CONFIG", `${what}: ${option} names column "${c}", which the table lacks (columns: ${have.join(", ") || "none"}); use one of those`);
    }
  }
}

/**
 * One row per group (of `by`) and value column: the `by` columns, `metric` (the value column's
 * name), then n, missing, mean, sd, median, q1, q3, iqr, min, max (see SummaryStats: sample sd,
 * numpy-linear quantiles, NaN/null counted as missing). Groups come in order of first
 * appearance, value columns in the order given.
 */
export function summarise(input: TableLike, opts: SummariseOptions): ColumnTable {
  const t = asTable(input);
  const have = t.columnNames();
  if (opts.values.length === 0) throw new UnpairedError("BAD_CONFIG", "summarise: values is empty; name the numeric columns to summarise, e.g. values: [\"dice\"]");
  checkColumns("summarise", "by", opts.by, have);
  checkColumns("summarise", "values", opts.values, have);
  const clash = opts.by.find((c) => c === METRIC_COLUMN || (SUMMARY_COLUMNS as readonly string[]).includes(c));
  if (clash !== undefined) {
    throw new UnpairedError("BAD_CONFIG", `summarise: by names column "${clash}", which is also a column of the summary; rename that column first (table.rename({${clash}: "..."}))`);
  }
  const overlap = opts.values.find((v) => opts.by.includes(v));
  if (overlap !== undefined) throw new UnpairedError("BAD_CONFIG", `summarise: column "${overlap}" is both in by and in values; name it in one of them`);

  const aggs: Record<string, unknown> = {};
  opts.values.forEach((v, i) => {
    aggs[`__values${i}`] = op.array_agg(v);
    aggs[`__missing${i}`] = op.invalid(v);
  });
  const grouped = opts.by.length > 0 ? t.groupby(...opts.by) : t;
  // An empty table has no groups (arquero would still give one all-empty row without groupby).
  const rolled = t.numRows() === 0 ? [] : (grouped.rollup(aggs as Parameters<ColumnTable["rollup"]>[0]).objects() as Record<string, unknown>[]);

  const names = [...opts.by, METRIC_COLUMN, ...SUMMARY_COLUMNS];
  const out: Record<string, Cell>[] = [];
  for (const g of rolled) {
    opts.values.forEach((v, i) => {
      const vals = g[`__values${i}`] as unknown[];
      for (const x of vals) {
        if (typeof x !== "number") {
          const where = opts.by.map((c) => `${c}=${String(g[c])}`).join(", ");
          throw new UnpairedError(
            "BAD_CONFIG",
            `summarise: column "${v}" holds a non-numeric value ${JSON.stringify(x)}${where ? ` (group ${where})` : ""}; values must be numbers, with null or NaN for missing ones`,
          );
        }
      }
      const stats = describeFinite(vals as number[], g[`__missing${i}`] as number);
      const row: Record<string, Cell> = {};
      for (const c of opts.by) row[c] = g[c] as Cell;
      row[METRIC_COLUMN] = v;
      for (const s of SUMMARY_COLUMNS) row[s] = stats[s];
      out.push(row);
    });
  }
  return tableFromRows(out, names);
}

// ---------------------------------------------------------------- writing

function columnsAndRows(t: ColumnTable): { names: string[]; rows: Record<string, unknown>[] } {
  return { names: t.columnNames(), rows: t.objects() as Record<string, unknown>[] };
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  let s: string;
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "";
    s = String(v);
  } else if (typeof v === "string") {
    if (v === "") return '""';
    s = v;
  } else if (v instanceof Date) {
    s = v.toISOString();
  } else if (typeof v === "object") {
    s = JSON.stringify(v);
  } else {
    s = String(v);
  }
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The table as CSV (RFC 4180): a header line, then one line per row, "\n" line ends. Fields
 * holding a comma, a double quote, a line break or leading/trailing space are quoted, with
 * quotes doubled; missing values (null, undefined, NaN) are empty fields, an empty string is
 * "" (quoted), numbers are written in full precision (±Infinity as "Infinity").
 */
export function toCsv(input: TableLike): string {
  const { names, rows } = columnsAndRows(asTable(input));
  const lines = [names.map(csvField).join(",")];
  for (const r of rows) lines.push(names.map((c) => csvField(r[c])).join(","));
  return lines.join("\n") + "\n";
}

/** Writes the table's CSV (toCsv) to `path` atomically (a reader never sees half a file), creating the folder. */
export async function writeCsv(path: string, input: TableLike): Promise<void> {
  await writeFileAtomic(path, toCsv(input));
}

export interface FormatOptions {
  /** Decimal places for non-integer numbers (default 3); columns of whole numbers are written whole. */
  digits?: number;
}

export interface HtmlTableOptions extends FormatOptions {
  /** Caption above the table. */
  caption?: string;
}

function checkDigits(what: string, digits: number): void {
  if (!(Number.isInteger(digits) && digits >= 0 && digits <= 15)) {
    throw new UnpairedError("BAD_CONFIG", `${what}: digits must be a whole number from 0 to 15, got ${digits}`);
  }
}

interface Formatted {
  names: string[];
  numeric: boolean[];
  cells: string[][];
}

/** Numbers to text, per column: a column whose finite numbers are all whole is written whole, else with `digits` decimals. */
function formatTable(t: ColumnTable, digits: number): Formatted {
  const { names, rows } = columnsAndRows(t);
  const numeric = names.map((c) => rows.some((r) => typeof r[c] === "number") && rows.every((r) => typeof r[c] === "number" || isMissing(r[c])));
  const whole = names.map((c) => rows.every((r) => typeof r[c] !== "number" || !Number.isFinite(r[c]) || Number.isInteger(r[c])));
  const fmt = (v: unknown, j: number): string => {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") {
      if (Number.isNaN(v)) return "NaN";
      if (!Number.isFinite(v)) return v > 0 ? "Inf" : "-Inf";
      if (whole[j]) return String(v);
      if (v !== 0 && Math.abs(v) < 0.5 * 10 ** -digits) return v.toExponential(Math.max(0, digits - 1));
      return v.toFixed(digits);
    }
    if (v instanceof Date) return v.toISOString();
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  };
  return { names, numeric, cells: rows.map((r) => names.map((c, j) => fmt(r[c], j))) };
}

/**
 * The table as GitHub-flavoured Markdown: numeric columns right-aligned, numbers with `digits`
 * decimals (default 3), NaN as "NaN", missing as an empty cell; "|" in text is escaped.
 */
export function toMarkdown(input: TableLike, opts: FormatOptions = {}): string {
  const digits = opts.digits ?? 3;
  checkDigits("toMarkdown", digits);
  const f = formatTable(asTable(input), digits);
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const out = [line(f.names.map(esc)), line(f.numeric.map((n) => (n ? "---:" : ":---")))];
  for (const r of f.cells) out.push(line(r.map(esc)));
  return out.join("\n") + "\n";
}

/**
 * The table as aligned plain text (two spaces between columns, numeric columns right-aligned,
 * a dashed rule under the header): the text/plain form notebooks fall back to.
 */
export function toText(input: TableLike, opts: FormatOptions = {}): string {
  const digits = opts.digits ?? 3;
  checkDigits("toText", digits);
  const f = formatTable(asTable(input), digits);
  const flat = (s: string) => s.replace(/\r?\n/g, " ");
  const widths = f.names.map((n, j) => Math.max(n.length, ...f.cells.map((r) => flat(r[j]!).length)));
  const pad = (s: string, j: number) => (f.numeric[j] ? flat(s).padStart(widths[j]!) : flat(s).padEnd(widths[j]!));
  const line = (cells: string[]) => cells.map(pad).join("  ").trimEnd();
  return [line(f.names), widths.map((w) => "-".repeat(w)).join("  "), ...f.cells.map(line)].join("\n") + "\n";
}

const escHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * The table as a small self-contained HTML table (inline styles only, so it survives notebook
 * sanitisers): optional caption, a header row, striped body rows, numeric columns right-aligned.
 */
export function toHtml(input: TableLike, opts: HtmlTableOptions = {}): string {
  const digits = opts.digits ?? 3;
  checkDigits("toHtml", digits);
  const f = formatTable(asTable(input), digits);
  const cellStyle = (numeric: boolean) => `padding:3px 10px;text-align:${numeric ? "right" : "left"}${numeric ? ";font-variant-numeric:tabular-nums" : ""}`;
  const head = f.names.map((n, j) => `<th style="${cellStyle(f.numeric[j]!)};border-bottom:2px solid #444;font-weight:600">${escHtml(n)}</th>`).join("");
  const body = f.cells
    .map((r, i) => `<tr${i % 2 === 1 ? ' style="background:#f4f6fa"' : ""}>${r.map((c, j) => `<td style="${cellStyle(f.numeric[j]!)}">${escHtml(c)}</td>`).join("")}</tr>`)
    .join("\n");
  const caption = opts.caption === undefined ? "" : `<caption style="caption-side:top;text-align:left;font-weight:600;padding:4px 0">${escHtml(opts.caption)}</caption>\n`;
  return (
    `<table class="unpaired-lab-table" style="border-collapse:collapse;font-family:Arial,Helvetica,sans-serif;font-size:13px;border-bottom:1px solid #444">\n` +
    caption +
    `<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>\n`
  );
}
