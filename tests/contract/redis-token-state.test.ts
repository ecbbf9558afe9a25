import { afterAll } from "bun:test";
import { bunMget, type MGet } from "../../src/adapters/redis/bunRedis.ts";
import { makeRedisTokenState } from "../../src/adapters/redis/RedisTokenState.ts";
import type { TokenState } from "../../src/application/ports/TokenState.ts";
import { dropKeys, redisUrl, testRedis } from "../support/redis.ts";
import { realTime } from "./contractTime.ts";
import { tokenStateContract } from "./tokenStateContract.ts";

const { redis, prefix, drop } = await testRedis("token-state");
afterAll(drop);

let run = 0;
const prefixes = new WeakMap<TokenState["Service"], string>();
const native = bunMget(redisUrl);
afterAll(() => native.close());

const fresh = (cluster: boolean, mget?: MGet) => async () => {
  const own = `${prefix}${run++}:`;
  const state = makeRedisTokenState(redis, own, 1000, cluster, mget);
  prefixes.set(state, own);
  return state;
};
// What FLUSHDB does to this projection: every key gone.
const lose = async (state: TokenState["Service"]) => dropKeys(prefixes.get(state) ?? "none:");

// Revocations expire on Redis's own clock: the expiry case really waits.
tokenStateContract("Redis", realTime, fresh(false), lose);
// What a Redis Cluster client does: one call per user, since users' keys live in different slots,
// and the generation checked in each slot's own copy.
tokenStateContract("Redis, as on a cluster", realTime, fresh(true), lose);
// On Bun the checks read through Bun's own client; writes stay with node-redis.
tokenStateContract("Redis, checks through Bun's client", realTime, fresh(false, native.mget), lose);
