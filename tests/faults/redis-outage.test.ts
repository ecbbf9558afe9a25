import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { client, startApp } from "../support/app.ts";
import { eventually } from "../support/net.ts";
import { throwawayRedis } from "../support/redisServer.ts";

/** Redis holds only a projection: losing it, or losing touch with it, must never let a revoked token in. */
describe("Redis outages", () => {
  let redis: Awaited<ReturnType<typeof throwawayRedis>>;
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    redis = await throwawayRedis();
    ctx = await startApp("redis-outage", "servers", {
      REDIS_URL: redis.url,
      REDIS_COMMAND_TIMEOUT_MS: "250",
    });
    api = client(ctx.app);
  });
  afterAll(async () => {
    await ctx.close();
    await redis.stop();
  });

  const status = async (token: string) => (await api.call("GET", "/secure/data", { token })).status;

  test("a frozen Redis: protected routes answer 503 within a second, then recover", async () => {
    await api.register("frozen_user");
    const { token } = await api.login("frozen_user");
    expect(await status(token)).toBe(200);
    redis.freeze();
    try {
      const started = performance.now();
      const reply = await api.call("GET", "/secure/data", { token });
      const elapsed = performance.now() - started;
      expect(reply.status).toBe(503);
      expect(reply.headers.get("retry-after")).toBeTruthy();
      expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
      expect(elapsed).toBeLessThan(1000);
    } finally {
      redis.thaw();
    }
    expect(await eventually(async () => (await status(token)) === 200)).toBe(true);
  });

  test("Redis killed and back empty: no revoked token is ever accepted, and the API heals", async () => {
    await api.register("lost_user");
    const revoked = await api.login("lost_user");
    const loggedOutDuringOutage = await api.login("lost_user");
    const live = await api.login("lost_user");
    expect((await api.call("POST", "/auth/logout", { token: revoked.token })).status).toBe(204);
    expect(await status(revoked.token)).toBe(401);

    await redis.stop();
    // Down: nothing can be checked, so nothing passes, and the instance says it is not ready.
    for (const token of [revoked.token, live.token]) expect(await status(token)).toBe(503);
    const ready = await api.call("GET", "/health/ready");
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ready: false, tokenState: "down" });
    // A logout that cannot be projected is not acknowledged, but it is in the log.
    const outageLogout = await api.call("POST", "/auth/logout", {
      token: loggedOutDuringOutage.token,
    });
    expect(outageLogout.status).toBe(503);

    await redis.start();
    const seen: number[] = [];
    const healed = await eventually(async () => {
      const revokedStatus = await status(revoked.token);
      const outageStatus = await status(loggedOutDuringOutage.token);
      seen.push(revokedStatus, outageStatus);
      return (await status(live.token)) === 200;
    }, 15_000);
    expect(healed).toBe(true);
    // At no moment did a revoked token get through.
    expect(seen.filter((s) => s === 200)).toEqual([]);
    expect(await status(revoked.token)).toBe(401);
    expect(await status(loggedOutDuringOutage.token)).toBe(401);
    const fresh = await api.login("lost_user");
    expect(await status(fresh.token)).toBe(200);
    expect(
      await eventually(async () => (await api.call("GET", "/health/ready")).status === 200),
    ).toBe(true);
  });

  test("a user whose epoch vanished is refused with 503 until the projection is rebuilt", async () => {
    await api.register("evicted_user");
    const session = await api.login("evicted_user");
    const killed = await api.login("evicted_user");
    await api.call("POST", "/auth/logout", { token: killed.token });
    const keys = Bun.spawn(["redis-cli", "-p", String(redis.port), "--scan"], { stdout: "pipe" });
    const all = (await new Response(keys.stdout).text()).trim().split("\n");
    const userId = (await api.call("GET", "/auth/me", { token: session.token })).body.id as string;
    const mine = all.filter((key) => key.includes(`{u:${userId}}`));
    expect(mine.length).toBeGreaterThan(0);
    // Lose exactly this user's keys, as a failed-over cluster node would.
    Bun.spawnSync(["redis-cli", "-p", String(redis.port), "del", ...mine]);
    expect(await status(session.token)).toBe(503);
    expect(await status(killed.token)).not.toBe(200);
    expect(await eventually(async () => (await status(session.token)) === 200)).toBe(true);
    expect(await status(killed.token)).toBe(401);
  });
});
