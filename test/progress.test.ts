// The progress bar: redrawn in place on a terminal (throttled), one line per tenth in a log.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { ProgressBar } from "../lib/util/progress.js";

function sink(tty: boolean): { stream: Writable & { isTTY?: boolean; columns?: number }; text: () => string } {
  let out = "";
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  stream.isTTY = tty;
  stream.columns = 120;
  return { stream, text: () => out };
}

test("in a log: a first line, one per tenth, and a final line with the elapsed time", () => {
  let t = 0;
  const s = sink(false);
  const bar = new ProgressBar("phantom", 40, { stream: s.stream, now: () => t });
  for (let i = 1; i <= 40; i++) {
    t += 250;
    bar.update({ done: i, total: 40, info: `subject ${i}` });
  }
  bar.finish();
  const lines = s.text().trim().split("\n");
  assert.equal(lines.length, 11, lines.join("\n"));
  assert.match(lines[0]!, /^phantom \[#?\.{23,24}\] 1\/40   2% eta 0:10  subject 1$/);
  assert.match(lines[1]!, /^phantom \[#{2}\.{22}\] 4\/40  10% eta 0:09  subject 4$/);
  assert.match(lines.at(-1)!, /^phantom \[#{24}\] 40\/40 100% in 0:10  subject 40$/);
});

test("on a terminal: redrawn in place, at most every interval, always at the end", () => {
  let t = 0;
  const s = sink(true);
  const bar = new ProgressBar("train", 100, { stream: s.stream, now: () => t, interval: 100 });
  for (let i = 1; i <= 100; i++) {
    t += 10;
    bar.update({ done: i, total: 100 });
  }
  bar.finish("loss 0.1");
  const draws = s.text().split("\r").filter(Boolean);
  assert.ok(draws.length >= 10 && draws.length <= 13, `${draws.length} redraws`);
  assert.ok(!s.text().slice(0, -1).includes("\n"), "only the final line ends with a newline");
  assert.match(draws.at(-1)!, /100\/100 100% in 0:01  loss 0\.1\n$/);
});

test("quiet prints nothing", () => {
  const s = sink(false);
  const bar = new ProgressBar("x", 3, { stream: s.stream, quiet: true });
  bar.update({ done: 3, total: 3 });
  bar.finish();
  assert.equal(s.text(), "");
});
