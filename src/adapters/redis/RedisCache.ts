import { Effect, Layer } from "effect";
import { Cache, CacheUnavailable } from "../../application/ports/Cache.ts";
import { type CacheStore, singleFlight } from "../../application/singleFlight.ts";
import {
  createRedis,
  createRedisCluster,
  deadlines,
  isClusterUrl,
  outage,
  type Redis,
  type RedisCluster,
} from "./client.ts";

type Log = (level: "warn" | "info", message: string, fields?: object) => void;

/** The cache's outage, said once when it goes and once when it is back. */
export const outageReporter = (log: Log) =>
  outage(log, {
    down: "cache unavailable: answering without it until it is back",
    up: "cache available again",
  });

export type OutageReporter = ReturnType<typeof outage>;

/**
 * The cache in Redis, each key under `prefix`, each value the decimal string as served so a hit
 * costs no BigInt work. Values expire after their TTL; bound the total with the server's
 * `maxmemory` and an LRU policy.
 */
export const makeRedisCache = (
  redis: Redis | RedisCluster,
  prefix: string,
  timeoutMs: number,
  outage: OutageReporter = outageReporter(() => {}),
): Cache["Service"] & CacheStore => {
  const timed = deadlines(timeoutMs);
  const attempt = <A>(command: () => Promise<A>) =>
    Effect.tryPromise({
      try: () =>
        timed(new Promise<A>((resolve) => resolve(command()))).then(
          (value) => {
            outage.up();
            return value;
          },
          (error: unknown) => {
            outage.down(error);
            throw error;
          },
        ),
      catch: (cause) => new CacheUnavailable({ cause }),
    });

  const get: CacheStore["get"] = (key) => attempt(() => redis.get(`${prefix}${key}`));
  const set: CacheStore["set"] = (key, value, ttlSeconds) =>
    Effect.asVoid(attempt(() => redis.set(`${prefix}${key}`, value, { EX: ttlSeconds })));
  return { get, set, getOrCompute: singleFlight({ get, set }) };
};

/**
 * A connection of its own, so large values never queue behind the token checks, and possibly a
 * Redis of its own (`CACHE_REDIS_URL`). Like the token client, it queues nothing while
 * disconnected: a cache that is down answers "unavailable" at once and the task computes.
 */
export const RedisCacheLayer = (options: {
  readonly url: string;
  readonly prefix: string;
  readonly timeoutMs: number;
  readonly log: Log;
}) =>
  Layer.effect(
    Cache,
    Effect.acquireRelease(
      Effect.sync(() => {
        const outage = outageReporter(options.log);
        const clientOptions = {
          url: options.url,
          commandTimeoutMs: options.timeoutMs,
          onError: outage.down,
        };
        const client = isClusterUrl(options.url)
          ? createRedisCluster(clientOptions)
          : createRedis(clientOptions).on("ready", outage.up);
        client.connect().catch(() => {});
        return { client, outage };
      }),
      ({ client }) =>
        Effect.sync(() => {
          if (client.isOpen) client.destroy();
        }),
    ).pipe(
      Effect.map(({ client, outage }) =>
        makeRedisCache(client, options.prefix, options.timeoutMs, outage),
      ),
    ),
  );
