import { afterAll, beforeAll, expect, test } from "bun:test";
import { Effect, Layer } from "effect";
import { makePostgresDirectory } from "../../src/adapters/postgres/PostgresDirectory.ts";
import { makePostgresEventStore } from "../../src/adapters/postgres/PostgresEventStore.ts";
import { followDirectory, rebuildDirectory } from "../../src/application/DirectoryProjector.ts";
import { Directory } from "../../src/application/ports/Directory.ts";
import { EventStore, type StreamAppend } from "../../src/application/ports/EventStore.ts";
import { verifyDirectory } from "../../src/application/verifyDirectory.ts";
import { type TestSchema, testSchema } from "../support/postgres.ts";

/** The projector reads the log 2,000 events a page. */
const page = 2_000;

const registrations = (from: number, count: number): StreamAppend[] =>
  Array.from({ length: count }, (_, i) => {
    const userId = `u${from + i}`;
    return {
      streamId: `user-${userId}`,
      expectedVersion: 0,
      events: [
        {
          type: "UserRegistered",
          data: { userId, username: `paged_${from + i}`, passwordHash: "x", role: "user" },
        },
      ],
    };
  });

let db: TestSchema;
let layer: Layer.Layer<EventStore | Directory>;
beforeAll(async () => {
  db = await testSchema("directory-projector");
  const [store, directory] = await Effect.runPromise(
    Effect.all([makePostgresEventStore(db.sql), makePostgresDirectory(db.sql)]),
  );
  layer = Layer.mergeAll(Layer.succeed(EventStore, store), Layer.succeed(Directory, directory));
});
afterAll(() => db.drop());

const run = <A, E>(effect: Effect.Effect<A, E, EventStore | Directory>) =>
  Effect.runPromise(Effect.provide(effect, layer));

const named = (username: string) =>
  run(
    Effect.gen(function* () {
      const page = yield* (yield* Directory).users({ q: username, limit: 10 }, Date.now());
      return page.items.map((user) => user.username);
    }),
  );

const append = (appends: StreamAppend[]) =>
  run(
    Effect.gen(function* () {
      return yield* (yield* EventStore).appendMany(appends);
    }),
  );

test("a rebuild whose log ends on a full page goes on to later events", async () => {
  await append(registrations(0, page));
  await run(rebuildDirectory());
  await append(registrations(page, 1));
  await run(followDirectory);
  expect(await named(`paged_${page}`)).toEqual([`paged_${page}`]);
});

test("a catch-up that ends on a full page goes on to later events", async () => {
  await append(registrations(page + 1, page));
  await run(followDirectory);
  await append(registrations(2 * page + 1, 1));
  await run(followDirectory);
  expect(await named(`paged_${2 * page + 1}`)).toEqual([`paged_${2 * page + 1}`]);
});

test("verify folds epoch ends and erasures as the directory does, and finds a row changed behind it", async () => {
  const later = Date.now() + 3_600_000;
  const started = (sessionId: string, userId: string): StreamAppend => ({
    streamId: `session-${sessionId}`,
    expectedVersion: 0,
    events: [
      {
        type: "SessionStarted",
        data: {
          sessionId,
          userId,
          refreshTokenId: `r-${sessionId}`,
          startedAt: 1,
          expiresAt: later,
          epoch: 0,
        },
      },
    ],
  });
  await append([...registrations(900_000, 2), started("v1", "u900000"), started("v2", "u900000")]);
  await append([
    {
      streamId: "user-u900000",
      expectedVersion: 1,
      events: [
        { type: "RoleChanged", data: { userId: "u900000", from: "user", to: "admin", epoch: 1 } },
      ],
    },
    started("v4", "u900001"),
  ]);
  await append([
    started("v3", "u900000"),
    {
      streamId: "user-u900001",
      expectedVersion: 1,
      events: [{ type: "UserErased", data: { userId: "u900001", epoch: 1 } }],
    },
  ]);
  await run(rebuildDirectory());
  expect((await run(verifyDirectory)).differences).toEqual([]);
  await db.sql`update directory_sessions set ended = false where id = 'v1'`;
  const { differences } = await run(verifyDirectory);
  expect(differences).toMatchObject([
    { userId: "u900000", expected: { sessions: 1 }, actual: { sessions: 2 } },
  ]);
  await run(rebuildDirectory());
});
