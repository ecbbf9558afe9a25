import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { openEmbeddedEventStore } from "../src/adapters/embedded/EmbeddedEventStore.ts";
import { createSql } from "../src/adapters/postgres/client.ts";
import { makePostgresEventStore } from "../src/adapters/postgres/PostgresEventStore.ts";
import type { StreamAppend } from "../src/application/ports/EventStore.ts";
import { baseEnv } from "../tests/support/run.ts";
import { spawnApi } from "../tests/support/server.ts";
import { eachMode, runLine, startDefaultServer } from "./server.ts";

/**
 * `GET /admin/users?q=` through HTTP on a directory of many users, embedded and PostgreSQL: the
 * log is written straight into the store, the API started on it answers once its directory is
 * built, then searches for substrings of 1 to 6 characters, common, rare and absent, run with a
 * few in flight and are timed one by one.
 */
const users = Number(process.env.BENCH_USERS ?? 100_000);
const searches = Number(process.env.BENCH_SEARCHES ?? 3_000);
/** One admin searching, then a few at once. */
const inFlights = (process.env.BENCH_IN_FLIGHT ?? "1,4").split(",").map(Number);
const warmUp = 300;
const limit = 50;
const admin = { username: "bench_root", password: "bench root password 123" };

/** mulberry32: the same names and searches on every run. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const next = random(15);
const pick = <A>(values: readonly A[]) => values[Math.floor(next() * values.length)] as A;

const firsts = "maria,Jonas,li,Aiko,omar,Sven,ines,Kofi,nadia,Pavel,zoe,Ravi,elif,Tomas,yuki,Amara,"
  .concat("lucas,Mei,ivan,Sara,noah,Leila,arjun,Freya,diego,Hana,felix,Ada,kemal,Rosa")
  .split(",");
const lasts =
  "okafor,Berg,nguyen,Sato,haddad,Lind,moreau,Mensah,kowal,Novak,price,Iyer,yilmaz,Ruiz,"
    .concat("tanaka,Diallo,silva,Chen,petrov,Costa,walker,Karimi,rao,Hansen,lopez,Kim,weber,Ng")
    .split(",");
const separators = ["", "_", ".", "-"];
const names = Array.from(
  { length: users },
  (_, i) => `${pick(firsts)}${pick(separators)}${pick(lasts)}${i}`,
);

/** Substrings of real names (short ones common, long ones rarer) and strings found nowhere. */
const queries = (count: number) => {
  const lower = [...names, admin.username].map((name) => name.toLowerCase());
  const matches = (q: string) => {
    let n = 0;
    for (const name of lower) if (name.includes(q)) n++;
    return n;
  };
  return Array.from({ length: count }, () => {
    const length = 1 + Math.floor(next() * 6);
    let q: string;
    if (next() < 0.2) q = Array.from({ length }, () => pick([..."qxzjwv0-._"])).join("");
    else {
      const name = pick(names);
      const at = Math.floor(next() * Math.max(1, name.length - length));
      q = name.slice(at, at + length);
    }
    if (next() < 0.5) q = q.toUpperCase();
    const found = matches(q.toLowerCase());
    const kind = found === 0 ? "none" : found <= limit ? "rare" : "common";
    return { q, found, kind };
  });
};

const warming = queries(warmUp);
const measured = queries(searches);

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

type Timed = { readonly kind: string; readonly length: number; readonly ms: number };

const measure = async (base: string) => {
  const login = await fetch(`${base}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(admin),
  });
  if (!login.ok) throw new Error(`admin login: ${login.status}`);
  const { access_token: token } = (await login.json()) as { access_token: string };
  const search = async (q: string) => {
    const reply = await fetch(`${base}/admin/users?q=${encodeURIComponent(q)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!reply.ok) throw new Error(`q=${q}: ${reply.status} ${await reply.text()}`);
    return ((await reply.json()) as { items: unknown[] }).items.length;
  };
  // The admin is registered as the API starts, after the generated users: the directory
  // holds all of them once it is listed.
  const deadline = Date.now() + 30_000;
  while ((await search(admin.username)) !== 1) {
    if (Date.now() > deadline) throw new Error("the directory never listed the admin");
    await Bun.sleep(100);
  }
  const run = async (list: ReturnType<typeof queries>, inFlight: number) => {
    const timed: Timed[] = [];
    let at = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (at < list.length) {
          const query = list[at++];
          if (!query) break;
          const started = performance.now();
          const items = await search(query.q);
          const ms = performance.now() - started;
          if (items !== Math.min(query.found, limit))
            throw new Error(
              `q=${query.q}: ${items} items, expected ${Math.min(query.found, limit)}`,
            );
          timed.push({ kind: query.kind, length: query.q.length, ms });
        }
      }),
    );
    return timed;
  };
  await run(warming, 4);
  const runs: [number, Timed[]][] = [];
  for (const inFlight of inFlights) runs.push([inFlight, await run(measured, inFlight)]);
  return runs;
};

const summary = (timed: readonly Timed[]) => {
  const sorted = timed.map((t) => t.ms).sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
};

const postgresRun = async () => {
  const server = await startDefaultServer(
    "dirsearch",
    { ADMIN_USERNAME: admin.username, ADMIN_PASSWORD: admin.password },
    {
      readyWithinMs: 300_000,
      prepare: async (storage) => {
        const sql = createSql({ url: storage.env.DATABASE_URL as string, schema: storage.schema });
        try {
          await sql.unsafe(`create schema "${storage.schema}"`);
          await Effect.runPromise(makePostgresEventStore(sql));
          const ids = names.map((_, i) => `0190a0b0-0000-7000-8000-${String(i).padStart(12, "0")}`);
          await sql`
            insert into events (stream_id, version, type, data)
            select 'user-' || p.id, 1, 'UserRegistered', jsonb_build_object('userId', p.id,
              'username', p.username, 'passwordHash', '$argon2id$bench', 'role', 'user')
            from unnest(${ids}::text[], ${names}::text[]) as p(id, username)`;
          await sql`
            insert into claims (key, stream_id)
            select 'username:' || lower(p.username), 'user-' || p.id
            from unnest(${ids}::text[], ${names}::text[]) as p(id, username)`;
          await sql`vacuum analyze events`;
        } finally {
          await sql.end();
        }
      },
    },
  );
  try {
    return await measure(server.base);
  } finally {
    await server.stop();
  }
};

const embeddedRun = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "authlog-dirsearch-"));
  try {
    const opened = openEmbeddedEventStore(join(dataDir, "events.sqlite"));
    try {
      for (let first = 0; first < names.length; first += 1_000) {
        const appends: StreamAppend[] = names.slice(first, first + 1_000).map((username, n) => {
          const userId = `0190a0b0-0000-7000-8000-${String(first + n).padStart(12, "0")}`;
          return {
            streamId: `user-${userId}`,
            expectedVersion: 0,
            claims: [`username:${username.toLowerCase()}`],
            events: [
              {
                type: "UserRegistered",
                data: { userId, username, passwordHash: "$argon2id$bench", role: "user" },
              },
            ],
          };
        });
        await Effect.runPromise(opened.store.appendMany(appends));
      }
    } finally {
      opened.close();
    }
    const api = await spawnApi(
      {
        ...baseEnv(),
        LOG_LEVEL: "info",
        DATA_DIR: dataDir,
        JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
        ADMIN_USERNAME: admin.username,
        ADMIN_PASSWORD: admin.password,
      },
      { quiet: true, readyWithinMs: 300_000 },
    );
    try {
      return await measure(api.base);
    } finally {
      await api.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
};

const results = await eachMode([
  ["embedded (SQLite)", embeddedRun],
  ["PostgreSQL", postgresRun],
]);

const ms = (value: number) => value.toFixed(2);
console.log(
  await runLine(
    `${users} users, ${searches} searches at each concurrency after ${warmUp} to warm up, ` +
      `limit ${limit}`,
  ),
);
console.log(
  "| mode | in flight | searches | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|",
);
for (const [mode, runs] of results) {
  for (const [inFlight, timed] of runs) {
    const row = (label: string, part: readonly Timed[], bold = false) => {
      const s = summary(part);
      const p99 = bold ? `**${ms(s.p99)}**` : ms(s.p99);
      console.log(`| ${label} | ${inFlight} | ${s.n} | ${ms(s.p50)} | ${p99} | ${ms(s.max)} |`);
    };
    row(mode, timed, true);
    for (const kind of ["common", "rare", "none"])
      row(
        `- ${kind}`,
        timed.filter((t) => t.kind === kind),
      );
    row(
      "- 1-2 characters",
      timed.filter((t) => t.length <= 2),
    );
    row(
      "- 3-6 characters",
      timed.filter((t) => t.length >= 3),
    );
  }
}
console.log(`\ntarget: p99 < 50 ms in each mode`);
