import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRedis, type Redis } from "../../src/adapters/redis/client.ts";
import { client, startApp } from "../support/app.ts";
import { throwawayRedis } from "../support/redisServer.ts";

const password = "correct horse battery";

/** The attempt counters under a stalled Redis and under a flood of fresh usernames. */
describe("attempt counters under faults", () => {
  let redis: Awaited<ReturnType<typeof throwawayRedis>>;
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let api: ReturnType<typeof client>;
  let cli: Redis;
  let base: string;

  beforeAll(async () => {
    redis = await throwawayRedis();
    ctx = await startApp("limiter-faults", "servers", {
      REDIS_URL: redis.url,
      REDIS_COMMAND_TIMEOUT_MS: "200",
      LOGIN_MAX_FAILURES_PER_USER: "10",
      LOGIN_MAX_FAILURES_PER_IP: "3",
      TRUSTED_PROXIES: "127.0.0.1,::1",
    });
    api = client(ctx.app);
    ctx.app.listen({ hostname: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${ctx.app.server?.port}`;
    cli = createRedis({ url: redis.url, commandTimeoutMs: 10_000 });
    await cli.connect();
  });
  afterAll(async () => {
    cli.destroy();
    await ctx.app.stop();
    await ctx.close();
    await redis.stop();
  });

  const login = (username: string, secret: string, from: string) =>
    fetch(`${base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": from },
      body: JSON.stringify({ username, password: secret }),
    });
  const counterKeys = async () => (await cli.keys("*{rl:login:*")).sort();

  test("a Redis stall during correct-password retries consumes no failure slot", async () => {
    await api.register("stall_user");
    // A stall: connections stay open, nothing is answered, then everything queued runs.
    redis.freeze();
    const statuses: number[] = [];
    try {
      const until = Date.now() + 2000;
      while (Date.now() < until) {
        statuses.push((await login("stall_user", password, "10.1.0.1")).status);
      }
    } finally {
      redis.thaw();
    }
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.filter((status) => status !== 503)).toEqual([]);
    // Every late take has been given back once Redis answered: nothing counts against anyone.
    await Bun.sleep(200);
    expect(await counterKeys()).toEqual([]);
    const after = await login("stall_user", password, "10.1.0.1");
    expect(after.status).toBe(200);
  });

  test("a locked client creates no state for the usernames it tries, and empty counters vanish", async () => {
    const from = "10.2.0.1";
    for (let i = 0; i < 3; i++) {
      expect((await login(`nobody_${i}`, "wrong password!", from)).status).toBe(401);
    }
    const locked = await counterKeys();
    for (let i = 3; i < 53; i++) {
      expect((await login(`nobody_${i}`, "wrong password!", from)).status).toBe(429);
    }
    expect(await counterKeys()).toEqual(locked);
    // A correct login gives both its slots back: a counter back at zero is deleted.
    await api.register("tidy_user");
    expect((await login("tidy_user", password, "10.3.0.1")).status).toBe(200);
    expect(await counterKeys()).toEqual(locked);
  });
});
