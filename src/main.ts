import { Effect, Layer, ManagedRuntime } from "effect";
import { type Config, formatConfigErrors, loadConfig } from "./adapters/config/Config.ts";
import { BunPasswordHasherLayer } from "./adapters/crypto/BunPasswordHasher.ts";
import { HmacTokensLayer } from "./adapters/crypto/HmacTokens.ts";
import { UuidIdsLayer } from "./adapters/crypto/UuidIds.ts";
import { EmbeddedEventStoreLayer } from "./adapters/embedded/EmbeddedEventStore.ts";
import { MemoryCacheLayer } from "./adapters/embedded/MemoryCache.ts";
import { MemoryRateLimiterLayer } from "./adapters/embedded/MemoryRateLimiter.ts";
import { MemoryTokenStateLayer } from "./adapters/embedded/MemoryTokenState.ts";
import { createApp } from "./adapters/http/app.ts";
import type { Logger } from "./adapters/http/errors.ts";
import { PostgresEventStoreFromUrl } from "./adapters/postgres/PostgresEventStore.ts";
import { createRedis, createRedisCluster, isClusterUrl } from "./adapters/redis/client.ts";
import { RedisCacheLayer } from "./adapters/redis/RedisCache.ts";
import { RedisRateLimiterLayer } from "./adapters/redis/RedisRateLimiter.ts";
import { RedisTokenStateLayer } from "./adapters/redis/RedisTokenState.ts";
import { WorkerFibonacciComputerLayer } from "./adapters/worker/WorkerFibonacciComputer.ts";
import { AuthenticatorLive } from "./application/Authenticator.ts";
import { bootstrapAdmin } from "./application/bootstrap.ts";
import { ProjectorLive } from "./application/Projector.ts";
import { AuthSettings } from "./application/ports/AuthSettings.ts";
import { Cache, noCache } from "./application/ports/Cache.ts";
import type { EventStore } from "./application/ports/EventStore.ts";
import { HeavyTaskSettings } from "./application/ports/HeavyTaskSettings.ts";
import { Limits } from "./application/ports/Limits.ts";
import type { RateLimiter } from "./application/ports/RateLimiter.ts";
import type { TokenState } from "./application/ports/TokenState.ts";
import type { AppServices } from "./application/services.ts";

/** Where the event log, the token projection and the attempt counters live. */
export type Infrastructure = Layer.Layer<EventStore | TokenState | RateLimiter, unknown>;

export const infrastructure = (config: Config, log: Logger): Infrastructure => {
  const storage = config.storage;
  if (storage.mode === "embedded") {
    return Layer.mergeAll(
      EmbeddedEventStoreLayer(storage.dataDir),
      MemoryTokenStateLayer,
      MemoryRateLimiterLayer,
    );
  }
  const store = PostgresEventStoreFromUrl({
    url: storage.databaseUrl,
    ...(storage.databaseSchema ? { schema: storage.databaseSchema } : {}),
  });
  const redis = Layer.unwrap(
    Effect.acquireRelease(
      Effect.sync(() => {
        const options = {
          url: storage.redisUrl,
          commandTimeoutMs: storage.redisCommandTimeoutMs,
          onError: (error: unknown) =>
            log("warn", "redis connection error", { error: String(error) }),
        };
        const client = isClusterUrl(storage.redisUrl)
          ? createRedisCluster(options)
          : createRedis(options);
        client.connect().catch(() => {});
        return client;
      }),
      (client) => Effect.sync(() => client.destroy()),
    ).pipe(
      Effect.map((client) =>
        Layer.merge(
          RedisTokenStateLayer(
            client,
            storage.redisKeyPrefix,
            storage.redisCommandTimeoutMs,
            !isClusterUrl(storage.redisUrl),
          ),
          RedisRateLimiterLayer(client, storage.redisKeyPrefix, storage.redisCommandTimeoutMs),
        ),
      ),
    ),
  );
  return Layer.merge(store, redis);
};

/** The heavy task's worker pool and cache: in process when embedded, else on its own Redis connection. */
export const heavyTaskLayers = (config: Config, log: Logger) => {
  const storage = config.storage;
  const cache = !config.cache.enabled
    ? Layer.succeed(Cache, noCache)
    : storage.mode === "embedded"
      ? MemoryCacheLayer()
      : RedisCacheLayer({
          url: storage.cacheRedisUrl,
          prefix: `${storage.redisKeyPrefix}cache:`,
          timeoutMs: storage.redisCommandTimeoutMs,
          log,
        });
  return Layer.mergeAll(
    cache,
    WorkerFibonacciComputerLayer({
      workers: config.heavyTaskWorkers,
      queue: config.heavyTaskQueue,
    }),
    Layer.succeed(HeavyTaskSettings, {
      maxN: config.heavyTaskMaxN,
      cacheTtlSeconds: config.cache.ttlSeconds,
    }),
  );
};

/** config -> layers: every service the use cases need, over the given infrastructure. */
export const services = (
  config: Config,
  infra: Infrastructure,
  log: Logger = jsonLogger(config.logLevel),
) => {
  const base = Layer.mergeAll(
    infra,
    heavyTaskLayers(config, log),
    UuidIdsLayer,
    HmacTokensLayer({ secret: config.jwt.secret, issuer: config.jwt.issuer }),
    BunPasswordHasherLayer({
      memoryCost: config.passwordHash.memoryKib,
      timeCost: config.passwordHash.timeCost,
    }),
    Layer.succeed(AuthSettings, {
      accessTokenSeconds: config.jwt.accessTokenMinutes * 60,
      refreshTokenSeconds: config.jwt.refreshTokenDays * 86_400,
      refreshGraceMs: config.jwt.refreshGraceSeconds * 1000,
    }),
    Layer.succeed(Limits, {
      loginMaxFailuresPerUser: config.limits.loginMaxFailuresPerUser,
      loginMaxFailuresPerIp: config.limits.loginMaxFailuresPerIp,
      loginLockoutMs: config.limits.loginLockoutSeconds * 1000,
      registerPerIpPerHour: config.limits.registerPerIpPerHour,
    }),
  );
  const all = AuthenticatorLive.pipe(
    Layer.provideMerge(ProjectorLive({ pollMs: 1000 })),
    Layer.provideMerge(base),
  );
  return adminBootstrap(config, log).pipe(Layer.provideMerge(all)) as Layer.Layer<
    AppServices,
    unknown
  >;
};

/** Creates ADMIN_USERNAME at start when it does not exist; a failure is logged, not fatal. */
const adminBootstrap = (config: Config, log: Logger) => {
  const admin = config.admin;
  if (admin === undefined) return Layer.empty;
  return Layer.effectDiscard(
    bootstrapAdmin(admin).pipe(
      Effect.tap((outcome) =>
        Effect.sync(() => {
          if (outcome === "created") log("info", "admin created", { username: admin.username });
          if (outcome === "exists-not-admin") {
            log(
              "warn",
              "ADMIN_USERNAME names an existing account that is not an admin: left as it is",
              {
                username: admin.username,
              },
            );
          }
        }),
      ),
      Effect.catch((error) =>
        Effect.sync(() => log("error", "admin bootstrap failed", { error: error._tag })),
      ),
    ),
  );
};

const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const;

export const jsonLogger =
  (minimum: keyof typeof levels): Logger =>
  (level, message, fields) => {
    if (levels[level] < levels[minimum]) return;
    console.log(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
  };

/** Builds the runtime and the HTTP app; nothing listens yet. */
export const compose = (config: Config, log: Logger, infra = infrastructure(config, log)) => {
  const runtime = ManagedRuntime.make(
    services(config, infra, log) as Layer.Layer<AppServices, never>,
  );
  const app = createApp(runtime, {
    cookieSecure: config.http.cookieSecure,
    maxBodyBytes: 64 * 1024,
    log,
    heavyTaskMaxN: config.heavyTaskMaxN,
    trustedProxies: config.http.trustedProxies,
  });
  return { runtime, app };
};

const main = async () => {
  const loaded = loadConfig(process.env);
  const log = jsonLogger(loaded.ok ? loaded.config.logLevel : "info");
  for (const warning of loaded.warnings) log("warn", warning);
  if (!loaded.ok) {
    console.error(formatConfigErrors(loaded.errors));
    process.exit(1);
  }
  const { config } = loaded;
  const { runtime, app } = compose(config, log);
  await runtime.runPromise(Effect.void);
  app.listen({ hostname: config.http.host, port: config.http.port, maxRequestBodySize: 64 * 1024 });
  log("info", "listening", {
    host: config.http.host,
    port: config.http.port,
    mode: config.storage.mode,
  });
  const stop = async () => {
    await app.stop();
    await runtime.dispose();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
};

if (import.meta.main) await main();
