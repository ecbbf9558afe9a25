import { createSql, quoteIdentifier, type Sql } from "../../src/adapters/postgres/client.ts";

export const databaseUrl =
  process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export type TestSchema = {
  /** A small pool whose search_path is the schema. */
  readonly sql: Sql;
  readonly schema: string;
  readonly url: string;
  /** Drops the schema with everything in it and closes the pool. */
  readonly drop: () => Promise<void>;
};

/** A fresh, uniquely named, empty schema no other test file uses. */
export const testSchema = async (
  name: string,
  options: { max?: number } = {},
): Promise<TestSchema> => {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .slice(0, 30);
  const schema = `test_${slug}_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const sql = createSql({ url: databaseUrl, schema, max: options.max ?? 4 });
  await sql.unsafe(`create schema ${quoteIdentifier(schema)}`);
  const drop = async () => {
    await sql.unsafe(`drop schema if exists ${quoteIdentifier(schema)} cascade`);
    await sql.end({ timeout: 5 });
  };
  return { sql, schema, url: databaseUrl, drop };
};
