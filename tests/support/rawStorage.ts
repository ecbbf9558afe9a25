import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createSql, quoteIdentifier } from "../../src/adapters/postgres/client.ts";

/** Every row of every table of `schema`, as text, one string per table. */
export const dumpSchema = async (url: string, schema: string) => {
  const sql = createSql({ url, schema, max: 1 });
  try {
    const tables = await sql<{ name: string }[]>`
      select table_name as name from information_schema.tables where table_schema = ${schema}`;
    const dumped = new Map<string, string>();
    for (const { name } of tables) {
      const rows = await sql.unsafe<{ row: string }[]>(
        `select t::text as row from ${quoteIdentifier(name)} t`,
      );
      dumped.set(name, rows.map((r) => r.row).join("\n"));
    }
    return dumped;
  } finally {
    await sql.end();
  }
};

/** The raw bytes of every file in `dir` (write-ahead logs too), read as latin1 text. */
export const dumpFiles = (dir: string) =>
  new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name)).toString("latin1")]));

/** The names of the dumps (tables or files) that contain any of `needles`. */
export const holding = (dumps: ReadonlyMap<string, string>, needles: readonly string[]) =>
  [...dumps]
    .filter(([, text]) =>
      needles.some((needle) => text.toLowerCase().includes(needle.toLowerCase())),
    )
    .map(([name]) => name)
    .sort();
