import { afterAll, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { createRedis } from "../../src/adapters/redis/client.ts";
import { makeRedisCache, outageReporter } from "../../src/adapters/redis/RedisCache.ts";
import { captureLog } from "../support/app.ts";
import { testRedis } from "../support/redis.ts";
import { cacheContract } from "./cacheContract.ts";
import { realTime } from "./contractTime.ts";

const { redis, prefix, drop } = await testRedis("cache");
afterAll(drop);

let round = 0;
// Redis expires keys on its own clock: the TTL case really waits.
cacheContract("Redis", realTime, async () =>
  makeRedisCache(redis, `${prefix}${round++}:cache:`, 1000),
);

describe("Redis cache", () => {
  test("keys live under the cache prefix and carry the TTL", async () => {
    const cache = makeRedisCache(redis, `${prefix}ttl:cache:`, 1000);
    await Effect.runPromise(cache.set("fib:20", "6765", 300));
    expect(await redis.get(`${prefix}ttl:cache:fib:20`)).toBe("6765");
    const ttl = await redis.ttl(`${prefix}ttl:cache:fib:20`);
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  test("an unreachable Redis fails get and set, getOrCompute still answers, one log line", async () => {
    const { lines, log } = captureLog();
    const outage = outageReporter(log);
    // Port 1 refuses connections: the client never becomes ready and queues nothing.
    const dead = createRedis({ url: "redis://127.0.0.1:1", commandTimeoutMs: 200 });
    dead.connect().catch(() => {});
    const cache = makeRedisCache(dead, "x:", 200, outage);
    const get = await Effect.runPromise(Effect.result(cache.get("fib:5")));
    expect(get._tag).toBe("Failure");
    for (let i = 0; i < 5; i++) {
      expect(await Effect.runPromise(cache.getOrCompute("fib:5", 60, Effect.succeed("5")))).toEqual(
        { value: "5", cached: false },
      );
    }
    expect(lines.filter((line) => line.message.startsWith("cache unavailable"))).toHaveLength(1);
    dead.destroy();
  });
});
