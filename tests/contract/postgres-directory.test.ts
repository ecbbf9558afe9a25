import { afterAll, expect, test } from "bun:test";
import { Effect, Exit, Scope } from "effect";
import { createSql } from "../../src/adapters/postgres/client.ts";
import { makePostgresDirectory } from "../../src/adapters/postgres/PostgresDirectory.ts";
import type { DirectoryWrite } from "../../src/application/ports/Directory.ts";
import { type TestSchema, testSchema } from "../support/postgres.ts";
import { directoryContract } from "./directoryContract.ts";

const schemas: TestSchema[] = [];
afterAll(async () => {
  await Promise.all(schemas.map((db) => db.drop()));
});

/** Rows in the schema opened last, whatever their generation. */
const stored = async () => {
  const db = schemas[schemas.length - 1];
  if (!db) return 0;
  const [row] = await db.sql<{ rows: number }[]>`
    select (select count(*) from directory_users) + (select count(*) from directory_sessions) as rows`;
  return Number(row?.rows ?? 0);
};

directoryContract(
  "PostgreSQL",
  async () => {
    const db = await testSchema("directory");
    schemas.push(db);
    return Effect.runPromise(makePostgresDirectory(db.sql));
  },
  stored,
);

// A build that writes a row as soon as another write passes it by: later writes then change
// rows in the table, not in memory, and rows are written out of creation order.
directoryContract(
  "PostgreSQL, a build holding one row back",
  async () => {
    const db = await testSchema("directory-unheld");
    schemas.push(db);
    return Effect.runPromise(makePostgresDirectory(db.sql, { writes: 1, rows: 1 }));
  },
  stored,
);

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

test("a build completes while a vacuum holds its tables; the rows it wrote take later changes", async () => {
  const db = await testSchema("directory-vacuum");
  schemas.push(db);
  const directory = await Effect.runPromise(makePostgresDirectory(db.sql, { writes: 1, rows: 1 }));
  const holder = await db.sql.reserve();
  try {
    // The lock a VACUUM or autovacuum takes, held for the whole build.
    await holder`begin`;
    await holder`lock table directory_users, directory_sessions in share update exclusive mode`;
    const session = (id: string, userId: string) =>
      ({
        kind: "session",
        id,
        userId,
        createdAt: 5,
        expiresAt: 9e15,
        ip: null,
        userAgent: null,
      }) as const;
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const build = yield* directory.build;
          yield* build.write([
            { kind: "user", id: "u", username: "u", role: "user", createdAt: 1 },
            session("s1", "u"),
            session("s2", "u"),
          ]);
          yield* build.write([{ kind: "rotate", sessionId: "s1", at: 7, expiresAt: 8e15 }]);
          yield* build.write([{ kind: "endSession", sessionId: "s2" }]);
          yield* build.publish("c1");
        }),
      ),
    );
    await holder`commit`;
    expect(await Effect.runPromise(directory.sessions("u", 10))).toMatchObject([
      { id: "s1", lastUsedAt: 7, expiresAt: 8e15 },
    ]);
  } finally {
    await holder`rollback`.catch(() => undefined);
    holder.release();
  }
});

test("a build holding more rows than a transaction writes lands them all, in creation order", async () => {
  const db = await testSchema("directory-parts");
  schemas.push(db);
  const directory = await Effect.runPromise(makePostgresDirectory(db.sql));
  const ids = Array.from({ length: 30_000 }, (_, i) => `u${i}`);
  await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const build = yield* directory.build;
        yield* build.write([
          ...ids.map(
            (id) => ({ kind: "user", id, username: id, role: "user", createdAt: 1 }) as const,
          ),
          ...ids.slice(0, 15_000).map(
            (id) =>
              ({
                kind: "session",
                id: `s-${id}`,
                userId: id,
                createdAt: 2,
                expiresAt: 9e15,
                ip: null,
                userAgent: null,
              }) as const,
          ),
        ]);
        yield* build.publish("c1");
      }),
    ),
  );
  const [counts] = await db.sql<{ users: number; sessions: number; ordered: boolean }[]>`
    select (select count(*)::int from directory_users) as users,
      (select count(*)::int from directory_sessions) as sessions,
      (select bool_and(seq = substr(id, 2)::int + 1) from directory_users) as ordered`;
  expect(counts).toEqual({ users: 30_000, sessions: 15_000, ordered: true });
});

test("rows an abandoned build wrote, more than one statement deletes, are gone once the next starts", async () => {
  const db = await testSchema("directory-abandoned");
  schemas.push(db);
  const directory = await Effect.runPromise(makePostgresDirectory(db.sql, { writes: 0, rows: 0 }));
  const users = Array.from(
    { length: 45_000 },
    (_, i) =>
      ({ kind: "user", id: `u${i}`, username: `u${i}`, role: "user", createdAt: 1 }) as const,
  );
  const build = (writes: readonly DirectoryWrite[], publish: boolean) =>
    Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const started = yield* directory.build;
          yield* started.write(writes);
          yield* started.write([]);
          if (publish) yield* started.publish("c1");
        }),
      ),
    );
  await build(users, false);
  const count = async () =>
    (await db.sql<{ n: number }[]>`select count(*)::int as n from directory_users`)[0]?.n;
  expect(await count()).toBe(45_000);
  await build(users.slice(0, 1), true);
  expect(await count()).toBe(1);
});
