import { afterAll } from "bun:test";
import { makeRedisRateLimiter } from "../../src/adapters/redis/RedisRateLimiter.ts";
import { testRedis } from "../support/redis.ts";
import { realTime } from "./contractTime.ts";
import { rateLimiterContract } from "./rateLimiterContract.ts";

const { redis, prefix, drop } = await testRedis("rate-limiter");
afterAll(drop);

let run = 0;
// Redis expires counters on its own clock: the window cases really wait.
rateLimiterContract("Redis", realTime, async () =>
  makeRedisRateLimiter(redis, `${prefix}${run++}:`, 1000),
);
