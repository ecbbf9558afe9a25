import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSql, type Sql } from "../../src/adapters/postgres/client.ts";
import { createRedisCluster, type RedisCluster } from "../../src/adapters/redis/client.ts";
import { verifyProjection } from "../../src/application/verify.ts";
import { client, startApp } from "../support/app.ts";
import { generatedLog } from "../support/generatedLog.ts";
import { eventually } from "../support/net.ts";
import { databaseUrl } from "../support/postgres.ts";
import { throwawayCluster } from "../support/redisServer.ts";

/**
 * One master of a three-master Redis Cluster emptied while a rebuild runs, after the rebuild
 * wrote a user's revocation to it and before it wrote that user's epoch. The generation marker
 * lives on another master and survives.
 */
describe("a Redis Cluster master emptied while the projection is rebuilt", () => {
  let cluster: Awaited<ReturnType<typeof throwawayCluster>>;
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let api: ReturnType<typeof client>;
  let cli: RedisCluster;
  let sql: Sql;

  beforeAll(async () => {
    cluster = await throwawayCluster();
    ctx = await startApp("cluster-master-emptied", "servers", {
      REDIS_URL: cluster.url,
      REDIS_COMMAND_TIMEOUT_MS: "2000",
    });
    api = client(ctx.app);
    cli = createRedisCluster({ url: cluster.url, commandTimeoutMs: 5000 });
    await cli.connect();
    const schema = ctx.config.storage.mode === "servers" ? ctx.config.storage.databaseSchema : "";
    sql = createSql({ url: databaseUrl, max: 1, ...(schema ? { schema } : {}) });
  });
  afterAll(async () => {
    cli.destroy();
    await sql.end();
    await ctx.close();
    await cluster.stop();
  });

  const status = async (token: string) => (await api.call("GET", "/secure/data", { token })).status;
  const ready = async () => (await api.call("GET", "/health/ready")).status;
  const differences = async () =>
    (await ctx.runtime.runPromise(verifyProjection)).differences.length;
  const prefix = () =>
    ctx.config.storage.mode === "servers" ? ctx.config.storage.redisKeyPrefix : "";

  /**
   * Asks, until stopped, whether the revoked token passes, and apart from that (verify reads the
   * whole log) how far the projection is from the log each time readiness answers 200.
   */
  const probe = (revoked: string) => {
    const seen = { revokedAccepted: 0, checks: 0, differencesWhenReady: [] as number[] };
    let running = true;
    const loops = [
      (async () => {
        while (running) {
          if ((await status(revoked)) === 200) seen.revokedAccepted++;
          seen.checks++;
          await Bun.sleep(5);
        }
      })(),
      (async () => {
        while (running) {
          if ((await ready()) === 200) seen.differencesWhenReady.push(await differences());
          await Bun.sleep(5);
        }
      })(),
    ];
    const stop = async () => {
      running = false;
      await Promise.all(loops);
    };
    return { seen, stop };
  };

  test("the rebuild starts over in a new generation; the revoked token is never accepted and readiness waits for the whole projection", async () => {
    const metaMaster = await cluster.masterOf(`${prefix()}{meta}:generation`);
    // A user whose keys live on another master than the marker.
    let userId = "";
    let name = "";
    for (let i = 0; i < 20 && !userId; i++) {
      name = `cluster_user_${i}`;
      await api.register(name);
      const me = await api.call("GET", "/auth/me", { token: (await api.login(name)).token });
      const id = me.body.id as string;
      if ((await cluster.masterOf(`${prefix()}{u:${id}}:epoch`)) !== metaMaster) userId = id;
    }
    expect(userId).not.toBe("");
    const userMaster = await cluster.masterOf(`${prefix()}{u:${userId}}:epoch`);
    const revoked = await api.login(name);
    const live = await api.login(name);
    expect((await api.call("POST", "/auth/logout", { token: revoked.token })).status).toBe(204);
    const ours = (await cluster.cli(userMaster, "keys", `${prefix()}{u:${userId}}:sid:*`))
      .split("\n")
      .filter(Boolean);
    expect(ours).toHaveLength(1);
    const revocation = ours[0] as string;
    // A log big enough that rebuilding it takes a while; these revocations come after ours.
    await sql.unsafe(generatedLog(20_000));

    for (const port of cluster.ports) await cluster.cli(port, "flushall");
    const { seen, stop } = probe(revoked.token);
    // The rebuild has rewritten our revocation, not yet our epoch, and is not complete.
    const rewritten = await eventually(async () => (await cli.exists(revocation)) === 1, 20_000);
    expect(rewritten).toBe(true);
    expect(await cli.exists(`${prefix()}{u:${userId}}:epoch`)).toBe(0);
    expect(await cli.get(`${prefix()}{meta}:checkpoint`)).toBeNull();
    const generation = await cli.get(`${prefix()}{meta}:generation`);
    await cluster.cli(userMaster, "flushall");
    expect(await cli.get(`${prefix()}{meta}:generation`)).toBe(generation);

    const recovered = await eventually(async () => seen.differencesWhenReady.length > 0, 60_000);
    await stop();
    expect(recovered).toBe(true);
    expect(seen.checks).toBeGreaterThan(50);
    expect(seen.revokedAccepted).toBe(0);
    // Readiness answered 200 only over a projection verify found equal to the log.
    expect(new Set(seen.differencesWhenReady)).toEqual(new Set([0]));
    expect(await status(revoked.token)).toBe(401);
    expect(await status(live.token)).toBe(200);
    expect(await cli.exists(revocation)).toBe(1);
    expect(await cli.get(`${prefix()}{meta}:generation`)).not.toBe(generation);
  }, 90_000);
});
