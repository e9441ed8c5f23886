// Loaded before every test file (npm test: node --import ./test/setup.ts): phantom datasets that
// tests generate go to one folder under the system's temp directory, shared by the test
// processes (phantoms are deterministic, and their writer takes a lock), never into the
// project's data/. UNPAIRED_PHANTOMS set by the caller wins.
import { tmpdir } from "node:os";
import { join } from "node:path";

process.env["UNPAIRED_PHANTOMS"] ??= join(tmpdir(), "unpaired-lab-test-phantoms");
