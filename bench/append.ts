import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { openEmbeddedEventStore } from "../src/adapters/embedded/EmbeddedEventStore.ts";
import { createSql, quoteIdentifier } from "../src/adapters/postgres/client.ts";
import { migrate } from "../src/adapters/postgres/migrations.ts";
import { makePostgresEventStore } from "../src/adapters/postgres/PostgresEventStore.ts";
import type { EventStore } from "../src/application/ports/EventStore.ts";

/**
 * Single-event appends through the PostgreSQL store against a raw postgres.js INSERT of the same
 * rows into an identical table, sequentially and with 64 in flight, in one run.
 */
const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const count = Number(process.env.BENCH_APPENDS ?? 2000);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
// Store and raw alternate, best round kept: other work on the machine hits both alike.
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const inFlight = 64;
const pool = Number(process.env.BENCH_POOL ?? 16);

const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
const storeSchema = `bench_append_${suffix}`;
const rawSchema = `bench_append_raw_${suffix}`;

const row = (i: number) => ({
  streamId: `user-${suffix}-${i}`,
  type: "UserRegistered",
  data: {
    userId: `${suffix}-${i}`,
    username: `user_${i}`,
    passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
    role: "user",
  },
  metadata: { requestId: crypto.randomUUID(), clientIp: "127.0.0.1" },
});

/** Calls `op` with 0, 1, 2, ... from `concurrency` loops until `count` calls or the time is up. */
const measure = async (concurrency: number, op: (i: number) => Promise<unknown>) => {
  let next = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && performance.now() < until) await op(next++);
    }),
  );
  return next / ((performance.now() - start) / 1000);
};

const admin = createSql({ url, max: 1 });
const storeSql = createSql({ url, schema: storeSchema, max: pool });
const rawSql = createSql({ url, schema: rawSchema, max: pool });
const dataDir = mkdtempSync(join(tmpdir(), "authlog-bench-"));
try {
  await admin.unsafe(`create schema ${quoteIdentifier(storeSchema)}`);
  await admin.unsafe(`create schema ${quoteIdentifier(rawSchema)}`);
  const store = await Effect.runPromise(makePostgresEventStore(storeSql));
  await migrate(rawSql);

  let base = 0;
  const viaStore = (target: EventStore["Service"]) => (i: number) => {
    const r = row(base + i);
    return Effect.runPromise(
      target.append(r.streamId, [{ type: r.type, data: r.data }], {
        expectedVersion: 0,
        metadata: r.metadata,
      }),
    );
  };
  const raw = (i: number) => {
    const r = row(base + i);
    return rawSql`insert into events (stream_id, version, type, data, metadata)
                  values (${r.streamId}, 1, ${r.type}, ${rawSql.json(r.data)}, ${rawSql.json(r.metadata)})`;
  };
  const round = async (concurrency: number, op: (i: number) => Promise<unknown>) => {
    const rate = await measure(concurrency, op);
    base += count;
    return rate;
  };

  // Warm up connections and prepared statements on both sides.
  await round(inFlight, viaStore(store));
  await round(inFlight, raw);

  const compare = async (concurrency: number) => {
    let best = { store: 0, raw: 0 };
    for (let i = 0; i < rounds; i++) {
      const rawRate = await round(concurrency, raw);
      const storeRate = await round(concurrency, viaStore(store));
      best = { store: Math.max(best.store, storeRate), raw: Math.max(best.raw, rawRate) };
    }
    return best;
  };
  const results = [
    { mode: "sequential", ...(await compare(1)) },
    { mode: `${inFlight} in flight`, ...(await compare(inFlight)) },
  ];

  const embedded = openEmbeddedEventStore(join(dataDir, "events.sqlite"));
  let embeddedRate = 0;
  for (let i = 0; i < rounds; i++) {
    embeddedRate = Math.max(embeddedRate, await round(1, viaStore(embedded.store)));
  }
  embedded.close();

  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(
    `\nEvent store appends (1 event each, new stream, expected version 0; pool ${pool}; best of ${rounds} rounds of up to ${count} or ${seconds} s)\n`,
  );
  console.log("| mode | PostgresEventStore (appends/s) | raw INSERT (rows/s) | store/raw |");
  console.log("|---|---:|---:|---:|");
  for (const r of results) {
    console.log(
      `| ${r.mode} | ${fmt(r.store)} | ${fmt(r.raw)} | ${(r.store / r.raw).toFixed(2)}x |`,
    );
  }
  console.log(`| embedded SQLite, sequential | ${fmt(embeddedRate)} | - | - |`);
  const concurrent = results[1];
  if (concurrent) {
    const ratio = concurrent.store / concurrent.raw;
    console.log(`\nstore/raw at ${inFlight} in flight: ${ratio.toFixed(2)}x (target >= 0.50x)`);
  }
} finally {
  await admin.unsafe(`drop schema if exists ${quoteIdentifier(storeSchema)} cascade`);
  await admin.unsafe(`drop schema if exists ${quoteIdentifier(rawSchema)} cascade`);
  await Promise.all([admin.end(), storeSql.end(), rawSql.end()]);
  rmSync(dataDir, { recursive: true, force: true });
}
