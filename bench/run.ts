import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((file) => file.endsWith(".ts") && file !== "run.ts");
// A file another bench imports is a helper, not a bench.
const helpers = new Set(
  files.flatMap((file) =>
    [...readFileSync(join(here, file), "utf8").matchAll(/from "\.\/([\w-]+\.ts)"/g)].map(
      (m) => m[1],
    ),
  ),
);
const available = files
  .filter((file) => !helpers.has(file))
  .map((file) => basename(file, ".ts"))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  if (name) console.error(`unknown bench: ${name}`);
  console.log(`usage: bun run bench <name>\navailable: ${available.join(", ")}`);
  process.exit(name ? 1 : 0);
}
const file = join(here, `${name}.ts`);
process.argv = [process.argv[0] ?? "bun", file, ...args];
await import(file);
