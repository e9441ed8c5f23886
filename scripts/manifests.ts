// Regenerates the files in data-manifests/ that come from code: manifest.schema.json (from the
// zod schema) and one manifest per phantom (default seed and options, data under ../data/<id>).
// `npm test` checks that the committed files match: run `npx tsx scripts/manifests.ts` after
// changing the schema or a phantom's listing.
import { writeFileSync } from "node:fs";
import { manifestJsonSchema } from "../lib/data/manifest.js";
import { PHANTOM_KINDS, shippedPhantomManifest } from "../lib/data/phantoms/write.js";

const dir = new URL("../data-manifests/", import.meta.url).pathname;
writeFileSync(`${dir}manifest.schema.json`, `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
for (const kind of PHANTOM_KINDS) {
  const m = shippedPhantomManifest(kind);
  writeFileSync(`${dir}${m.id}.json`, `${JSON.stringify(m, null, 2)}\n`);
  console.log(`wrote ${dir}${m.id}.json (${m.subjects?.length} subjects)`);
}
