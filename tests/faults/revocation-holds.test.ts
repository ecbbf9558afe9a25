import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import postgres from "postgres";
import { createRedis, type Redis } from "../../src/adapters/redis/client.ts";
import { Projector, replay } from "../../src/application/Projector.ts";
import { verifyProjection } from "../../src/application/verify.ts";
import { client, secret, startApp } from "../support/app.ts";
import { generatedLog } from "../support/generatedLog.ts";
import { decodePayload, forge } from "../support/jwt.ts";
import { eventually } from "../support/net.ts";
import { throwawayPostgres } from "../support/postgresServer.ts";
import { throwawayRedis } from "../support/redisServer.ts";

/**
 * The two ways a logged-out token used to come back, each on a PostgreSQL cluster and a Redis of
 * the test's own: a transaction left open elsewhere in the cluster, and a second loss of Redis
 * while the projection is being rebuilt.
 */
describe("an acknowledged revocation is never undone", () => {
  let pg: Awaited<ReturnType<typeof throwawayPostgres>>;
  let redis: Awaited<ReturnType<typeof throwawayRedis>>;
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let api: ReturnType<typeof client>;
  let cli: Redis;
  let sql: postgres.Sql;

  beforeAll(async () => {
    pg = await throwawayPostgres();
    redis = await throwawayRedis();
    ctx = await startApp("revocation-holds", "servers", {
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      REDIS_COMMAND_TIMEOUT_MS: "2000",
    });
    api = client(ctx.app);
    cli = createRedis({ url: redis.url, commandTimeoutMs: 5000 });
    await cli.connect();
    const schema = ctx.config.storage.mode === "servers" ? ctx.config.storage.databaseSchema : "";
    sql = postgres(pg.url, {
      max: 2,
      onnotice: () => {},
      connection: { search_path: `"${schema}"` },
    });
  });
  afterAll(async () => {
    cli.destroy();
    await sql.end();
    await ctx.close();
    await redis.stop();
    await pg.remove();
  });

  const status = async (token: string) => (await api.call("GET", "/secure/data", { token })).status;
  const ready = async () => (await api.call("GET", "/health/ready")).status;
  const differences = async () =>
    (await ctx.runtime.runPromise(verifyProjection)).differences.length;
  const prefix = () =>
    ctx.config.storage.mode === "servers" ? ctx.config.storage.redisKeyPrefix : "";
  const marker = () => cli.get(`${prefix()}{meta}:checkpoint`);

  /** Polls until `done`, recording what the revoked tokens and readiness answered meanwhile. */
  const watch = async (revoked: readonly string[], done: () => Promise<boolean>, ms = 20_000) => {
    const seen = { revokedAccepted: 0, readyWhileIncomplete: 0, probes: 0 };
    const finished = await eventually(async () => {
      for (const token of revoked) if ((await status(token)) === 200) seen.revokedAccepted++;
      if ((await ready()) === 200 && (await differences()) > 0) seen.readyWhileIncomplete++;
      seen.probes++;
      return done();
    }, ms);
    return { ...seen, finished };
  };

  test("a transaction left open in another database hides nothing from the rebuild, verify or readiness", async () => {
    await api.register("longtx_user");
    const revoked = await api.login("longtx_user");
    const live = await api.login("longtx_user");
    await sql`create database elsewhere`;
    const other = postgres(pg.url.replace(/\/postgres$/, "/elsewhere"), { max: 1 });
    const held = await other.reserve();
    try {
      await held`begin`;
      await held`select pg_current_xact_id()`;
      expect((await api.call("POST", "/auth/logout", { token: revoked.token })).status).toBe(204);
      await api.register("longtx_newcomer");
      const newcomer = await api.login("longtx_newcomer");
      await cli.flushDb();

      const run = await watch([revoked.token], async () => (await ready()) === 200);
      expect(run.finished).toBe(true);
      expect(run.revokedAccepted).toBe(0);
      expect(run.readyWhileIncomplete).toBe(0);
      expect(await status(revoked.token)).toBe(401);
      expect(await status(live.token)).toBe(200);
      expect(await status(newcomer.token)).toBe(200);

      // An explicit replay and verify, with the transaction still open.
      await ctx.runtime.runPromise(replay());
      expect(await status(revoked.token)).toBe(401);
      expect(await differences()).toBe(0);
      // Verify compares with every committed event: a revocation removed by hand is found.
      const sessionKeys = await cli.keys(`${prefix()}{u:*}:sid:*`);
      expect(sessionKeys.length).toBeGreaterThan(0);
      await cli.del(sessionKeys);
      expect(await differences()).toBe(sessionKeys.length);
      await ctx.runtime.runPromise(replay());
      expect(await differences()).toBe(0);
    } finally {
      await held`rollback`;
      held.release();
      await other.end();
      await sql`drop database elsewhere`;
    }
  });

  test("Redis emptied right after a write, eight times: readiness never stands over an empty projection", async () => {
    await api.register("flush_user");
    for (let round = 0; round < 8; round++) {
      const revoked = await api.login("flush_user");
      const live = await api.login("flush_user");
      expect((await api.call("POST", "/auth/logout", { token: revoked.token })).status).toBe(204);
      await cli.flushDb();
      const run = await watch(
        [revoked.token],
        async () => (await ready()) === 200 && (await status(live.token)) === 200,
      );
      expect(run).toMatchObject({ finished: true, revokedAccepted: 0, readyWhileIncomplete: 0 });
      expect(await marker()).not.toBeNull();
      expect(await status(revoked.token)).toBe(401);
    }
  }, 90_000);

  test("Redis emptied again while the rebuild runs: the rebuild starts over, the revoked token stays refused", async () => {
    await api.register("twice_user");
    const revoked = await api.login("twice_user");
    const live = await api.login("twice_user");
    expect((await api.call("POST", "/auth/logout", { token: revoked.token })).status).toBe(204);
    const me = await api.call("GET", "/auth/me", { token: live.token });
    // A log big enough that rebuilding it takes a while; these revocations come after ours.
    await sql.unsafe(generatedLog(60_000));
    const ours = await cli.keys(`${prefix()}{u:${me.body.id}}:sid:*`);
    expect(ours).toHaveLength(1);
    const revocation = ours[0] as string;

    await cli.flushDb();
    // The moment the rebuild has rewritten our revocation, and before it is complete.
    const rewritten = await eventually(async () => (await cli.exists(revocation)) === 1, 20_000);
    expect(rewritten).toBe(true);
    expect(await marker()).toBeNull();
    await cli.flushDb();

    const run = await watch([revoked.token], async () => (await ready()) === 200, 60_000);
    expect(run.finished).toBe(true);
    expect(run.revokedAccepted).toBe(0);
    expect(run.readyWhileIncomplete).toBe(0);
    expect(await status(revoked.token)).toBe(401);
    expect(await status(live.token)).toBe(200);
    expect(await cli.exists(revocation)).toBe(1);
    expect(await differences()).toBe(0);
  }, 90_000);

  test("genuine tokens of a user the log does not know get 401, and start no rebuild", async () => {
    await api.register("ghost_model");
    const model = await api.login("ghost_model");
    const claims = decodePayload(model.token);
    const ghost = forge(secret, { alg: "HS256", typ: "JWT" }, { ...claims, sub: "no-such-user" });
    const answers: number[] = [];
    const readiness: number[] = [];
    for (let i = 0; i < 50; i++) {
      answers.push(await status(ghost));
      readiness.push(await ready());
    }
    expect(new Set(answers)).toEqual(new Set([401]));
    expect(new Set(readiness)).toEqual(new Set([200]));
    const projector = await ctx.runtime.runPromise(Effect.flatMap(Projector, (p) => p.status));
    expect(projector).toMatchObject({ ready: true, rebuilding: false });
  });
});
