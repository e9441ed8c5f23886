// Progress for long work: a terminal bar (redrawn in place on a TTY, a line every 10% when
// output goes to a file or CI log), fed by plain progress events that notebooks can also consume.

/** One report from long-running work. */
export interface ProgressEvent {
  done: number;
  total: number;
  /** What was just finished, e.g. a subject id or "loss 0.42". */
  info?: string;
}

export type ProgressListener = (e: ProgressEvent) => void;

export interface ProgressBarOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Print nothing (the bar still counts). */
  quiet?: boolean;
  /** Minimum milliseconds between redraws on a TTY (default 100). */
  interval?: number;
  /** Clock, for tests. */
  now?: () => number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
}

/** A progress bar on stderr; call update() with each event and finish() at the end. */
export class ProgressBar {
  private readonly stream: NonNullable<ProgressBarOptions["stream"]>;
  private readonly tty: boolean;
  private readonly started: number;
  private lastDraw = -Infinity;
  private lastDecile = -1;
  private last: ProgressEvent;
  private finished = false;
  private readonly now: () => number;

  constructor(
    readonly label: string,
    total: number,
    private readonly opts: ProgressBarOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
    this.last = { done: 0, total };
  }

  /** The line the bar shows for an event (without the carriage return). */
  line(e: ProgressEvent, width = 24): string {
    const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 1;
    const filled = Math.round(frac * width);
    const elapsed = (this.now() - this.started) / 1000;
    const rate = e.done > 0 && elapsed > 0 ? e.done / elapsed : 0;
    const eta = rate > 0 ? (e.total - e.done) / rate : Infinity;
    const pct = `${Math.floor(frac * 100)}`.padStart(3);
    const tail = e.done >= e.total ? `in ${clock(elapsed)}` : `eta ${clock(eta)}`;
    return `${this.label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${e.done}/${e.total} ${pct}% ${tail}${e.info ? `  ${e.info}` : ""}`;
  }

  update(e: ProgressEvent): void {
    this.last = e;
    if (this.opts.quiet || this.finished) return;
    if (this.tty) {
      const t = this.now();
      if (t - this.lastDraw < (this.opts.interval ?? 100) && e.done < e.total) return;
      this.lastDraw = t;
      const cols = this.stream.columns ?? 100;
      this.stream.write(`\r${this.line(e).slice(0, cols - 1).padEnd(Math.min(cols - 1, 80))}`);
    } else {
      const decile = e.total > 0 ? Math.floor((10 * e.done) / e.total) : 10;
      if (decile > this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(`${this.line(e)}\n`);
      }
    }
  }

  /** Adapter: a listener that feeds this bar. */
  listener(): ProgressListener {
    return (e) => this.update(e);
  }

  finish(info?: string): void {
    if (this.finished) return;
    const e = { ...this.last, done: this.last.total, ...(info === undefined ? {} : { info }) };
    if (!this.opts.quiet) {
      if (this.tty) this.stream.write(`\r${this.line(e)}\n`);
      else if (this.lastDecile < 10) this.stream.write(`${this.line(e)}\n`);
    }
    this.finished = true;
  }
}
