import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { openEmbeddedEventStore } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { createSql, type Sql } from "../../src/adapters/postgres/client.ts";
import { migrations } from "../../src/adapters/postgres/migrations.ts";
import { makePostgresEventStore } from "../../src/adapters/postgres/PostgresEventStore.ts";
import type { EventStore } from "../../src/application/ports/EventStore.ts";
import { databaseUrl } from "../support/postgres.ts";
import { baseEnv, runScript } from "../support/run.ts";
import { storageFor } from "../support/server.ts";

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);

/** Three streams: alice (3 events, the last one the log's newest), bob (2), carol (1). */
const fill = async (store: EventStore["Service"]) => {
  const append = (stream: string, types: string[], expectedVersion = 0) =>
    run(
      store.append(
        stream,
        types.map((type) => ({ type, data: { type, note: "ü" } })),
        { expectedVersion, metadata: { actor: "test" } },
      ),
    );
  await append("user-alice", ["A1", "A2"]);
  await append("user-bob", ["B1", "B2"]);
  await append("user-carol", ["C1"]);
  await append("user-alice", ["A3"], 2);
};

type Tamper = (exec: (statement: string) => Promise<void>) => Promise<void>;

// Each: what is done to a sealed log with SQL, and what verify-log must then say.
const cases: readonly (readonly [string, Tamper, RegExp])[] = [
  [
    "an edited event",
    (exec) =>
      exec(
        `update events set data = '{"type":"A2","note":"x"}' where stream_id = 'user-alice' and version = 2`,
      ),
    /stream user-alice at version 2: its hash does not match/,
  ],
  [
    "a deleted event",
    (exec) => exec("delete from events where stream_id = 'user-alice' and version = 2"),
    /stream user-alice at version 2: version 2 is missing/,
  ],
  [
    "two events swapped",
    async (exec) => {
      await exec("update events set version = -1 where stream_id = 'user-alice' and version = 1");
      await exec("update events set version = 1 where stream_id = 'user-alice' and version = 2");
      await exec("update events set version = 2 where stream_id = 'user-alice' and version = -1");
    },
    /stream user-alice at version 1: its hash does not match/,
  ],
  [
    "a truncated stream",
    (exec) => exec("delete from events where stream_id = 'user-alice' and version = 3"),
    /the tail is missing: event \d+, the newest the seal at position \d+ \(up to \d+\) covers, is gone/,
  ],
  [
    "a truncated stream whose tail is not the log's newest event",
    (exec) => exec("delete from events where stream_id = 'user-bob' and version = 2"),
    /a stream's events at or before position \d+ were removed or changed/,
  ],
  [
    "a deleted stream",
    (exec) => exec("delete from events where stream_id = 'user-carol'"),
    /1 of the 3 streams the seal at position \d+ \(up to \d+\) covers are missing/,
  ],
  [
    "an edited seal",
    (exec) =>
      exec(
        `update events set data = jsonb_set(data, '{streams}', '2') where stream_id = 'log-seals'`,
      ),
    /the seal at position \d+ does not carry our signature/,
  ],
];

const sqliteSql = (statement: string) =>
  statement.replace("jsonb_set(data, '{streams}', '2')", "json_set(data, '$.streams', 2)");

describe("cli verify-log and cli seal on PostgreSQL", () => {
  const storages: ReturnType<typeof storageFor>[] = [];
  afterAll(() => Promise.all(storages.map((storage) => storage.drop())));

  const sealed = async () => {
    const storage = storageFor("verify");
    storages.push(storage);
    const sql = createSql({ url: databaseUrl, schema: storage.schema, max: 2 });
    await sql.unsafe(`create schema ${storage.schema}`);
    await fill(await run(makePostgresEventStore(sql)));
    const cli = (args: string[]) =>
      runScript("src/adapters/cli/cli.ts", args, { env: { ...baseEnv(), ...storage.env } });
    return { sql, cli };
  };

  test("an intact log verifies with exit 0, before and after a seal; a second seal finds nothing new", async () => {
    const { sql, cli } = await sealed();
    try {
      const unsealed = await cli(["verify-log"]);
      expect(unsealed).toMatchObject({ code: 0 });
      expect(unsealed.stdout).toContain("Intact: 6 events in 3 streams; there is no seal yet");
      const seal = await cli(["seal"]);
      expect(seal.code).toBe(0);
      expect(seal.stdout).toMatch(
        /^Sealed at position \d+: 3 streams up to \d+, root [0-9a-f]{64}\n$/,
      );
      expect((await cli(["seal"])).stdout).toMatch(/^Nothing new since the seal at position \d+/);
      const verified = await cli(["verify-log"]);
      expect(verified.code).toBe(0);
      expect(verified.stdout).toMatch(
        /Intact: 7 events in 4 streams; the seal at position \d+ matches/,
      );
    } finally {
      await sql.end();
    }
  });

  for (const [name, tamper, expected] of cases) {
    test(`${name} is found and named, exit 1`, async () => {
      const { sql, cli } = await sealed();
      try {
        expect((await cli(["seal"])).code).toBe(0);
        await tamper(async (statement) => {
          await sql.unsafe(statement);
        });
        const verified = await cli(["verify-log"]);
        expect(verified.stdout).toMatch(expected);
        expect(verified.code).toBe(1);
      } finally {
        await sql.end();
      }
    });
  }

  test("the migration gives the events of an existing log their hashes, in order", async () => {
    const storage = storageFor("upgrade");
    storages.push(storage);
    const sql: Sql = createSql({ url: databaseUrl, schema: storage.schema, max: 1 });
    try {
      await sql.unsafe(`create schema ${storage.schema}`);
      await sql`create table schema_migrations (version int primary key, name text not null, applied_at timestamptz not null default now())`;
      for (const migration of migrations.filter((m) => m.version <= 2)) {
        await sql.unsafe(migration.sql);
        await sql`insert into schema_migrations (version, name) values (${migration.version}, ${migration.name})`;
      }
      await sql`insert into events (stream_id, version, type, data, metadata) values
        ('user-old', 1, 'UserRegistered', '{"userId":"old"}', '{"actor":"x"}'),
        ('user-old', 2, 'RoleChanged', '{"epoch":1}', '{}'),
        ('user-other', 1, 'UserRegistered', '{"userId":"other"}', '{}')`;
      const cli = (args: string[]) =>
        runScript("src/adapters/cli/cli.ts", args, { env: { ...baseEnv(), ...storage.env } });
      const verified = await cli(["verify-log"]);
      expect(verified.stdout).toContain("Intact: 3 events in 2 streams");
      expect(verified.code).toBe(0);
      const [{ missing } = { missing: -1 }] = await sql<{ missing: number }[]>`
        select count(*)::int as missing from events where hash is null`;
      expect(missing).toBe(0);
    } finally {
      await sql.end();
    }
  });
});

describe("cli verify-log and cli seal in embedded mode (SQLite file)", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const sealed = async () => {
    const dir = mkdtempSync(join(tmpdir(), "authlog-verify-"));
    dirs.push(dir);
    const embedded = openEmbeddedEventStore(join(dir, "events.sqlite"));
    await fill(embedded.store);
    embedded.close();
    const cli = (args: string[]) =>
      runScript("src/adapters/cli/cli.ts", args, { env: { ...baseEnv(), DATA_DIR: dir } });
    return { file: join(dir, "events.sqlite"), cli };
  };

  test("an intact log verifies with exit 0 after a seal", async () => {
    const { cli } = await sealed();
    expect((await cli(["seal"])).code).toBe(0);
    const verified = await cli(["verify-log"]);
    expect(verified.stdout).toMatch(
      /Intact: 7 events in 4 streams; the seal at position \d+ matches/,
    );
    expect(verified.code).toBe(0);
  });

  for (const [name, tamper, expected] of cases) {
    test(`${name} is found and named, exit 1`, async () => {
      const { file, cli } = await sealed();
      expect((await cli(["seal"])).code).toBe(0);
      const db = new Database(file);
      await tamper(async (statement) => {
        db.run(sqliteSql(statement));
      });
      db.close();
      const verified = await cli(["verify-log"]);
      expect(verified.stdout).toMatch(expected);
      expect(verified.code).toBe(1);
    });
  }
});
