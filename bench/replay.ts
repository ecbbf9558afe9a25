import { Effect } from "effect";
import { createSql } from "../src/adapters/postgres/client.ts";
import { makePostgresEventStore } from "../src/adapters/postgres/PostgresEventStore.ts";
import { createRedis } from "../src/adapters/redis/client.ts";
import { makeRedisTokenState } from "../src/adapters/redis/RedisTokenState.ts";
import type { NewEvent } from "../src/application/ports/EventStore.ts";
import type { ProjectionWrite } from "../src/application/ports/TokenState.ts";
import { epochTypes, revocationTypes } from "../src/application/projection.ts";
import { redisUrl, storageFor } from "../tests/support/server.ts";

/**
 * Replay of a generated log into Redis against `redis-benchmark -P 64 -t set` in the same run,
 * and the replay's peak RSS at a quarter of the events and at all of them.
 */
const total = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const perUser = 10;
const storage = storageFor("replay");
const root = `${import.meta.dir}/..`;

/** One user's history: registration, role changes, logout-all, and token revocations. */
const history = (user: number, now: number): NewEvent[] => {
  const userId = `bench-${user}`;
  const events: NewEvent[] = [
    {
      type: "UserRegistered",
      data: { userId, username: `bench_${user}`, passwordHash: "$argon2id$bench", role: "user" },
    },
    { type: "RoleChanged", data: { userId, from: "user", to: "admin", by: "bench", epoch: 1 } },
    { type: "RoleChanged", data: { userId, from: "admin", to: "user", by: "bench", epoch: 2 } },
    { type: "AllSessionsRevoked", data: { userId, epoch: 3, reason: "logout-all" } },
  ];
  for (let i = 0; i < perUser - events.length + i && events.length < perUser; i++) {
    // Half already expired (skipped by replay), half still in force.
    const expiresAt = i % 2 === 0 ? now - 3_600_000 : now + 3_600_000;
    events.push({
      type: "TokenRevoked",
      data: { userId, tokenId: `t-${user}-${i}`, kind: "access", expiresAt, reason: "logout" },
    });
  }
  return events;
};

const generate = async (from: number, to: number) => {
  const sql = createSql({
    url: storage.env.DATABASE_URL as string,
    schema: storage.schema,
    max: 16,
  });
  await sql.unsafe(`create schema if not exists "${storage.schema}"`);
  const store = await Effect.runPromise(makePostgresEventStore(sql));
  const now = Date.now();
  let next = from;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < to) {
        const user = next++;
        await Effect.runPromise(
          store.append(`user-bench-${user}`, history(user, now), { expectedVersion: 0 }),
        );
      }
    }),
  );
  // What autovacuum does to a real log soon after it is written: the replay then reads a log in
  // its steady state, not rows whose first reader still has to set their hint bits.
  await sql.unsafe("vacuum analyze events");
  await sql.end();
};

const replay = async () => {
  const proc = Bun.spawn([process.execPath, "src/adapters/cli/cli.ts", "replay"], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production", ...storage.env },
    stdout: "pipe",
  });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`replay failed:\n${out}`);
  const summary = out.trim().split("\n").at(-1) ?? "";
  const number = (pattern: RegExp) => Number(pattern.exec(summary)?.[1]);
  return {
    summary,
    read: number(/\((\d+) read\)/),
    keys: number(/(\d+) keys written/),
    rate: number(/(\d+) events\/s/),
    rss: number(/peak RSS (\d+) MB/),
  };
};

const seconds = (since: number) => (performance.now() - since) / 1000;

/** The replay's two scans of the log, decoded and handed over, with nothing written. */
const readAlone = async () => {
  const sql = createSql({ url: storage.env.DATABASE_URL as string, schema: storage.schema });
  const store = await Effect.runPromise(makePostgresEventStore(sql));
  const started = performance.now();
  let events = 0;
  const count = (batch: readonly unknown[]) =>
    Effect.sync(() => {
      events += batch.length;
    });
  await Effect.runPromise(store.scan({ types: revocationTypes, liveAt: Date.now() }, count));
  await Effect.runPromise(store.scan({ types: epochTypes, latestPerStream: true }, count));
  const took = seconds(started);
  await sql.end();
  return { events, seconds: took };
};

/** The replay's writes (three revocations in force and an epoch per user) with no log read. */
const writeAlone = async (users: number) => {
  const redis = createRedis({ url: redisUrl, commandTimeoutMs: 30_000 });
  await redis.connect();
  const state = makeRedisTokenState(redis, `${storage.prefix}alone:`, 30_000);
  const until = Date.now() + 3_600_000;
  const started = performance.now();
  let keys = 0;
  for (const kind of ["revocations", "epochs"]) {
    for (let first = 0; first < users; first += 250) {
      const writes: ProjectionWrite[] = [];
      for (let user = first; user < Math.min(users, first + 250); user++) {
        const userId = `bench-${user}`;
        if (kind === "epochs") writes.push({ kind: "epoch", userId, epoch: 3 });
        else
          for (let i = 0; i < 3; i++)
            writes.push({ kind: "revokeToken", userId, tokenId: `t-${i}`, expiresAt: until });
      }
      keys += await Effect.runPromise(state.apply(writes, Date.now()));
    }
  }
  const took = seconds(started);
  redis.destroy();
  return { keys, seconds: took };
};

/** A database of its own, emptied afterwards: the benchmark's keys never meet anybody's. */
const benchmarkDb = "15";

/** SET/s of `redis-benchmark -P 64 -t set`, plus any further arguments. */
const redisBenchmark = async (...extra: string[]) => {
  const command = ["redis-benchmark", "-P", "64", "-t", "set", "-n", "2000000", "-q"];
  const out = await new Response(
    Bun.spawn([...command, "--dbnum", benchmarkDb, ...extra], { stdout: "pipe" }).stdout,
  ).text();
  await Bun.spawn(["redis-cli", "-n", benchmarkDb, "flushdb"], { stdout: "ignore" }).exited;
  return Number(/SET: ([\d.]+) requests per second/.exec(out.replaceAll("\r", "\n"))?.[1]);
};

try {
  const users = Math.ceil(total / perUser);
  const quarter = Math.ceil(users / 4);
  const t0 = performance.now();
  await generate(0, quarter);
  console.log(
    `generated ${quarter * perUser} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const small = await replay();
  console.log(small.summary);
  const t1 = performance.now();
  await generate(quarter, users);
  console.log(
    `generated ${users * perUser} events in ${((performance.now() - t1) / 1000).toFixed(1)} s`,
  );
  const setRate = await redisBenchmark();
  const full = await replay();
  console.log(full.summary);
  const setRateAfter = await redisBenchmark();
  const read = await readAlone();
  const written = await writeAlone(users);
  // The default benchmark overwrites one key; a replay creates a key per revocation in force.
  const newKeys = await redisBenchmark("-r", "100000000");
  const set = (setRate + setRateAfter) / 2;
  console.log("\n| measure | value |\n|---|---|");
  console.log(`| events in the log | ${users * perUser} |`);
  console.log(`| events read (the rest expired or superseded) | ${full.read} |`);
  console.log(`| keys written | ${full.keys} |`);
  console.log(`| replay events/s (events in the log / seconds) | ${full.rate} |`);
  console.log(
    `| redis-benchmark -P 64 -t set, SET/s (mean of before and after) | ${Math.round(set)} |`,
  );
  console.log(`| replay / redis-benchmark | ${(full.rate / set).toFixed(2)}x (target >= 0.5x) |`);
  console.log(`| redis-benchmark -P 64 -t set -r 100000000 (new keys), SET/s | ${newKeys} |`);
  console.log(`| replay / that | ${(full.rate / newKeys).toFixed(2)}x |`);
  console.log(`| replay, seconds | ${((users * perUser) / full.rate).toFixed(2)} |`);
  console.log(
    `| its two scans alone (${read.events} events read and decoded), seconds | ${read.seconds.toFixed(2)} |`,
  );
  console.log(
    `| its writes alone (${written.keys} keys, same batches), seconds | ${written.seconds.toFixed(2)} |`,
  );
  console.log(`| peak RSS at ${quarter * perUser} events | ${small.rss} MB |`);
  console.log(`| peak RSS at ${users * perUser} events | ${full.rss} MB (target < 200 MB, flat) |`);
} finally {
  await storage.drop();
}
