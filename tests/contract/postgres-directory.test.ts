import { afterAll } from "bun:test";
import { Effect } from "effect";
import { makePostgresDirectory } from "../../src/adapters/postgres/PostgresDirectory.ts";
import { type TestSchema, testSchema } from "../support/postgres.ts";
import { directoryContract } from "./directoryContract.ts";

const schemas: TestSchema[] = [];
afterAll(async () => {
  await Promise.all(schemas.map((db) => db.drop()));
});

directoryContract("PostgreSQL", async () => {
  const db = await testSchema("directory");
  schemas.push(db);
  return Effect.runPromise(makePostgresDirectory(db.sql));
});
