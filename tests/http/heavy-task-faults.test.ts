import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Env } from "../../src/adapters/config/Config.ts";
import { FibonacciComputer } from "../../src/application/ports/FibonacciComputer.ts";
import { client, type Mode, startApp } from "../support/app.ts";
import { throwawayRedis } from "../support/redisServer.ts";

const start = async (name: string, mode: Mode, env: Env) => {
  const ctx = await startApp(name, mode, env);
  const api = client(ctx.app);
  expect((await api.register(`${name.replaceAll("-", "_")}_user`)).status).toBe(201);
  const { token } = await api.login(`${name.replaceAll("-", "_")}_user`);
  const heavy = (n: number) => api.call("GET", `/secure/heavy-task?n=${n}`, { token });
  const stats = async () => {
    const computer = await ctx.runtime.runPromise(FibonacciComputer);
    return ctx.runtime.runPromise(computer.stats);
  };
  return { ctx, heavy, stats };
};

/** Polls `check` every few milliseconds until it holds; fails after `ms`. */
const eventually = async (check: () => Promise<boolean>, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await Bun.sleep(5);
  }
};

describe("heavy task with ENABLE_CACHE=false", () => {
  test("every call computes and none is cached", async () => {
    const { ctx, heavy, stats } = await start("heavy-nocache", "embedded", {
      ENABLE_CACHE: "false",
    });
    try {
      const before = (await stats()).started;
      const first = await heavy(300);
      const second = await heavy(300);
      expect([first.body.cached, second.body.cached]).toEqual([false, false]);
      expect(second.body.result).toBe(first.body.result as string);
      expect((await stats()).started).toBe(before + 2);
    } finally {
      await ctx.close();
    }
  });
});

describe("heavy task with a full worker pool", () => {
  test("answers 503 problem+json with Retry-After instead of queueing, and recovers", async () => {
    const { ctx, heavy, stats } = await start("heavy-saturated", "embedded", {
      ENABLE_CACHE: "false",
      HEAVY_TASK_WORKERS: "1",
      HEAVY_TASK_QUEUE: "0",
      HEAVY_TASK_MAX_N: "1000000",
    });
    try {
      const busy = heavy(1_000_000);
      await eventually(async () => (await stats()).running === 1);
      const refused = await Promise.all([heavy(999_999), heavy(20)]);
      for (const reply of refused) {
        expect(reply.status).toBe(503);
        expect(reply.headers.get("retry-after")).toBe("1");
        expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
        expect(reply.body).toMatchObject({ status: 503 });
      }
      expect((await busy).status).toBe(200);
      expect((await busy).body.result as string).toHaveLength(208_988);
      expect((await heavy(20)).body.result).toBe("6765");
      expect((await stats()).rejected).toBe(2);
    } finally {
      await ctx.close();
    }
  });
});

describe("heavy task when a Redis goes away", () => {
  let cacheRedis: Awaited<ReturnType<typeof throwawayRedis>>;
  let tokenRedis: Awaited<ReturnType<typeof throwawayRedis>>;
  let app: Awaited<ReturnType<typeof start>>;
  const outageLines = () =>
    app.ctx.logLines.filter((line) => line.message.startsWith("cache unavailable"));

  beforeAll(async () => {
    [cacheRedis, tokenRedis] = await Promise.all([throwawayRedis(), throwawayRedis()]);
    app = await start("heavy-outage", "servers", {
      REDIS_URL: tokenRedis.url,
      CACHE_REDIS_URL: cacheRedis.url,
    });
  });
  afterAll(async () => {
    await app.ctx.close();
    await Promise.all([cacheRedis.stop(), tokenRedis.stop()]);
  });

  test("a cache outage fails open: every request still answers 200, logged once", async () => {
    expect((await app.heavy(777)).body.cached).toBe(false);
    expect((await app.heavy(777)).body.cached).toBe(true);

    await cacheRedis.stop();
    const before = (await app.stats()).started;
    const replies = await Promise.all([777, 777, 778, 779, 780].map((n) => app.heavy(n)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(replies.every((r) => r.body.cached === false)).toBe(true);
    expect((await app.heavy(781)).status).toBe(200);
    expect((await app.stats()).started).toBeGreaterThan(before);
    expect(outageLines()).toHaveLength(1);

    // Back, empty: the cache fills again and the recovery is logged once too.
    await cacheRedis.start();
    await eventually(async () => {
      await app.heavy(782);
      return (await app.heavy(782)).body.cached === true;
    });
    expect(app.ctx.logLines.filter((l) => l.message === "cache available again")).toHaveLength(1);
    expect(outageLines()).toHaveLength(1);
  });

  test("the token check still fails closed: no token Redis, no answer, even for a cached n", async () => {
    expect((await app.heavy(790)).status).toBe(200);
    // The n is in the cache: a token check is all that stands between it and the caller.
    expect((await app.heavy(790)).body).toMatchObject({ n: 790, cached: true });
    await tokenRedis.stop();
    const reply = await app.heavy(790);
    expect(reply.status).toBe(503);
    expect(reply.body).not.toHaveProperty("result");
  });
});
