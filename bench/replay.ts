import { Effect } from "effect";
import { createSql } from "../src/adapters/postgres/client.ts";
import { makePostgresEventStore } from "../src/adapters/postgres/PostgresEventStore.ts";
import type { NewEvent } from "../src/application/ports/EventStore.ts";
import { storageFor } from "../tests/support/server.ts";

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
    const expiresAt = i % 2 === 0 ? now - 60_000 : now + 3_600_000;
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
  await sql.end();
};

const replay = async () => {
  const proc = Bun.spawn([process.execPath, "src/adapters/cli/replay.ts"], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production", ...storage.env },
    stdout: "pipe",
  });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`replay failed:\n${out}`);
  const summary = out.trim().split("\n").at(-1) ?? "";
  const rate = Number(/(\d+) events\/s/.exec(summary)?.[1]);
  const rss = Number(/peak RSS (\d+) MB/.exec(summary)?.[1]);
  return { summary, rate, rss };
};

const redisBenchmark = async () => {
  const out = await new Response(
    Bun.spawn(["redis-benchmark", "-P", "64", "-t", "set", "-n", "2000000", "-q"], {
      stdout: "pipe",
    }).stdout,
  ).text();
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
  const set = (setRate + setRateAfter) / 2;
  console.log("\n| measure | value |\n|---|---|");
  console.log(`| events replayed | ${users * perUser} |`);
  console.log(`| replay events/s | ${full.rate} |`);
  console.log(
    `| redis-benchmark -P 64 -t set, SET/s (mean of before and after) | ${Math.round(set)} |`,
  );
  console.log(`| replay / redis-benchmark | ${(full.rate / set).toFixed(2)}x (target >= 0.5x) |`);
  console.log(`| peak RSS at ${quarter * perUser} events | ${small.rss} MB |`);
  console.log(`| peak RSS at ${users * perUser} events | ${full.rss} MB (target < 200 MB, flat) |`);
} finally {
  await storage.drop();
}
