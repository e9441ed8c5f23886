// Finds the Python that has the peer packages (Debian's /usr/bin/python3 by default, or
// UNPAIRED_PYTHON) and fails with the command to run when a package is missing: an end-to-end
// test never skips quietly.
import { execFileSync } from "node:child_process";

const DEBIAN: Record<string, string> = {
  nibabel: "python3-nibabel",
  numpy: "python3-numpy",
  scipy: "python3-scipy",
  skimage: "python3-skimage",
  sklearn: "python3-sklearn",
  torch: "python3-torch",
};

export function python(modules: string[]): string {
  const exe = process.env["UNPAIRED_PYTHON"] ?? "/usr/bin/python3";
  try {
    execFileSync(exe, ["-c", modules.map((m) => `import ${m}`).join("; ")], { stdio: "pipe" });
  } catch {
    const pkgs = modules.map((m) => DEBIAN[m] ?? m).join(" ");
    throw new Error(`${exe} cannot import ${modules.join(", ")}. Install them with: sudo apt-get install -y ${pkgs} (or set UNPAIRED_PYTHON to a Python that has them).`);
  }
  return exe;
}
