// Regenerates data-manifests/manifest.schema.json from the manifest schema in lib/data/manifest.ts.
import { writeFileSync } from "node:fs";
import { manifestJsonSchema } from "../lib/data/manifest.js";

const path = new URL("../data-manifests/manifest.schema.json", import.meta.url).pathname;
writeFileSync(path, `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path}`);
