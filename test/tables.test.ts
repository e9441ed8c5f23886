// Metric tables: summaries checked against plain array arithmetic (NaN/null counted as missing,
// sample sd, numpy-linear quantiles worked by hand), CSV quoting, Markdown and HTML shape, and
// the atomic CSV write.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, quantileSorted, summarise, SUMMARY_COLUMNS, tableFromRows, toCsv, toHtml, toMarkdown, writeCsv, type Row } from "../lib/analysis/tables.js";
import { UnpairedError } from "../lib/util/errors.js";

const close = (a: number, b: number, what: string, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

// Plain-array reference computations.
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sampleSd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};

const rows: Row[] = [
  { case: "c1", method: "NoAdapt", structure: "cochlea", dice: 0.5, assd: 2.0 },
  { case: "c2", method: "NoAdapt", structure: "cochlea", dice: NaN, assd: 1.0 },
  { case: "c3", method: "NoAdapt", structure: "cochlea", dice: 0.7, assd: null },
  { case: "c4", method: "NoAdapt", structure: "cochlea", dice: 0.2, assd: 4.0 },
  { case: "c1", method: "IntraStyler", structure: "cochlea", dice: 0.9, assd: 0.5 },
  { case: "c2", method: "IntraStyler", structure: "cochlea", dice: 0.8, assd: 0.7 },
  { case: "c1", method: "IntraStyler", structure: "VS", dice: 0.6, assd: NaN },
  { case: "c1", method: "NoAdapt", structure: "VS", dice: 0.1, assd: 3.0 },
];

test("quantiles follow numpy's default (linear) definition, worked by hand", () => {
  // numpy.percentile([1, 1, 2, 3, 4, 5, 6, 9], [25, 50, 75]) = [1.75, 3.5, 5.25]:
  // h = 7 q: q=.25 -> h 1.75 -> x[1] + .75 (x[2] - x[1]) = 1 + .75 = 1.75; q=.5 -> h 3.5 -> 3 + .5 = 3.5;
  // q=.75 -> h 5.25 -> x[5] + .25 (x[6] - x[5]) = 5 + .25 = 5.25.
  const s = [1, 1, 2, 3, 4, 5, 6, 9];
  close(quantileSorted(s, 0.25), 1.75, "q1");
  close(quantileSorted(s, 0.5), 3.5, "median");
  close(quantileSorted(s, 0.75), 5.25, "q3");
  // [2, 4, 7, 8, 11, 20]: h = 5 q: q=.25 -> 1.25 -> 4 + .25*3 = 4.75; q=.75 -> 3.75 -> 8 + .75*3 = 10.25.
  const t = [2, 4, 7, 8, 11, 20];
  close(quantileSorted(t, 0.25), 4.75, "q1 even");
  close(quantileSorted(t, 0.5), 7.5, "median even");
  close(quantileSorted(t, 0.75), 10.25, "q3 even");
  assert.equal(quantileSorted(t, 0), 2);
  assert.equal(quantileSorted(t, 1), 20);
  assert.equal(quantileSorted([7], 0.3), 7);
  assert.ok(Number.isNaN(quantileSorted([], 0.5)));
  assert.throws(() => quantileSorted(t, 1.5), UnpairedError);
});

test("describe: NaN/null/undefined are missing; sd is the sample sd; NaN for n < 2", () => {
  const d = describe([3, 1, NaN, 4, 1, 5, null, 9, 2, undefined, 6]);
  const xs = [3, 1, 4, 1, 5, 9, 2, 6];
  assert.equal(d.n, 8);
  assert.equal(d.missing, 3);
  close(d.mean, mean(xs), "mean");
  close(d.sd, sampleSd(xs), "sd");
  close(d.sd, 2.748376143938713, "sd (numpy std ddof=1)");
  close(d.median, 3.5, "median");
  close(d.q1, 1.75, "q1");
  close(d.q3, 5.25, "q3");
  close(d.iqr, 3.5, "iqr");
  assert.equal(d.min, 1);
  assert.equal(d.max, 9);

  const one = describe([0.4, NaN]);
  assert.equal(one.n, 1);
  assert.equal(one.mean, 0.4);
  assert.ok(Number.isNaN(one.sd));
  assert.equal(one.median, 0.4);
  assert.equal(one.iqr, 0);

  const none = describe([NaN, null]);
  assert.equal(none.n, 0);
  assert.equal(none.missing, 2);
  for (const k of ["mean", "sd", "median", "q1", "q3", "iqr", "min", "max"] as const) assert.ok(Number.isNaN(none[k]), k);
});

test("summarise: one row per group and value column, numbers equal plain array computations", () => {
  const t = tableFromRows(rows);
  assert.deepEqual(t.columnNames(), ["case", "method", "structure", "dice", "assd"]);
  const s = summarise(t, { by: ["method", "structure"], values: ["dice", "assd"] });
  assert.deepEqual(s.columnNames(), ["method", "structure", "metric", ...SUMMARY_COLUMNS]);
  const out = s.objects() as Record<string, unknown>[];
  // Groups in order of first appearance, value columns in the order given.
  assert.deepEqual(
    out.map((r) => `${r.method}/${r.structure}/${r.metric}`),
    ["NoAdapt/cochlea/dice", "NoAdapt/cochlea/assd", "IntraStyler/cochlea/dice", "IntraStyler/cochlea/assd", "IntraStyler/VS/dice", "IntraStyler/VS/assd", "NoAdapt/VS/dice", "NoAdapt/VS/assd"],
  );
  for (const r of out) {
    const col = r.metric as string;
    const all = rows.filter((x) => x.method === r.method && x.structure === r.structure).map((x) => x[col] as number | null);
    const present = all.filter((v): v is number => v !== null && !Number.isNaN(v));
    const what = `${r.method}/${r.structure}/${col}`;
    assert.equal(r.n, present.length, `${what} n`);
    assert.equal(r.missing, all.length - present.length, `${what} missing`);
    if (present.length === 0) {
      assert.ok(Number.isNaN(r.mean as number), `${what} mean NaN`);
      continue;
    }
    close(r.mean as number, mean(present), `${what} mean`);
    if (present.length < 2) assert.ok(Number.isNaN(r.sd as number), `${what} sd NaN for n < 2`);
    else close(r.sd as number, sampleSd(present), `${what} sd`);
    close(r.min as number, Math.min(...present), `${what} min`);
    close(r.max as number, Math.max(...present), `${what} max`);
  }
  // NoAdapt/cochlea dice: [0.5, NaN, 0.7, 0.2] -> sorted [0.2, 0.5, 0.7], h = 2q:
  // q1 = x[0] + .5 (x[1] - x[0]) = 0.35, median 0.5, q3 = 0.5 + .5 * 0.2 = 0.6.
  const nd = out[0]!;
  close(nd.q1 as number, 0.35, "q1");
  close(nd.median as number, 0.5, "median");
  close(nd.q3 as number, 0.6, "q3");
  close(nd.iqr as number, 0.25, "iqr");
  assert.equal(nd.missing, 1);
  // NoAdapt/cochlea assd: [2, 1, null, 4] -> n 3, missing 1, mean 7/3.
  assert.equal(out[1]!.missing, 1);
  close(out[1]!.mean as number, 7 / 3, "assd mean");
});

test("summarise: by [] gives one group; plain rows work too; user errors say what to do", () => {
  const s = summarise(rows, { by: [], values: ["dice"] }).objects() as Record<string, unknown>[];
  assert.equal(s.length, 1);
  const dice = rows.map((r) => r.dice as number).filter((v) => !Number.isNaN(v));
  assert.equal(s[0]!.n, dice.length);
  close(s[0]!.mean as number, mean(dice), "overall mean");

  const err = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof UnpairedError && e.code === "BAD_CONFIG" && re.test(e.message));
  err(() => summarise(rows, { by: ["site"], values: ["dice"] }), /by names column "site".*columns: case, method/);
  err(() => summarise(rows, { by: ["method"], values: ["hd95"] }), /values names column "hd95"/);
  err(() => summarise(rows, { by: ["method"], values: [] }), /values is empty/);
  err(() => summarise(rows, { by: ["method"], values: ["structure"] }), /non-numeric value "cochlea"/);
  err(() => summarise([{ metric: "a", v: 1 }], { by: ["metric"], values: ["v"] }), /also a column of the summary/);

  const empty = summarise(tableFromRows([], ["method", "dice"]), { by: ["method"], values: ["dice"] });
  assert.equal(empty.numRows(), 0);
  assert.deepEqual(empty.columnNames(), ["method", "metric", ...SUMMARY_COLUMNS]);
});

test("toCsv quotes commas, quotes, line breaks and edge spaces; missing values are empty fields", () => {
  const csv = toCsv([
    { name: 'he said "hi", then left', note: "line1\nline2", value: 0.1 + 0.2, missing: NaN, empty: "", flag: true },
    { name: " padded", note: "plain", value: -Infinity, missing: null, empty: "x", flag: false },
  ]);
  const lines = csv.split("\n");
  assert.equal(lines[0], "name,note,value,missing,empty,flag");
  assert.equal(csv, 'name,note,value,missing,empty,flag\n"he said ""hi"", then left","line1\nline2",0.30000000000000004,,"",true\n" padded",plain,-Infinity,,x,false\n');
  // A header that needs quoting is quoted too.
  assert.equal(toCsv([{ "a,b": 1 }]), '"a,b"\n1\n');
  // Empty table: the header line only.
  assert.equal(toCsv(tableFromRows([], ["a", "b"])), "a,b\n");
});

test("toMarkdown: header, alignment row, one line per row, digits, escaped pipes", () => {
  const s = summarise(rows, { by: ["method"], values: ["dice"] });
  const md = toMarkdown(s, { digits: 2 });
  const lines = md.trimEnd().split("\n");
  assert.equal(lines.length, 2 + s.numRows());
  assert.equal(lines[0], "| method | metric | n | missing | mean | sd | median | q1 | q3 | iqr | min | max |");
  assert.equal(lines[1], "| :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const l of lines) assert.equal(l.split(" | ").length, 12, l);
  // NoAdapt dice: [0.5, 0.7, 0.2, 0.1] -> n 4, missing 1, mean 0.375 -> "0.38" (toFixed), integers stay whole.
  assert.match(lines[2]!, /^\| NoAdapt \| dice \| 4 \| 1 \| 0\.38 \| /);
  assert.equal(toMarkdown([{ a: "x|y", b: 1.5 }], { digits: 1 }), "| a | b |\n| :--- | ---: |\n| x\\|y | 1.5 |\n");
  // n < 2 shows NaN for sd.
  assert.match(toMarkdown([{ a: "x", sd: NaN, m: 0.25 }]), /\| x \| NaN \| 0\.250 \|/);
  assert.throws(() => toMarkdown(s, { digits: -1 }), UnpairedError);
});

test("toHtml: caption, header cells, one row per table row, escaped text, right-aligned numbers", () => {
  const html = toHtml([{ method: "A<B>", dice: 0.12345 }, { method: "C&D", dice: 1 / 3 }], { digits: 2, caption: "Dice <per> method" });
  assert.match(html, /^<table [^>]*style="[^"]*border-collapse:collapse/);
  assert.match(html, /<caption[^>]*>Dice &lt;per&gt; method<\/caption>/);
  assert.equal((html.match(/<th /g) ?? []).length, 2);
  assert.equal((html.match(/<tr[ >]/g) ?? []).length, 3);
  assert.ok(html.includes(">A&lt;B&gt;</td>"));
  assert.ok(html.includes(">C&amp;D</td>"));
  assert.match(html, /text-align:right[^"]*">0\.12<\/td>/);
  assert.match(html, /">0\.33<\/td>/);
  assert.ok(html.trimEnd().endsWith("</table>"));
  assert.ok(!toHtml([{ a: 1 }]).includes("<caption"));
});

test("writeCsv writes the CSV atomically (no temporary file left) and creates the folder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tables-"));
  try {
    const path = join(dir, "sub", "metrics.csv");
    const t = tableFromRows(rows);
    await writeCsv(path, t);
    assert.equal(readFileSync(path, "utf8"), toCsv(t));
    assert.deepEqual(readdirSync(join(dir, "sub")), ["metrics.csv"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
