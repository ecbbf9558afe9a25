import { afterAll } from "bun:test";
import { makeRedisTokenState } from "../../src/adapters/redis/RedisTokenState.ts";
import { testRedis } from "../support/redis.ts";
import { tokenStateContract } from "./tokenStateContract.ts";

const { redis, prefix, drop } = await testRedis("token-state");
afterAll(drop);

let run = 0;
tokenStateContract("Redis", async () => makeRedisTokenState(redis, `${prefix}${run++}:`, 1000));
// What a Redis Cluster client does: one call per user, since users' keys live in different slots.
tokenStateContract("Redis, one call per user", async () =>
  makeRedisTokenState(redis, `${prefix}${run++}:`, 1000, false),
);
