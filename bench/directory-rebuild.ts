import { Effect, Layer } from "effect";
import { createSql, quoteIdentifier } from "../src/adapters/postgres/client.ts";
import { makePostgresDirectory } from "../src/adapters/postgres/PostgresDirectory.ts";
import { makePostgresEventStore } from "../src/adapters/postgres/PostgresEventStore.ts";
import { rebuildDirectory } from "../src/application/DirectoryProjector.ts";
import { directoryFilter, directoryRecords } from "../src/application/directory.ts";
import { Directory, type DirectoryWrite } from "../src/application/ports/Directory.ts";
import { type Checkpoint, EventStore } from "../src/application/ports/EventStore.ts";
import { runLine } from "./server.ts";

/**
 * The directory's rebuild from a log made with SQL (10 events a user: a registration, three
 * sessions started and rotated, one rotated again, one revoked, a token revoked) against a COPY
 * of the rows it ends with into fresh tables with the same indexes, in one run. A user's events
 * are together in the log; with BENCH_SPREAD=1 each user's k-th event comes after every user's
 * (k-1)-th, the farthest apart they can be.
 */
const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const spread = process.env.BENCH_SPREAD === "1";
const schema = `bench_dirrebuild_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
const copies = `${schema}_copy`;
const admin = createSql({ url, max: 1 });
const sql = createSql({ url, schema, max: 4 });
const seconds = (since: number) => (performance.now() - since) / 1000;

/** Reads the whole log a page at a time as the rebuild does, and folds it, writing nothing. */
const readAlone = (store: EventStore["Service"]) =>
  Effect.gen(function* () {
    let checkpoint: Checkpoint = "";
    let writes = 0;
    for (;;) {
      const page = yield* store.readData(checkpoint, 20_000, directoryFilter);
      checkpoint = page.checkpoint;
      if (page.events.length === 0) return writes;
      writes += directoryRecords(page.events).length;
    }
  });

try {
  await admin.unsafe(`create schema ${quoteIdentifier(schema)}`);
  const store = await Effect.runPromise(makePostgresEventStore(sql));
  const directory = await Effect.runPromise(makePostgresDirectory(sql));
  const made = performance.now();
  const now = Date.now();
  await sql`
    insert into events (stream_id, version, type, data, metadata)
    select e.stream_id, e.version, e.type, e.data,
      jsonb_build_object('requestId', '0190a0b0-0000-7000-8000-' || lpad(i::text, 12, '0'),
        'clientIp', '10.0.' || (u % 250) || '.' || (u % 200))
    from generate_series(0, ${events - 1}) as i,
      lateral (select i / 10 as u, i % 10 as k) as n,
      lateral (select 'u-' || u as user_id, 's-' || u || '-' as session) as ids,
      lateral (select
        case when k = 0 or k = 9 then 'user-' || user_id
          else 'session-' || session || (case when k in (1, 4, 8) then 0 when k in (2, 5, 7) then 1 else 2 end)
        end as stream_id,
        case when k = 0 then 1 when k = 9 then 2 when k in (1, 2, 3) then 1 when k = 7 then 3
          when k = 8 then 3 else 2 end as version,
        case when k = 0 then 'UserRegistered' when k in (1, 2, 3) then 'SessionStarted'
          when k in (4, 5, 6, 7) then 'RefreshTokenRotated' when k = 8 then 'SessionRevoked'
          else 'TokenRevoked' end as type,
        case
          when k = 0 then jsonb_build_object('userId', user_id, 'username', 'member_' || u,
            'passwordHash', '$argon2id$v=19$m=19456,t=2,p=1$bench$bench', 'role', 'user')
          when k in (1, 2, 3) then jsonb_build_object('sessionId', session || (k - 1),
            'userId', user_id, 'refreshTokenId', 'r-' || i, 'startedAt', ${now}::bigint - 600000 + k,
            'expiresAt', ${now}::bigint + 86400000, 'epoch', 0, 'ip', '10.0.0.' || (u % 250),
            'userAgent', 'Mozilla/5.0 (X11; Linux x86_64) bench/' || k)
          when k in (4, 5, 6, 7) then jsonb_build_object('sessionId', session ||
              (case when k = 4 then 0 when k = 6 then 2 else 1 end),
            'previousRefreshTokenId', 'r-' || (i - 3), 'nextRefreshTokenId', 'r-' || i,
            'rotatedAt', ${now}::bigint - 300000 + k, 'expiresAt', ${now}::bigint + 86400000 + k)
          when k = 8 then jsonb_build_object('sessionId', session || 0, 'userId', user_id,
            'expiresAt', ${now}::bigint + 86400000, 'reason', 'logout')
          else jsonb_build_object('userId', user_id, 'tokenId', 't-' || u, 'kind', 'access',
            'expiresAt', ${now}::bigint + 900000, 'reason', 'logout')
        end as data) as e
    order by ${spread ? sql`i % 10, i` : sql`i`}`;
  await sql`vacuum analyze events`;
  // Each timed step starts with the dirty pages of the ones before on disk.
  const settle = () => admin`checkpoint`.catch(() => undefined);
  await settle();
  console.log(`made ${events} events in ${seconds(made).toFixed(1)} s`);

  // Time spent waiting for the build's writes and for its publish, of the rebuild's total.
  const spent = { write: 0, publish: 0 };
  const clocked = <A, E>(key: keyof typeof spent, effect: Effect.Effect<A, E>) =>
    Effect.suspend(() => {
      const started = performance.now();
      return Effect.ensuring(
        effect,
        Effect.sync(() => {
          spent[key] += seconds(started);
        }),
      );
    });
  const layer = Layer.mergeAll(
    Layer.succeed(EventStore, store),
    Layer.succeed(Directory, {
      ...directory,
      build: Effect.map(directory.build, (build) => ({
        write: (writes: readonly DirectoryWrite[]) => clocked("write", build.write(writes)),
        publish: (checkpoint: Checkpoint) => clocked("publish", build.publish(checkpoint)),
      })),
    }),
  );
  const rebuildStarted = performance.now();
  const summary = await Effect.runPromise(Effect.provide(rebuildDirectory(), layer));
  const rebuildSeconds = seconds(rebuildStarted);
  const [{ read } = { read: 0 }] = await sql<{ read: number }[]>`
    select count(*)::int as read from events where type = any(${directoryFilter.types})`;
  if (summary.events !== read) throw new Error(`rebuilt from ${summary.events} of ${read} events`);

  await settle();
  const readStarted = performance.now();
  const writes = await Effect.runPromise(readAlone(store));
  const readSeconds = seconds(readStarted);

  // The rows the rebuild ended with, out of PostgreSQL, then timed back in with COPY.
  const columns = {
    directory_users: [
      "generation",
      "id",
      "seq",
      "username",
      "role",
      "disabled",
      "disabled_until",
      "created_at",
      "last_login_at",
    ],
    directory_sessions: [
      "generation",
      "id",
      "user_id",
      "created_at",
      "last_used_at",
      "expires_at",
      "ip",
      "user_agent",
      "ended",
    ],
  };
  await admin.unsafe(`create schema ${quoteIdentifier(copies)}`);
  const rows: Record<string, number> = {};
  const dumps: [string, Buffer][] = [];
  for (const [table, names] of Object.entries(columns)) {
    const chunks: Buffer[] = [];
    const out = await sql
      .unsafe(`copy (select ${names.join(", ")} from ${table}) to stdout`)
      .readable();
    for await (const chunk of out) chunks.push(chunk as Buffer);
    const dump = Buffer.concat(chunks);
    dumps.push([table, dump]);
    rows[table] = dump.toString().split("\n").length - 1;
  }
  // Twice, into fresh tables each time; the faster counts.
  const copyTimes: number[] = [];
  for (const attempt of [1, 2]) {
    for (const [table] of dumps) {
      await admin.unsafe(`drop table if exists ${quoteIdentifier(copies)}.${table}`);
      await admin.unsafe(
        `create table ${quoteIdentifier(copies)}.${table} (like ${quoteIdentifier(schema)}.${table} including all)`,
      );
    }
    await settle();
    const copyStarted = performance.now();
    for (const [table, dump] of dumps) {
      const names = columns[table as keyof typeof columns];
      const into = await admin
        .unsafe(`copy ${quoteIdentifier(copies)}.${table} (${names.join(", ")}) from stdin`)
        .writable();
      await new Promise<void>((resolve, reject) => {
        into.on("error", reject);
        into.on("finish", resolve);
        into.end(dump);
      });
    }
    copyTimes[attempt - 1] = seconds(copyStarted);
  }
  const copySeconds = Math.min(...copyTimes);

  const rebuildRate = events / rebuildSeconds;
  const copyRate = events / copySeconds;
  console.log(await runLine(`${events} events${spread ? " spread apart" : ""}`));
  console.log("| measure | value |\n|---|---:|");
  console.log(
    `| users, sessions the rebuild ends with | ${rows.directory_users}, ${rows.directory_sessions} |`,
  );
  console.log(`| rebuild (rebuildDirectory, in this process), s | ${rebuildSeconds.toFixed(2)} |`);
  console.log(`| rebuild, events/s | ${Math.round(rebuildRate)} |`);
  console.log(
    `| of which waiting on its writes, on its publish, s | ${spent.write.toFixed(2)}, ${spent.publish.toFixed(2)} |`,
  );
  console.log(
    `| its reads alone (readData pages + fold to ${writes} writes), s | ${readSeconds.toFixed(2)} |`,
  );
  console.log(
    `| COPY of the final rows into fresh tables (same indexes), faster of two, s | ${copyTimes.map((t) => t.toFixed(2)).join(", ")} |`,
  );
  console.log(`| COPY, events/s (events in the log / seconds) | ${Math.round(copyRate)} |`);
  console.log(`| rebuild / COPY | **${(rebuildRate / copyRate).toFixed(2)}x** (target >= 0.5x) |`);
} finally {
  await sql.end();
  await admin.unsafe(`drop schema if exists ${quoteIdentifier(schema)} cascade`);
  await admin.unsafe(`drop schema if exists ${quoteIdentifier(copies)} cascade`);
  await admin.end();
}
