"""Executes one notebook headlessly with nbclient (used by notebooks.test.ts).

usage: run_notebooks.py NOTEBOOK --out EXECUTED.ipynb --summary SUMMARY.json
                        [--cwd DIR] [--timeout SECONDS] [--kernel NAME]

The kernel inherits this process's environment (the test sets UNPAIRED_PROFILE=smoke,
UNPAIRED_RUNS, UNPAIRED_FIGURES and a private JUPYTER_PATH holding the tslab kernel). Writes the
executed notebook (outputs included, also when a cell failed) and a JSON summary:
  {"notebook", "kernel", "seconds", "cells": [{"index", "seconds"}],
   "error": null | {"cell", "source", "text"}}
and exits 0 whenever it could write the summary; the test decides what fails.

tslab reports a failed cell as an execute_reply with status "error" and no ename/evalue/traceback:
the error text is what the cell wrote to stderr, so that is what the summary carries. An
unhandled promise rejection or uncaught exception inside a cell does not fail the reply (tslab
only logs it), so stderr lines starting with those markers count as errors too.
"""

import argparse
import json
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ASYNC_MARKERS = ("UnhandledPromiseRejection:", "UncaughtException:")


def cell_text(cell):
    """The stderr and error outputs of a cell, joined."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append("%s: %s\n%s" % (out.get("ename"), out.get("evalue"), "\n".join(out.get("traceback", []))))
    return "".join(parts).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--out", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--cwd", default=None)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--kernel", default=None, help="kernel name (default: the notebook's kernelspec)")
    args = ap.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    kernel = args.kernel or nb.metadata.get("kernelspec", {}).get("name")
    cells = []
    started = {}
    failed = {}

    def on_cell_execute(cell, cell_index):
        started[cell_index] = time.monotonic()

    def on_cell_executed(cell, cell_index, execute_reply):
        cells.append({"index": cell_index, "seconds": round(time.monotonic() - started.get(cell_index, time.monotonic()), 3)})

    def on_cell_error(cell, cell_index, execute_reply):
        failed.setdefault("cell", cell_index)

    client = NotebookClient(
        nb,
        timeout=args.timeout,
        startup_timeout=120,
        kernel_name=kernel,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": args.cwd}} if args.cwd else {},
        on_cell_execute=on_cell_execute,
        on_cell_executed=on_cell_executed,
        on_cell_error=on_cell_error,
    )
    error = None
    t0 = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as e:
        idx = failed.get("cell")
        text = cell_text(nb.cells[idx]) if idx is not None else ""
        error = {"cell": idx, "text": text or str(e)}
    except CellTimeoutError as e:
        idx = max(started) if started else None
        error = {"cell": idx, "text": "timed out after %d s: %s" % (args.timeout, e)}
    except DeadKernelError as e:
        idx = max(started) if started else None
        error = {"cell": idx, "text": "the kernel died: %s" % e}
    except Exception as e:  # kernel did not start, bad kernelspec, ...
        error = {"cell": None, "text": "%s: %s" % (type(e).__name__, e)}
    seconds = time.monotonic() - t0

    if error is None:
        for i, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr" and any(m in out.get("text", "") for m in ASYNC_MARKERS):
                    error = {"cell": i, "text": out["text"].strip()}
                    break
            if error:
                break
    if error is not None and error.get("cell") is not None:
        error["source"] = nb.cells[error["cell"]].get("source", "")

    nbformat.write(nb, args.out)
    with open(args.summary, "w") as f:
        json.dump({"notebook": args.notebook, "kernel": kernel, "seconds": round(seconds, 3), "cells": cells, "error": error}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
