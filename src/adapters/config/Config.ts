import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { isValidPassword, passwordRule } from "../../domain/user/Password.ts";
import { isValidUsername, usernameRule } from "../../domain/user/Username.ts";

export type NodeEnv = "production" | "development" | "test";
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Where events, projections and the cache live. */
export type Storage =
  | { readonly mode: "embedded"; readonly dataDir: string }
  | {
      readonly mode: "servers";
      readonly databaseUrl: string;
      /** Schema for the event tables; undefined = the connection's default search_path. */
      readonly databaseSchema: string | undefined;
      readonly redisUrl: string;
      /** Prefix of every projection key, before the `{u:<id>}` hash tag. */
      readonly redisKeyPrefix: string;
      readonly cacheRedisUrl: string;
      readonly redisCommandTimeoutMs: number;
    };

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly logLevel: LogLevel;
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly cookieSecure: boolean;
    readonly trustedProxies: readonly string[];
    readonly corsOrigins: readonly string[];
    readonly metricsEnabled: boolean;
  };
  readonly storage: Storage;
  readonly jwt: {
    readonly secret: string;
    readonly algorithm: "HS256";
    readonly issuer: string;
    readonly accessTokenMinutes: number;
    readonly refreshTokenDays: number;
    readonly refreshGraceSeconds: number;
  };
  readonly cache: { readonly enabled: boolean; readonly ttlSeconds: number };
  readonly heavyTaskMaxN: number;
  /** Worker threads computing the heavy task; default: one per core. */
  readonly heavyTaskWorkers: number;
  /** Heavy-task requests that may wait for a worker before the rest get 503. */
  readonly heavyTaskQueue: number;
  readonly admin: { readonly username: string; readonly password: string } | undefined;
  readonly limits: {
    readonly registerPerIpPerHour: number;
    readonly loginMaxFailuresPerUser: number;
    readonly loginMaxFailuresPerIp: number;
    readonly loginLockoutSeconds: number;
  };
  readonly passwordHash: { readonly memoryKib: number; readonly timeCost: number };
}

/** One bad variable: which one, what is wrong with it, and what would be accepted. */
export interface ConfigError {
  readonly variable: string;
  readonly problem: string;
  readonly expected: string;
  readonly message: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly string[] }
  | {
      readonly ok: false;
      readonly errors: readonly ConfigError[];
      readonly warnings: readonly string[];
    };

export type Env = Readonly<Record<string, string | undefined>>;

export const minimumSecretBytes = 32;

/** Secrets copied from tutorials, templates and this project's own example file. */
const knownDefaultSecrets = new Set([
  "secret",
  "secretkey",
  "secret-key",
  "secret_key",
  "mysecret",
  "my-secret",
  "supersecret",
  "super-secret",
  "changeme",
  "change-me",
  "change_me",
  "changeit",
  "change-me-in-production",
  "changeme-in-production",
  "change_me_in_production",
  "please-change-me",
  "replace-me",
  "your-secret-key",
  "your_secret_key",
  "yoursecretkey",
  "your-256-bit-secret",
  "your-jwt-secret",
  "jwt-secret",
  "jwt_secret",
  "jwtsecret",
  "password",
  "default",
  "test",
  "development",
  "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
]);

export const isKnownDefaultSecret = (secret: string): boolean =>
  knownDefaultSecrets.has(secret.trim().toLowerCase());

const byteLength = (value: string): number => new TextEncoder().encode(value).length;

const randomSecret = (): string =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");

/** Reads one env record, collecting every problem instead of stopping at the first. */
class Reader {
  readonly errors: ConfigError[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly env: Env) {}

  /** A value that is absent or only whitespace counts as unset (compose files pass `VAR=`). */
  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  isSet(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  fail(variable: string, problem: string, expected: string): void {
    this.errors.push({
      variable,
      problem,
      expected,
      message: `${variable}: ${problem}; expected ${expected}`,
    });
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const expected = `an integer from ${min} to ${max}`;
    if (!/^[+-]?\d+$/.test(value)) {
      this.fail(name, `${show(value)} is not an integer`, expected);
      return fallback;
    }
    const parsed = Number(value);
    if (parsed < min || parsed > max) {
      this.fail(name, `${show(value)} is out of range`, expected);
      return fallback;
    }
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const lower = value.toLowerCase();
    if (["true", "1", "yes"].includes(lower)) return true;
    if (["false", "0", "no"].includes(lower)) return false;
    this.fail(name, `${show(value)} is not a boolean`, "one of true, false, 1, 0, yes, no");
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const lower = value.toLowerCase();
    const found = allowed.find((candidate) => candidate === lower);
    if (found !== undefined) return found;
    this.fail(name, `${show(value)} is not allowed`, `one of ${allowed.join(", ")}`);
    return fallback;
  }

  list(name: string): string[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    return value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
  }

  matching(name: string, pattern: RegExp, expected: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined || pattern.test(value)) return value;
    this.fail(name, `${show(value)} is not allowed`, expected);
    return undefined;
  }

  /** Checks a server URL without ever echoing it: URLs often carry a password. */
  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const expected = `a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      this.fail(name, "is not a valid URL", expected);
      return undefined;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.fail(name, `has the unsupported scheme ${show(parsed.protocol)}`, expected);
      return undefined;
    }
    if (parsed.hostname === "") {
      this.fail(name, "has no host", expected);
      return undefined;
    }
    return value;
  }
}

/** Quotes a non-secret value for an error message, cut short so a message stays one line. */
const show = (value: string): string =>
  JSON.stringify(value.length > 64 ? `${value.slice(0, 61)}...` : value);

const postgresNames = [
  "POSTGRES_HOST",
  "POSTGRES_PORT",
  "POSTGRES_USER",
  "POSTGRES_PASSWORD",
  "POSTGRES_DB",
] as const;
const redisNames = ["REDIS_HOST", "REDIS_PORT", "REDIS_DB"] as const;

const databaseUrl = (read: Reader): string | undefined => {
  const fromUrl = read.url("DATABASE_URL", ["postgres:", "postgresql:"]);
  const seedNamesSet = postgresNames.filter((name) => read.isSet(name));
  if (read.isSet("DATABASE_URL")) {
    if (seedNamesSet.length > 0) {
      read.warn(
        `DATABASE_URL is set, so ${seedNamesSet.join(", ")} ${isAre(seedNamesSet)} ignored`,
      );
    }
    return fromUrl;
  }
  if (seedNamesSet.length === 0) return undefined;
  const host = read.string("POSTGRES_HOST", "127.0.0.1");
  const port = read.integer("POSTGRES_PORT", 5432, 1, 65535);
  const user = read.string("POSTGRES_USER", "postgres");
  const password = read.raw("POSTGRES_PASSWORD");
  const database = read.string("POSTGRES_DB", user);
  const credentials =
    password === undefined
      ? encodeURIComponent(user)
      : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return `postgres://${credentials}@${hostForUrl(host)}:${port}/${encodeURIComponent(database)}`;
};

/** Redis Cluster by seed nodes: `redis-cluster://[user:password@]host:port,host:port`. */
const clusterUrl = /^rediss?-cluster:\/\/(?:[^@/]*@)?[^/,@]+:\d+(?:,[^/,@]+:\d+)*\/?$/;

const redisUrl = (read: Reader): string | undefined => {
  const raw = read.raw("REDIS_URL");
  const fromUrl =
    raw !== undefined && /^rediss?-cluster:/.test(raw)
      ? clusterUrl.test(raw)
        ? raw
        : (read.fail(
            "REDIS_URL",
            "is not a valid cluster URL",
            "redis-cluster://host:port,host:port (one or more seed nodes)",
          ) ?? undefined)
      : read.url("REDIS_URL", ["redis:", "rediss:"]);
  const seedNamesSet = redisNames.filter((name) => read.isSet(name));
  if (read.isSet("REDIS_URL")) {
    if (seedNamesSet.length > 0) {
      read.warn(`REDIS_URL is set, so ${seedNamesSet.join(", ")} ${isAre(seedNamesSet)} ignored`);
    }
    return fromUrl;
  }
  if (seedNamesSet.length === 0) return undefined;
  const host = read.string("REDIS_HOST", "127.0.0.1");
  const port = read.integer("REDIS_PORT", 6379, 1, 65535);
  const db = read.integer("REDIS_DB", 0, 0, 1_000_000);
  return `redis://${hostForUrl(host)}:${port}/${db}`;
};

const isAre = (names: readonly string[]): string => (names.length === 1 ? "is" : "are");

const hostForUrl = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

const storage = (read: Reader): Storage | undefined => {
  const databaseConfigured = read.isSet("DATABASE_URL") || postgresNames.some((n) => read.isSet(n));
  const redisConfigured = read.isSet("REDIS_URL") || redisNames.some((n) => read.isSet(n));
  const database = databaseUrl(read);
  const redis = redisUrl(read);
  const cacheRedis = read.url("CACHE_REDIS_URL", ["redis:", "rediss:"]);
  const redisCommandTimeoutMs = read.integer("REDIS_COMMAND_TIMEOUT_MS", 250, 1, 60_000);
  const databaseSchema = read.matching(
    "DATABASE_SCHEMA",
    /^[a-z_][a-z0-9_]{0,62}$/,
    "a lower-case SQL identifier of at most 63 characters",
  );
  // Braces would change the Redis Cluster hash tag that keeps one user's keys in one slot.
  const redisKeyPrefix =
    read.matching(
      "REDIS_KEY_PREFIX",
      /^[^\s{}]{1,64}$/,
      "at most 64 characters without whitespace or braces",
    ) ?? "auth:";
  const dataDir = read.string("DATA_DIR", "./data");

  if (!databaseConfigured && !redisConfigured) {
    if (read.isSet("CACHE_REDIS_URL")) {
      read.warn("CACHE_REDIS_URL is ignored in embedded mode (no database and no Redis set)");
    }
    return { mode: "embedded", dataDir };
  }
  if (databaseConfigured && !redisConfigured) {
    read.fail(
      "REDIS_URL",
      "is not set although a PostgreSQL database is configured",
      "REDIS_URL (or REDIS_HOST/REDIS_PORT/REDIS_DB) alongside DATABASE_URL, or neither for embedded mode",
    );
    return undefined;
  }
  if (!databaseConfigured && redisConfigured) {
    read.fail(
      "DATABASE_URL",
      "is not set although a Redis server is configured",
      "DATABASE_URL (or POSTGRES_*) alongside REDIS_URL, or neither for embedded mode",
    );
    return undefined;
  }
  if (database === undefined || redis === undefined) return undefined;
  return {
    mode: "servers",
    databaseUrl: database,
    databaseSchema,
    redisUrl: redis,
    redisKeyPrefix,
    cacheRedisUrl: cacheRedis ?? redis,
    redisCommandTimeoutMs,
  };
};

const jwtSecret = (read: Reader, nodeEnv: NodeEnv): string => {
  const fromJwt = read.raw("JWT_SECRET");
  const fromSeed = read.raw("SECRET_KEY");
  const name = fromJwt !== undefined ? "JWT_SECRET" : "SECRET_KEY";
  const secret = fromJwt ?? fromSeed;
  if (fromJwt !== undefined && fromSeed !== undefined && fromJwt !== fromSeed) {
    read.warn("JWT_SECRET and SECRET_KEY are both set and differ: JWT_SECRET is used");
  }
  const expected = `a random value of at least ${minimumSecretBytes} bytes, e.g. from \`openssl rand -base64 48\``;
  const production = nodeEnv === "production";
  if (secret === undefined) {
    if (production) read.fail("JWT_SECRET", "is not set (nor its alias SECRET_KEY)", expected);
    else
      read.warn(
        "JWT_SECRET is not set: using a random secret for this process, so tokens do not survive a restart",
      );
    return randomSecret();
  }
  // Secret values are never echoed: only which rule they break.
  if (isKnownDefaultSecret(secret)) {
    if (production) read.fail(name, "is a well-known default secret", expected);
    else read.warn(`${name} is a well-known default secret: never use it in production`);
  } else if (byteLength(secret) < minimumSecretBytes) {
    const problem = `is shorter than ${minimumSecretBytes} bytes`;
    if (production) read.fail(name, problem, expected);
    else read.warn(`${name} ${problem}: production refuses it`);
  }
  return secret;
};

const admin = (read: Reader): Config["admin"] => {
  const username = read.raw("ADMIN_USERNAME");
  const password = read.raw("ADMIN_PASSWORD");
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined) {
    read.fail("ADMIN_USERNAME", "is not set but ADMIN_PASSWORD is", "both or neither");
    return undefined;
  }
  if (password === undefined) {
    read.fail("ADMIN_PASSWORD", "is not set but ADMIN_USERNAME is", "both or neither");
    return undefined;
  }
  let valid = true;
  if (!isValidUsername(username)) {
    read.fail("ADMIN_USERNAME", `${show(username)} is not a valid username`, usernameRule);
    valid = false;
  }
  if (!isValidPassword(password)) {
    read.fail("ADMIN_PASSWORD", "is not a valid password", passwordRule);
    valid = false;
  }
  return valid ? { username, password } : undefined;
};

const trustedProxies = (read: Reader): string[] => {
  const items = read.list("TRUSTED_PROXIES");
  for (const item of items) {
    if (isIP(item) === 0) {
      read.fail(
        "TRUSTED_PROXIES",
        `${show(item)} is not an IP address`,
        "a comma-separated list of IPv4 or IPv6 addresses",
      );
    }
  }
  return items.filter((item) => isIP(item) !== 0);
};

const corsOrigins = (read: Reader): string[] => {
  const expected = "a comma-separated list of origins such as https://app.example.com";
  const origins: string[] = [];
  for (const item of read.list("CORS_ORIGINS")) {
    if (item === "*") {
      // The refresh cookie makes every cross-origin call credentialed, which a wildcard cannot allow.
      read.fail("CORS_ORIGINS", '"*" is not allowed with credentialed requests', expected);
      continue;
    }
    let origin: string | undefined;
    try {
      const parsed = new URL(item);
      if (
        (parsed.protocol === "http:" || parsed.protocol === "https:") &&
        parsed.origin === item.replace(/\/$/, "")
      ) {
        origin = parsed.origin;
      }
    } catch {
      origin = undefined;
    }
    if (origin === undefined) read.fail("CORS_ORIGINS", `${show(item)} is not an origin`, expected);
    else origins.push(origin);
  }
  return origins;
};

/**
 * Parses an env record into a typed config. Every bad value yields its own error; secret values
 * and URLs never appear in a message. Defaults and ranges are documented in `.env.example`.
 */
export const loadConfig = (env: Env = process.env): ConfigResult => {
  const read = new Reader(env);
  const nodeEnv = read.oneOf<NodeEnv>(
    "NODE_ENV",
    ["production", "development", "test"],
    "development",
  );
  const production = nodeEnv === "production";

  const algorithm = read.raw("ALGORITHM");
  if (algorithm !== undefined && algorithm !== "HS256") {
    read.fail("ALGORITHM", `${show(algorithm)} is not supported`, "HS256");
  }
  const issuer = read.string("JWT_ISSUER", "authlog");

  const cookieSecure = read.boolean("COOKIE_SECURE", true);
  if (production && !cookieSecure) {
    read.warn("COOKIE_SECURE is false in production: the refresh cookie is sent over plain http");
  }

  const config: Config = {
    nodeEnv,
    logLevel: read.oneOf<LogLevel>("LOG_LEVEL", ["debug", "info", "warn", "error"], "info"),
    http: {
      host: read.string("HOST", "0.0.0.0"),
      port: read.integer("PORT", 3000, 0, 65535),
      cookieSecure,
      trustedProxies: trustedProxies(read),
      corsOrigins: corsOrigins(read),
      metricsEnabled: read.boolean("METRICS_ENABLED", true),
    },
    storage: storage(read) ?? { mode: "embedded", dataDir: "./data" },
    jwt: {
      secret: jwtSecret(read, nodeEnv),
      algorithm: "HS256",
      issuer,
      accessTokenMinutes: read.integer("ACCESS_TOKEN_EXPIRE_MINUTES", 15, 1, 1440),
      refreshTokenDays: read.integer("REFRESH_TOKEN_EXPIRE_DAYS", 7, 1, 365),
      refreshGraceSeconds: read.integer("REFRESH_GRACE_SECONDS", 10, 0, 300),
    },
    cache: {
      enabled: read.boolean("ENABLE_CACHE", true),
      ttlSeconds: read.integer("CACHE_TTL_SECONDS", 3600, 1, 2_592_000),
    },
    heavyTaskMaxN: read.integer("HEAVY_TASK_MAX_N", 100_000, 0, 1_000_000),
    heavyTaskWorkers: read.integer("HEAVY_TASK_WORKERS", availableParallelism(), 1, 256),
    heavyTaskQueue: read.integer("HEAVY_TASK_QUEUE", 64, 0, 100_000),
    admin: admin(read),
    limits: {
      registerPerIpPerHour: read.integer("REGISTER_RATE_LIMIT", 20, 0, 1_000_000),
      loginMaxFailuresPerUser: read.integer("LOGIN_MAX_FAILURES_PER_USER", 10, 1, 1_000_000),
      loginMaxFailuresPerIp: read.integer("LOGIN_MAX_FAILURES_PER_IP", 100, 1, 1_000_000),
      loginLockoutSeconds: read.integer("LOGIN_LOCKOUT_SECONDS", 900, 1, 86_400),
    },
    passwordHash: {
      memoryKib: read.integer("PASSWORD_HASH_MEMORY_KIB", 19_456, 19_456, 4_194_304),
      timeCost: read.integer("PASSWORD_HASH_TIME_COST", 2, 2, 20),
    },
  };

  return read.errors.length === 0
    ? { ok: true, config, warnings: read.warnings }
    : { ok: false, errors: read.errors, warnings: read.warnings };
};

/** The error report a process prints before it refuses to start. */
export const formatConfigErrors = (errors: readonly ConfigError[]): string =>
  [
    `Invalid configuration (${errors.length} problem${errors.length === 1 ? "" : "s"}):`,
    ...errors.map((error) => `  - ${error.message}`),
  ].join("\n");
