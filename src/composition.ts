import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cause, Effect, Exit, Layer, ManagedRuntime, Redacted } from "effect";
import {
  type Config,
  formatConfigErrors,
  loadConfig,
  minimumSecretBytes,
} from "./adapters/config/Config.ts";
import { BunPasswordHasherLayer } from "./adapters/crypto/BunPasswordHasher.ts";
import { HmacLogSignerLayer } from "./adapters/crypto/HmacLogSigner.ts";
import { HmacTokensLayer } from "./adapters/crypto/HmacTokens.ts";
import { KeyRingTokensLayer } from "./adapters/crypto/KeyRingTokens.ts";
import { NodeRsArgon2PasswordHasherLayer } from "./adapters/crypto/NodeRsArgon2PasswordHasher.ts";
import { NodeKeyGeneratorLayer } from "./adapters/crypto/NodeSigningKeys.ts";
import { PersonalDataLayer, PersonalFieldsLayer } from "./adapters/crypto/PersonalData.ts";
import { Sha256ClientSecretsLayer } from "./adapters/crypto/Sha256ClientSecrets.ts";
import { UuidIdsLayer } from "./adapters/crypto/UuidIds.ts";
import { MemoryCacheLayer } from "./adapters/embedded/MemoryCache.ts";
import { MemoryRateLimiterLayer } from "./adapters/embedded/MemoryRateLimiter.ts";
import { MemoryTokenStateLayer } from "./adapters/embedded/MemoryTokenState.ts";
import { type App, createApp } from "./adapters/http/app.ts";
import { jsonLogger, type Logger } from "./adapters/logging/jsonLogger.ts";
import { prettyLogger } from "./adapters/logging/prettyLogger.ts";
import { PostgresDataKeysFromUrl } from "./adapters/postgres/PostgresDataKeys.ts";
import { PostgresDirectoryFromUrl } from "./adapters/postgres/PostgresDirectory.ts";
import { PostgresEventStoreFromUrl } from "./adapters/postgres/PostgresEventStore.ts";
import { makePrometheusMetrics } from "./adapters/prometheus/PrometheusMetrics.ts";
import { bunMget } from "./adapters/redis/bunRedis.ts";
import { createRedis, createRedisCluster, isClusterUrl, outage } from "./adapters/redis/client.ts";
import { RedisCacheLayer } from "./adapters/redis/RedisCache.ts";
import { RedisRateLimiterLayer } from "./adapters/redis/RedisRateLimiter.ts";
import { RedisTokenStateLayer } from "./adapters/redis/RedisTokenState.ts";
import { WorkerFibonacciComputerLayer } from "./adapters/worker/WorkerFibonacciComputer.ts";
import { AuthenticatorLive } from "./application/Authenticator.ts";
import { bootstrapAdmin } from "./application/bootstrap.ts";
import { DirectoryProjectorLive } from "./application/DirectoryProjector.ts";
import { ExplainerLive } from "./application/Explainer.ts";
import type { AppError } from "./application/errors.ts";
import { NoSigningKeys, SigningKeysLive } from "./application/keys/SigningKeys.ts";
import { gauges } from "./application/operations.ts";
import { ProjectorLive } from "./application/Projector.ts";
import { AuthSettings } from "./application/ports/AuthSettings.ts";
import { Cache, noCache } from "./application/ports/Cache.ts";
import type { DataKeys } from "./application/ports/DataKeys.ts";
import type { Directory, DirectoryUnavailable } from "./application/ports/Directory.ts";
import type { EventStore, StoreUnavailable } from "./application/ports/EventStore.ts";
import { HeavyTaskSettings } from "./application/ports/HeavyTaskSettings.ts";
import { KeyGenerator } from "./application/ports/KeyGenerator.ts";
import { KeySettings } from "./application/ports/KeySettings.ts";
import { Limits } from "./application/ports/Limits.ts";
import { Metrics, type MetricsShape } from "./application/ports/Metrics.ts";
import type { RateLimiter } from "./application/ports/RateLimiter.ts";
import type { TokenState } from "./application/ports/TokenState.ts";
import { LogSealerLive } from "./application/seal.ts";
import type { AppServices } from "./application/services.ts";

/** The JavaScript runtime: Bun's built-ins, or portable adapters for Deno (servers mode only). */
export type Runtime = "bun" | "deno";

/** Where the event log, the token projection and the attempt counters live. */
export type Infrastructure = Layer.Layer<
  EventStore | DataKeys | TokenState | RateLimiter | Directory,
  StoreUnavailable | DirectoryUnavailable
>;

const eventStore = (config: Config) => {
  const storage = config.storage;
  return storage.mode === "embedded"
    ? embeddedEventStore(storage.dataDir)
    : PostgresEventStoreFromUrl({
        url: Redacted.value(storage.databaseUrl),
        ...(storage.databaseSchema ? { schema: storage.databaseSchema } : {}),
      });
};

/** What `seal` and `verify-log` run on: the event store and the seal signer, no Redis. */
export const logServices = (config: Config) => {
  const kept = keptSecrets(config);
  return Layer.merge(eventStore(kept), HmacLogSignerLayer(Redacted.value(kept.jwt.secret)));
};

const personalSecrets = (config: Config) => ({
  claimSecret: Redacted.value(config.jwt.secret),
  keyEncryptionKey: config.jwt.keyEncryptionKey && Redacted.value(config.jwt.keyEncryptionKey),
});

/** Personal fields sealed under per-user data keys (decision 48). */
const personalData = (config: Config) => PersonalDataLayer(personalSecrets(config));

/** The event store and its data keys, with no sealing in between. */
const storedLog = (config: Config) => {
  const storage = config.storage;
  if (storage.mode === "embedded") return embeddedEventStore(storage.dataDir);
  const database = {
    url: Redacted.value(storage.databaseUrl),
    ...(storage.databaseSchema ? { schema: storage.databaseSchema } : {}),
  };
  return PostgresDataKeysFromUrl(database).pipe(
    Layer.provideMerge(PostgresEventStoreFromUrl(database)),
  );
};

/** What `upgrade-personal-data` runs on: the log as stored, its keys, the seal signer. */
export const upgradeServices = (config: Config) => {
  const kept = keptSecrets(config);
  return Layer.mergeAll(
    PersonalFieldsLayer(personalSecrets(kept)),
    HmacLogSignerLayer(Redacted.value(kept.jwt.secret)),
  ).pipe(Layer.provideMerge(storedLog(kept)));
};

export const infrastructure = (config: Config, log: Logger): Infrastructure => {
  const storage = config.storage;
  if (storage.mode === "embedded") {
    return Layer.mergeAll(
      personalData(config).pipe(Layer.provide(embeddedEventStore(storage.dataDir))),
      embeddedDirectory(storage.dataDir),
      MemoryTokenStateLayer,
      MemoryRateLimiterLayer,
    );
  }
  const database = {
    url: Redacted.value(storage.databaseUrl),
    ...(storage.databaseSchema ? { schema: storage.databaseSchema } : {}),
  };
  // In turn: the event store creates the schema and migrates it first.
  const stored = storedLog(config);
  const store = PostgresDirectoryFromUrl(database).pipe(
    Layer.provideMerge(personalData(config).pipe(Layer.provide(stored))),
  );
  const redisOutage = outage(log, {
    down: "redis unreachable: token checks and logins answer 503 until it is back",
    up: "redis reachable again",
  });
  const redisUrl = Redacted.value(storage.redisUrl);
  const cluster = isClusterUrl(redisUrl);
  const redis = Layer.unwrap(
    Effect.acquireRelease(
      Effect.sync(() => {
        const options = {
          url: redisUrl,
          commandTimeoutMs: storage.redisCommandTimeoutMs,
          onError: redisOutage.down,
          onReady: redisOutage.up,
        };
        const client = cluster ? createRedisCluster(options) : createRedis(options);
        client.connect().catch(() => {});
        return client;
      }),
      (client) => Effect.sync(() => client.destroy()),
    ).pipe(
      Effect.flatMap((client) =>
        Effect.map(nativeMget(redisUrl, cluster), (native) => ({ client, native })),
      ),
      Effect.map(({ client, native }) =>
        Layer.merge(
          RedisTokenStateLayer(
            client,
            storage.redisKeyPrefix,
            storage.redisCommandTimeoutMs,
            cluster,
            native,
          ),
          RedisRateLimiterLayer(client, storage.redisKeyPrefix, storage.redisCommandTimeoutMs),
        ),
      ),
    ),
  );
  return Layer.merge(store, redis);
};

/** On Bun, token checks read through Bun's own Redis client (decision 32); not on a cluster. */
const nativeMget = (url: string, cluster: boolean) =>
  typeof Bun === "undefined" || cluster
    ? Effect.succeed(undefined)
    : Effect.acquireRelease(
        Effect.sync(() => bunMget(url)),
        (native) => Effect.sync(() => native.close()),
      ).pipe(Effect.map((native) => native.mget));

/** What `replay` runs on: the infrastructure, and ids for a new generation of the projection. */
export const replayServices = (config: Config, log: Logger) =>
  Layer.merge(infrastructure(config, log), UuidIdsLayer);

// Loaded only in embedded mode: bun:sqlite is Bun's, and Deno imports this module too.
const embeddedEventStore = (dataDir: string) =>
  Layer.unwrap(
    Effect.promise(() => import("./adapters/embedded/EmbeddedEventStore.ts")).pipe(
      Effect.map((module) => module.EmbeddedEventStoreLayer(dataDir)),
    ),
  );

const embeddedDirectory = (dataDir: string) =>
  Layer.unwrap(
    Effect.promise(() => import("./adapters/embedded/SqliteDirectory.ts")).pipe(
      Effect.map((module) => module.SqliteDirectoryLayer(dataDir)),
    ),
  );

/** The heavy task's worker pool and cache: in process when embedded, else on its own Redis connection. */
export const heavyTaskLayers = (config: Config, log: Logger) => {
  const storage = config.storage;
  const cache = !config.cache.enabled
    ? Layer.succeed(Cache, noCache)
    : storage.mode === "embedded"
      ? MemoryCacheLayer()
      : RedisCacheLayer({
          url: Redacted.value(storage.cacheRedisUrl),
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

/** LOG_FORMAT: JSON lines for machines (the default), or one readable line for a person. */
export const logger = (config: Pick<Config, "logLevel" | "logFormat">): Logger =>
  config.logFormat === "pretty" ? prettyLogger(config.logLevel) : jsonLogger(config.logLevel);

/** How often an instance looks for key-ring changes made elsewhere (revocations within 1 s). */
const keyPollMs = 250;

/** HS256: the secret signs every token. ES256, EdDSA: the key ring signs access tokens. */
const signingLayers = (config: Config) => {
  const { algorithm, issuer, keyEncryptionKey, keyRotationDays } = config.jwt;
  const secret = Redacted.value(config.jwt.secret);
  const settings = Layer.succeed(KeySettings, {
    algorithm,
    rotationMs: keyRotationDays * 86_400_000,
  });
  if (algorithm === "HS256") {
    const noKeys = Layer.succeed(KeyGenerator, {
      generate: () => Effect.die(new Error("HS256 makes no signing keys")),
    });
    return Layer.mergeAll(HmacTokensLayer({ secret, issuer }), NoSigningKeys, noKeys, settings);
  }
  if (keyEncryptionKey === undefined) {
    throw new Error(`ALGORITHM=${algorithm} needs KEY_ENCRYPTION_KEY`);
  }
  const kek = Redacted.value(keyEncryptionKey);
  const ring = SigningKeysLive({ pollMs: keyPollMs }).pipe(
    Layer.provideMerge(Layer.merge(NodeKeyGeneratorLayer(kek), settings)),
  );
  return KeyRingTokensLayer({ secret, issuer, keyEncryptionKey: kek }).pipe(
    Layer.provideMerge(ring),
  );
};

/** config -> layers: every service the use cases need, over the given infrastructure. */
export const services = (
  config: Config,
  infra: Infrastructure,
  log: Logger = logger(config),
  options: { readonly runtime?: Runtime; readonly metrics?: MetricsShape } = {},
) => {
  const cost = {
    memoryCost: config.passwordHash.memoryKib,
    timeCost: config.passwordHash.timeCost,
  };
  const base = Layer.mergeAll(
    infra,
    heavyTaskLayers(config, log),
    UuidIdsLayer,
    Sha256ClientSecretsLayer,
    options.runtime === "deno"
      ? NodeRsArgon2PasswordHasherLayer(cost)
      : BunPasswordHasherLayer(cost),
    HmacLogSignerLayer(Redacted.value(config.jwt.secret)),
    options.metrics ? Layer.succeed(Metrics, options.metrics) : Layer.empty,
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
    Layer.provideMerge(ExplainerLive()),
    Layer.provideMerge(ProjectorLive({ pollMs: 1000 })),
    Layer.provideMerge(signingLayers(config)),
    Layer.provideMerge(DirectoryProjectorLive({ pollMs: 1000 })),
    Layer.provideMerge(base),
  );
  const sealer = LogSealerLive(config.logSealMinutes, (error) =>
    log("warn", "sealing the log failed; next attempt at the next turn", { error }),
  );
  return Layer.mergeAll(adminBootstrap(config, log), sealer).pipe(Layer.provideMerge(all));
};

/** Creates ADMIN_USERNAME at start when it does not exist; a failure is logged, not fatal. */
const adminBootstrap = (config: Config, log: Logger) => {
  const admin = config.admin;
  if (admin === undefined) return Layer.empty;
  return Layer.effectDiscard(
    bootstrapAdmin({ ...admin, password: Redacted.value(admin.password) }).pipe(
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

const maxBodyBytes = 64 * 1024;

export type ComposeOptions = {
  readonly runtime?: Runtime;
  /** The socket peer of a request, where the server is not Bun's. */
  readonly peerAddress?: (request: Request) => string | undefined;
};

/** Builds the runtime and the HTTP app; nothing listens yet. */
export const compose = (
  config: Config,
  log: Logger,
  infra = infrastructure(config, log),
  options: ComposeOptions = {},
) => {
  const prometheus = config.http.metricsEnabled ? makePrometheusMetrics() : undefined;
  const layer: Layer.Layer<AppServices, AppError> = services(config, infra, log, {
    ...(options.runtime ? { runtime: options.runtime } : {}),
    ...(prometheus ? { metrics: prometheus.service } : {}),
  });
  const runtime = ManagedRuntime.make(layer);
  const app = createApp(runtime, {
    cookieSecure: config.http.cookieSecure,
    issuer: config.jwt.issuer,
    maxBodyBytes,
    log,
    heavyTaskMaxN: config.heavyTaskMaxN,
    trustedProxies: config.http.trustedProxies,
    corsOrigins: config.http.corsOrigins,
    metrics: prometheus && {
      contentType: prometheus.contentType,
      requestStarted: prometheus.requestStarted,
      requestFinished: prometheus.requestFinished,
      render: async () => prometheus.render(await runtime.runPromise(gauges)),
    },
    ...(options.peerAddress ? { peerAddress: options.peerAddress } : {}),
  });
  return { runtime, app };
};

/** A listening server; `stop` stops accepting and resolves once in-flight requests are answered. */
export type Listener = { readonly stop: () => Promise<void>; readonly port?: number };

export type Platform = ComposeOptions & {
  readonly serve: (app: App, address: { hostname: string; port: number }) => Listener;
};

export const bun: Platform = {
  runtime: "bun",
  serve: (app, address) => {
    // Not Elysia's default reusePort: a second instance on a busy port must fail, not share it.
    // Bun's own body limit stays above the app's, whose parser refuses larger bodies as a
    // problem; Bun's answer would be a bare 413.
    app.listen({ ...address, maxRequestBodySize: 16 * maxBodyBytes, reusePort: false });
    return {
      ...(app.server?.port === undefined ? {} : { port: app.server.port }),
      stop: async () => {
        await app.stop();
      },
    };
  },
};

/** A value made on the first start and kept in DATA_DIR with mode 0600, read on every start. */
const kept = (dataDir: string, name: string, made: string): string => {
  const file = join(dataDir, name);
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(file, made, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as { code?: unknown }).code !== "EEXIST") throw error;
  }
  const value = readFileSync(file, "utf8").trim();
  if (Buffer.byteLength(value) < minimumSecretBytes) {
    throw new Error(`${file} holds no usable secret: remove it to have a new one made`);
  }
  return value;
};

/**
 * Embedded mode with no JWT_SECRET, or with ES256/EdDSA and no KEY_ENCRYPTION_KEY: what is
 * missing is made once and kept in DATA_DIR, so tokens and keys survive a restart. Elsewhere the
 * config is returned as it is.
 */
export const keptSecrets = (config: Config): Config => {
  if (config.storage.mode !== "embedded") return config;
  const { dataDir } = config.storage;
  const jwt = { ...config.jwt };
  if (jwt.generated)
    jwt.secret = Redacted.make(kept(dataDir, "jwt-secret", Redacted.value(jwt.secret)));
  if (jwt.algorithm !== "HS256" && jwt.keyEncryptionKey === undefined) {
    const made = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
    jwt.keyEncryptionKey = Redacted.make(kept(dataDir, "key-encryption-key", made));
  }
  return { ...config, jwt };
};

/** Why the layers could not be built, in one line: the driver's own words, no stack. */
const startupFailure = (cause: Cause.Cause<unknown>): string => {
  // A failed layer, or one that died (a key ring this instance cannot open).
  const failure =
    cause.reasons.find(Cause.isFailReason)?.error ?? cause.reasons.find(Cause.isDieReason)?.defect;
  const inner = (failure as { cause?: unknown } | undefined)?.cause ?? failure;
  const detail = inner as { code?: unknown; address?: unknown; port?: unknown; message?: unknown };
  const store = (failure as { _tag?: unknown } | undefined)?._tag === "StoreUnavailable";
  if (store && detail.code === "ECONNREFUSED") {
    return `cannot reach PostgreSQL at ${detail.address}:${detail.port}: connection refused`;
  }
  if (typeof detail.message === "string" && detail.message !== "") {
    return store ? `PostgreSQL: ${detail.message}` : detail.message;
  }
  return Cause.pretty(cause).split("\n")[0] ?? "unknown failure";
};

/**
 * A server URL fit for a log line: the query (which may carry credentials) and everything up to
 * the last "@" (a password may hold "/" or "@") removed. Cluster URLs list hosts, so no URL
 * parser takes them all.
 */
const withoutCredentials = (url: string) => {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? "";
  const rest = url.slice(scheme.length).split("?")[0] ?? "";
  return scheme + rest.slice(rest.lastIndexOf("@") + 1);
};

/** Why a listen failed, in a few words. */
const listenFailure = (error: unknown): string => {
  const code = (error as { code?: unknown }).code;
  if (code === "EADDRINUSE") return "the port is in use by another process";
  if (code === "EACCES") return "permission denied (a port below 1024 needs privileges)";
  if (code === "EINVAL" || code === "EADDRNOTAVAIL")
    return "HOST is not an address of this machine";
  return error instanceof Error ? error.message : String(error);
};

/** Past this, a shutdown stops waiting for in-flight requests (Docker kills at 10 s). */
const drainMs = 8_000;

export const main = async (platform: Platform = bun) => {
  const loaded = loadConfig(process.env);
  const log = loaded.ok ? logger(loaded.config) : jsonLogger("info");
  for (const warning of loaded.warnings) log("warn", warning);
  if (!loaded.ok) {
    console.error(formatConfigErrors(loaded.errors));
    process.exit(1);
  }
  const config = (() => {
    try {
      return keptSecrets(loaded.config);
    } catch (error) {
      console.error(
        `cannot keep the secrets in DATA_DIR: ${error instanceof Error ? error.message : error}`,
      );
      return process.exit(1);
    }
  })();
  if (platform.runtime === "deno" && config.storage.mode === "embedded") {
    console.error(
      "Under Deno the service needs DATABASE_URL and REDIS_URL: embedded mode is Bun's.",
    );
    process.exit(1);
  }
  const { runtime, app } = compose(config, log, undefined, platform);
  const started = await runtime.runPromiseExit(Effect.void);
  if (Exit.isFailure(started)) {
    console.error(`cannot start: ${startupFailure(started.cause)}`);
    await runtime.dispose();
    process.exit(1);
  }
  const address = { hostname: config.http.host, port: config.http.port };
  const listener = await Promise.resolve()
    .then(() => platform.serve(app, address))
    .catch(async (error: unknown) => {
      console.error(
        `cannot listen on ${address.hostname}:${address.port}: ${listenFailure(error)}`,
      );
      await runtime.dispose();
      process.exit(1);
    });
  const port = listener.port ?? config.http.port;
  const url = `http://${config.http.host.includes(":") ? `[${config.http.host}]` : config.http.host}:${port}`;
  const storage = config.storage;
  log("info", "listening", {
    url,
    docs: `${url}/docs`,
    mode: storage.mode,
    runtime: platform.runtime ?? "bun",
    ...(storage.mode === "embedded"
      ? { dataDir: storage.dataDir }
      : {
          database: withoutCredentials(Redacted.value(storage.databaseUrl)),
          schema: storage.databaseSchema ?? "(search_path)",
          redis: withoutCredentials(Redacted.value(storage.redisUrl)),
        }),
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log("info", "shutting down", { signal });
    setTimeout(() => {
      log("error", "requests still running at the shutdown deadline: exiting anyway");
      process.exit(1);
    }, drainMs);
    // New connections are refused at once; requests in flight finish before the pools close.
    await listener.stop();
    await runtime.dispose();
    log("info", "stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
};
