import { createRedis, type Redis } from "../../src/adapters/redis/client.ts";

export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A connected client and a key prefix no other test file uses; `drop` deletes its keys. */
export const testRedis = async (name: string) => {
  const redis: Redis = createRedis({ url: redisUrl, commandTimeoutMs: 1000 });
  await redis.connect();
  const prefix = `test:${name}:${crypto.randomUUID().slice(0, 8)}:`;
  const drop = async () => {
    for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (batch.length > 0) await redis.del(batch);
    }
    redis.destroy();
  };
  return { redis, prefix, drop };
};
