import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { client } from "../support/app.ts";
import { eventually } from "../support/net.ts";
import { throwawayPostgres } from "../support/postgresServer.ts";
import { dropKeys, redisUrl } from "../support/redis.ts";
import { spawnApi } from "../support/server.ts";

/** The log is the source of truth for writes; token checks only need the projection. */
const prefix = `srv:outage_${crypto.randomUUID().slice(0, 8)}:`;

describe("PostgreSQL outages", () => {
  let pg: Awaited<ReturnType<typeof throwawayPostgres>>;
  let server: Awaited<ReturnType<typeof spawnApi>>;
  let api: ReturnType<typeof client>;

  // Its own process: what the pool does when the server goes away is the service's, not the test's.
  beforeAll(async () => {
    pg = await throwawayPostgres();
    server = await spawnApi(
      {
        DATABASE_URL: pg.url,
        DATABASE_SCHEMA: "outage",
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
      },
      { quiet: true },
    );
    api = client({
      handle: (request) => {
        const url = new URL(request.url);
        return fetch(new Request(`${server.base}${url.pathname}${url.search}`, request));
      },
    });
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
    await pg?.remove();
    await dropKeys(prefix);
  });

  /** Read with a connection of its own, opened and closed while the server is up. */
  const logSize = async () => {
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    const [row] = await sql<{ count: string }[]>`select count(*) as count from outage.events`;
    await sql.end();
    return Number(row?.count);
  };

  // A failed step shows its answer.
  const answered = (reply: { status: number; text: string }, status: number) =>
    expect({ status: reply.status, text: reply.text }).toMatchObject({ status });

  test("down: tokens are still checked, every write answers 503 and changes nothing; back: all works", async () => {
    answered(await api.register("pg_user"), 201);
    const live = await api.login("pg_user");
    const gone = await api.login("pg_user");
    answered(live, 200);
    answered(gone, 200);
    answered(await api.call("POST", "/auth/logout", { token: gone.token }), 204);
    const sizeBefore = await logSize();

    await pg.stop();
    expect((await api.call("GET", "/secure/data", { token: live.token })).status).toBe(200);
    expect((await api.call("GET", "/secure/data", { token: gone.token })).status).toBe(401);
    const writes = [
      await api.call("POST", "/auth/register", {
        body: { username: "pg_newcomer", password: "correct horse battery" },
      }),
      await api.call("POST", "/auth/login", {
        body: { username: "pg_user", password: "correct horse battery" },
      }),
      await api.call("POST", "/auth/refresh", { cookie: live.refresh }),
      await api.call("POST", "/auth/logout", { token: live.token }),
      await api.call("POST", "/auth/logout-all", { token: live.token }),
    ];
    for (const reply of writes) {
      expect(reply.status).toBe(503);
      expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
      expect(reply.text).not.toMatch(/ECONNREFUSED|postgres|select|insert/i);
    }
    const ready = await api.call("GET", "/health/ready");
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ eventStore: "down" });

    await pg.start();
    expect(
      await eventually(async () => (await api.call("GET", "/health/ready")).status === 200, 15_000),
    ).toBe(true);
    // Nothing was written: not one event more in the log than before the outage.
    expect(await logSize()).toBe(sizeBefore);
    // Nothing was half-written: the session survived the failed logout, the newcomer is new.
    expect((await api.call("GET", "/secure/data", { token: live.token })).status).toBe(200);
    expect((await api.register("pg_newcomer")).status).toBe(201);
    const again = await api.call("POST", "/auth/refresh", { cookie: live.refresh });
    if (again.status !== 200) console.log("AGAIN", again.text);
    expect(again.status).toBe(200);
    expect((await api.call("POST", "/auth/logout", { token: live.token })).status).toBe(204);
    expect((await api.call("GET", "/secure/data", { token: live.token })).status).toBe(401);
  });

  test("connections the server ended while idle: the next reads are sent again and answer", async () => {
    answered(await api.register("dropped_pg_user"), 201);
    const live = await api.login("dropped_pg_user");
    answered(live, 200);
    for (let round = 0; round < 8; round++) {
      // Warm every pooled connection, then have the server end them all, as a restart does.
      await Promise.all(
        Array.from({ length: 10 }, () => api.call("GET", "/auth/me", { token: live.token })),
      );
      const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
      await admin`select pg_terminate_backend(pid) from pg_stat_activity
        where pid <> pg_backend_pid() and backend_type = 'client backend'`;
      await admin.end();
      const replies = await Promise.all(
        Array.from({ length: 10 }, () => api.call("GET", "/auth/me", { token: live.token })),
      );
      for (const reply of replies) answered(reply, 200);
    }
  });

  const timed = async (method: string, path: string, token?: string) => {
    const started = performance.now();
    const reply = await api.call(method, path, token ? { token } : {});
    return { status: reply.status, ms: performance.now() - started };
  };

  test("frozen: every request answers within the query bound, checks keep working; thawed: at once again", async () => {
    answered(await api.register("frozen_pg_user"), 201);
    const live = await api.login("frozen_pg_user");
    answered(live, 200);
    pg.freeze();
    try {
      const answers = await Promise.all([
        timed("GET", "/health/ready"),
        timed("GET", "/metrics"),
        timed("GET", "/secure/data", live.token),
        timed("GET", "/auth/me", live.token),
        timed("POST", "/auth/logout-all", live.token),
      ]);
      const [ready, metrics, data, me, logoutAll] = answers;
      expect(ready).toMatchObject({ status: 503 });
      expect(ready?.ms).toBeLessThan(2_000);
      expect(metrics).toMatchObject({ status: 200 });
      expect(metrics?.ms).toBeLessThan(2_000);
      expect(data).toMatchObject({ status: 200 });
      expect(me).toMatchObject({ status: 503 });
      expect(logoutAll).toMatchObject({ status: 503 });
      for (const answer of answers) expect(answer.ms).toBeLessThan(4_000);
    } finally {
      pg.thaw();
    }
    const after = await timed("GET", "/auth/me", live.token);
    expect(after.status).toBe(200);
    expect(after.ms).toBeLessThan(2_000);
  });
});
