import { createRedis, type Redis } from "../../src/adapters/redis/client.ts";

export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const deleteKeys = async (redis: Redis, prefix: string) => {
  for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (batch.length > 0) await redis.del(batch);
  }
};

/** Deletes every key under `prefix`: what an API under test left in the shared Redis. */
export const dropKeys = async (prefix: string) => {
  const redis: Redis = createRedis({ url: redisUrl, commandTimeoutMs: 1000 });
  await redis.connect();
  try {
    await deleteKeys(redis, prefix);
  } finally {
    redis.destroy();
  }
};

/** A connected client and a key prefix no other test file uses; `drop` deletes its keys. */
export const testRedis = async (name: string) => {
  const redis: Redis = createRedis({ url: redisUrl, commandTimeoutMs: 1000 });
  await redis.connect();
  const prefix = `test:${name}:${crypto.randomUUID().slice(0, 8)}:`;
  const drop = async () => {
    await deleteKeys(redis, prefix);
    redis.destroy();
  };
  return { redis, prefix, drop };
};
