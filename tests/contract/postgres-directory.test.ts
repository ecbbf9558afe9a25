import { afterAll, expect, test } from "bun:test";
import { Effect, Exit, Scope } from "effect";
import { createSql } from "../../src/adapters/postgres/client.ts";
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

// A build that writes a row as soon as another write passes it by: later writes then change
// rows in the table, not in memory, and rows are written out of creation order.
directoryContract("PostgreSQL, a build holding one row back", async () => {
  const db = await testSchema("directory-unheld");
  schemas.push(db);
  return Effect.runPromise(makePostgresDirectory(db.sql, { writes: 1, rows: 1 }));
});

test("two instances on one schema: a second rebuild is refused while the first runs, then allowed", async () => {
  const db = await testSchema("directory-lock");
  schemas.push(db);
  const other = createSql({ url: db.url, schema: db.schema, max: 2 });
  try {
    const [a, b] = await Effect.runPromise(
      Effect.all([makePostgresDirectory(db.sql), makePostgresDirectory(other)]),
    );
    const scope = await Effect.runPromise(Scope.make());
    await Effect.runPromise(Scope.provide(a.build, scope));
    const refused = await Effect.runPromise(Effect.flip(Effect.scoped(b.build)));
    expect(refused._tag).toBe("DirectoryRebuilding");
    await Effect.runPromise(Scope.close(scope, Exit.void));
    const allowed = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(b.build, (build) => build.publish("c1"))),
    );
    expect(allowed).toBeUndefined();
    expect(await Effect.runPromise(a.checkpoint)).toBe("c1");
  } finally {
    await other.end({ timeout: 5 });
  }
});
