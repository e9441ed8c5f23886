#!/usr/bin/env node
// Builds the torch engine's Node-API addon (native/src -> native/build/unpaired_torch.node)
// against the first libtorch it finds: $LIBTORCH (a folder with include/ and lib/), the torch
// of /usr/bin/python3 or python3 (its include and lib folders), or Debian's libtorch-dev
// (headers in /usr/include, libraries in the multiarch folder). Runs from `npm install`.
//
// It never fails the install: when no libtorch or compiler is there, or the build fails, it
// prints one line saying why and how to get one, records the reason in
// native/build/build-info.json (which `unpaired-lab doctor` reports), and the kit runs on the
// wasm engine. `--strict` exits non-zero instead (for CI and development). UNPAIRED_SKIP_NATIVE=1
// skips the build.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const srcDir = join(root, "native", "src");
const outDir = join(root, "native", "build");
const addon = join(outDir, "unpaired_torch.node");
const infoFile = join(outDir, "build-info.json");
const strict = process.argv.includes("--strict");
const force = process.argv.includes("--force");
const HOWTO = "for the fast engine: apt-get install libtorch-dev g++ (or set LIBTORCH to a libtorch folder), then npm run build:native";

function say(line) {
  process.stderr.write(`unpaired-lab: ${line}\n`);
}

function writeInfo(info) {
  mkdirSync(outDir, { recursive: true });
  const tmp = `${infoFile}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ ...info, builtAt: new Date().toISOString() }, null, 2) + "\n");
  renameSync(tmp, infoFile);
}

function fail(reason) {
  writeInfo({ ok: false, reason, howto: HOWTO });
  say(`torch engine not built: ${reason}; the kit runs on wasm (${HOWTO}).`);
  process.exit(strict ? 1 : 0);
}

/** True when the library exports libstdc++'s new-ABI (std::__cxx11) symbols. */
function usesCxx11Abi(libDir) {
  const lib = join(libDir, "libc10.so");
  try {
    return readFileSync(lib).includes("__cxx11");
  } catch {
    return true;
  }
}

function multiarchLibDir() {
  const r = spawnSync("gcc", ["-print-multiarch"], { encoding: "utf8" });
  const arch = r.status === 0 && r.stdout.trim() ? r.stdout.trim() : `${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu`;
  return `/usr/lib/${arch}`;
}

function hasHeaders(includes) {
  return includes.some((d) => existsSync(join(d, "ATen", "ATen.h")));
}

/** Candidate libtorch installs, in the documented order; each with why it was not taken. */
function findLibtorch() {
  const tried = [];
  const env = process.env["LIBTORCH"];
  if (env) {
    const inc = [join(env, "include"), join(env, "include", "torch", "csrc", "api", "include")];
    const lib = join(env, "lib");
    if (hasHeaders(inc) && existsSync(join(lib, "libtorch.so"))) return { source: `LIBTORCH=${env}`, inc, lib, abi: usesCxx11Abi(lib) ? 1 : 0 };
    tried.push(`LIBTORCH=${env} has no include/ATen/ATen.h and lib/libtorch.so`);
  }
  const probe =
    "import json, torch; from torch.utils import cpp_extension as c; " +
    "print(json.dumps({'inc': c.include_paths(), 'lib': c.library_paths(), 'abi': int(torch._C._GLIBCXX_USE_CXX11_ABI), 'cuda': torch.version.cuda, 'version': torch.__version__}))";
  for (const py of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(py, ["-c", probe], { encoding: "utf8", timeout: 60000 });
    if (r.status !== 0) {
      tried.push(`${py}: no torch`);
      continue;
    }
    let t;
    try {
      t = JSON.parse(r.stdout.trim().split("\n").pop());
    } catch {
      tried.push(`${py}: unreadable torch probe`);
      continue;
    }
    const lib = t.lib.find((d) => existsSync(join(d, "libtorch.so")));
    if (hasHeaders(t.inc) && lib) return { source: `torch ${t.version} of ${py}`, inc: t.inc, lib, abi: t.abi, cuda: t.cuda };
    tried.push(`${py}: torch ${t.version} ships no C++ headers`);
  }
  const deb = multiarchLibDir();
  const debInc = ["/usr/include", "/usr/include/torch/csrc/api/include"];
  if (existsSync("/usr/include/ATen/ATen.h") && existsSync(join(deb, "libtorch.so"))) return { source: "Debian libtorch-dev", inc: debInc, lib: deb, abi: usesCxx11Abi(deb) ? 1 : 0 };
  tried.push("no Debian libtorch-dev (/usr/include/ATen)");
  return { tried };
}

function run(cmd, args) {
  return new Promise((res) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    p.stdout.on("data", (d) => (err += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", (e) => res({ code: -1, err: e.message }));
    p.on("close", (code) => res({ code, err }));
  });
}

function firstError(text) {
  const line = text.split("\n").find((l) => /error/i.test(l)) ?? text.split("\n").find((l) => l.trim()) ?? "";
  return line.trim().slice(0, 300);
}

async function main() {
  if (process.env["UNPAIRED_SKIP_NATIVE"] === "1") fail("skipped (UNPAIRED_SKIP_NATIVE=1)");
  if (process.platform !== "linux") fail(`the addon build supports Linux only (this is ${process.platform})`);
  const napiInc = [join(root, "node_modules", "node-addon-api"), join(root, "node_modules", "node-api-headers", "include")];
  if (!existsSync(join(napiInc[0], "napi.h")) || !existsSync(join(napiInc[1], "node_api.h"))) fail("node-addon-api / node-api-headers are not installed (run npm install)");
  const cxx = process.env["CXX"] || "g++";
  if (spawnSync(cxx, ["--version"]).status !== 0) fail(`no C++ compiler (${cxx}); apt-get install g++`);
  const torch = findLibtorch();
  if (!torch.inc) fail(`no libtorch found (${torch.tried.join("; ")})`);

  const cuda = existsSync(join(torch.lib, "libtorch_cuda.so"));
  const sources = readdirSync(srcDir).filter((f) => f.endsWith(".cc")).sort();
  const flags = [
    "-std=c++17", "-O2", "-fPIC", "-fvisibility=hidden", "-DNAPI_VERSION=8", "-DNAPI_CPP_EXCEPTIONS",
    "-DNODE_ADDON_API_DISABLE_DEPRECATED", `-D_GLIBCXX_USE_CXX11_ABI=${torch.abi}`, "-Wno-deprecated-declarations",
    ...napiInc.map((d) => `-I${d}`), ...torch.inc.map((d) => `-isystem${d}`),
  ];
  const libs = [`-L${torch.lib}`, `-Wl,-rpath,${torch.lib}`, "-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10", ...(cuda ? ["-ltorch_cuda", "-lc10_cuda"] : []), "-Wl,--as-needed", "-ldl"];

  // Rebuild only when the sources, flags or libtorch changed.
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ flags, libs, cxx, node: process.versions.modules }));
  for (const f of sources.concat(readdirSync(srcDir).filter((f) => f.endsWith(".h")).sort())) hash.update(f).update(readFileSync(join(srcDir, f)));
  const digest = hash.digest("hex").slice(0, 16);
  if (!force && existsSync(addon) && existsSync(infoFile)) {
    try {
      const old = JSON.parse(readFileSync(infoFile, "utf8"));
      if (old.ok && old.digest === digest) {
        say(`torch engine up to date (${old.libtorch})`);
        return;
      }
    } catch {
      // rebuild
    }
  }

  const objDir = join(outDir, `obj-${process.pid}`);
  mkdirSync(objDir, { recursive: true });
  const t0 = Date.now();
  say(`building the torch engine against ${torch.source}${cuda ? " (CUDA)" : ""} ...`);
  const jobs = Math.max(1, Math.min(sources.length, availableParallelism()));
  const queue = [...sources];
  const errors = [];
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const r = await run(cxx, [...flags, "-c", join(srcDir, f), "-o", join(objDir, f.replace(/\.cc$/, ".o"))]);
        if (r.code !== 0) errors.push(`${f}: ${firstError(r.err)}`);
      }
    }),
  );
  if (errors.length) {
    rmSync(objDir, { recursive: true, force: true });
    fail(`compiling failed: ${errors[0]}`);
  }
  const tmpAddon = join(outDir, `unpaired_torch.node.tmp-${process.pid}`);
  const link = await run(cxx, ["-shared", "-o", tmpAddon, ...sources.map((f) => join(objDir, f.replace(/\.cc$/, ".o"))), ...libs]);
  rmSync(objDir, { recursive: true, force: true });
  if (link.code !== 0) fail(`linking failed: ${firstError(link.err)}`);
  renameSync(tmpAddon, addon);
  writeInfo({ ok: true, libtorch: torch.source, include: torch.inc, lib: torch.lib, cxx11Abi: torch.abi, cuda, digest, seconds: (Date.now() - t0) / 1000 });
  say(`torch engine built in ${((Date.now() - t0) / 1000).toFixed(0)} s (${torch.source})`);
}

main().catch((e) => fail(`unexpected failure: ${e && e.message ? e.message : e}`));
