import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { openEmbeddedEventStore } from "../src/adapters/embedded/EmbeddedEventStore.ts";
import { createSql } from "../src/adapters/postgres/client.ts";
import { makePostgresEventStore } from "../src/adapters/postgres/PostgresEventStore.ts";
import type { EventStore } from "../src/application/ports/EventStore.ts";
import { baseEnv } from "../tests/support/run.ts";
import { spawnApi } from "../tests/support/server.ts";
import { eachMode, runLine, startDefaultServer } from "./server.ts";

/**
 * `POST /admin/tokens/inspect` through HTTP, embedded and PostgreSQL, for the access token of a
 * user registered and logged in over HTTP whose streams then get many more events through the
 * store: revocations of long-expired tokens (as in the test of tests/http/explainSuite.ts) and
 * rotations of the token's session.
 * Inspections run one at a time, each must answer valid.
 */
const events = Number(process.env.BENCH_EVENTS ?? 10_000);
const inspections = Number(process.env.BENCH_INSPECTIONS ?? 200);
const warmUp = 20;
const batch = 1_000;
const admin = { username: "bench_root", password: "bench root password 123" };
const user = { username: "bench_inspected", password: "bench inspected password 123" };
// A token that outlives any run, so that every inspection can answer valid.
const tokenEnv = { ACCESS_TOKEN_EXPIRE_MINUTES: "1440" };

const post = async (base: string, path: string, body: unknown, token?: string) => {
  const reply = await fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  if (!reply.ok) throw new Error(`${path}: ${reply.status} ${await reply.text()}`);
  return (await reply.json()) as Record<string, unknown>;
};

const login = async (base: string, who: typeof admin) =>
  (await post(base, "/auth/login", who)).access_token as string;

/** The user's id and access token. */
const signUp = async (base: string) => {
  const id = (await post(base, "/auth/register", user)).id as string;
  return { id, token: await login(base, user) };
};

/** The session id of an access token. */
const sessionOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { sid: string })
    .sid;

/** Appends `events` events made by `make` to `stream`, a batch at a time. */
const append = (
  store: EventStore["Service"],
  stream: string,
  make: (n: number) => { type: string; data: Record<string, unknown> },
) =>
  Effect.gen(function* () {
    let version = (yield* store.readStream(stream)).length;
    for (let first = 0; first < events; first += batch) {
      const made = Array.from({ length: Math.min(batch, events - first) }, (_, i) =>
        make(first + i),
      );
      yield* store.append(stream, made, { expectedVersion: version });
      version += made.length;
    }
  });

/**
 * The user's stream gets revocations of long-expired tokens; the token's session, rotations
 * that keep it alive.
 */
const fill = (store: EventStore["Service"], id: string, token: string) =>
  Effect.gen(function* () {
    yield* append(store, `user-${id}`, (n) => ({
      type: "TokenRevoked",
      data: { userId: id, tokenId: `old-${n}`, kind: "access", expiresAt: 1, reason: "revocation" },
    }));
    const sessionId = sessionOf(token);
    const until = Date.now() + 86_400_000;
    yield* append(store, `session-${sessionId}`, (n) => ({
      type: "RefreshTokenRotated",
      data: {
        sessionId,
        previousRefreshTokenId: `r-${n}`,
        nextRefreshTokenId: `r-${n + 1}`,
        rotatedAt: Date.now(),
        expiresAt: until,
      },
    }));
  });

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

const measure = async (base: string, token: string) => {
  const boss = await login(base, admin);
  const inspect = async () => {
    const started = performance.now();
    const body = await post(base, "/admin/tokens/inspect", { token }, boss);
    const ms = performance.now() - started;
    if (body.valid !== true) throw new Error(`inspected as ${JSON.stringify(body)}`);
    return ms;
  };
  for (let i = 0; i < warmUp; i++) await inspect();
  const timed: number[] = [];
  for (let i = 0; i < inspections; i++) timed.push(await inspect());
  return timed.sort((a, b) => a - b);
};

const postgresRun = async () => {
  const server = await startDefaultServer("inspect", {
    ADMIN_USERNAME: admin.username,
    ADMIN_PASSWORD: admin.password,
    ...tokenEnv,
  });
  try {
    const { id, token } = await signUp(server.base);
    const sql = createSql({ url: server.env.DATABASE_URL as string, schema: server.schema });
    try {
      await Effect.runPromise(
        Effect.flatMap(makePostgresEventStore(sql), (s) => fill(s, id, token)),
      );
    } finally {
      await sql.end();
    }
    return await measure(server.base, token);
  } finally {
    await server.stop();
  }
};

const embeddedRun = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "authlog-inspect-"));
  try {
    const env = {
      ...baseEnv(),
      LOG_LEVEL: "info",
      DATA_DIR: dataDir,
      JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
      ADMIN_USERNAME: admin.username,
      ADMIN_PASSWORD: admin.password,
      ...tokenEnv,
    };
    const start = () => spawnApi(env, { quiet: true });
    let api = await start();
    let signedUp: Awaited<ReturnType<typeof signUp>>;
    try {
      signedUp = await signUp(api.base);
    } finally {
      await api.stop();
    }
    // The API holds the file exclusively: the events go in while it is stopped.
    const opened = openEmbeddedEventStore(join(dataDir, "events.sqlite"));
    try {
      await Effect.runPromise(fill(opened.store, signedUp.id, signedUp.token));
    } finally {
      opened.close();
    }
    api = await start();
    try {
      return await measure(api.base, signedUp.token);
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
    `a user with ${events} more events and a session rotated ${events} times, ` +
      `${inspections} inspections one at a time after ${warmUp} to warm up`,
  ),
);
console.log("| mode | inspections | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|");
for (const [mode, sorted] of results) {
  console.log(
    `| ${mode} | ${sorted.length} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 99))} | ` +
      `${ms(sorted[sorted.length - 1] ?? Number.NaN)} |`,
  );
}
