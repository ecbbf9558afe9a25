import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import {
  ConfigProvider,
  Effect,
  Config as EffectConfig,
  Option,
  Redacted,
  Result,
  Schema,
  SchemaIssue,
} from "effect";
import type { TokenAlgorithm } from "../../application/ports/KeySettings.ts";
import { isValidPassword, passwordRule } from "../../domain/user/Password.ts";
import { isValidUsername, usernameRule } from "../../domain/user/Username.ts";

export type NodeEnv = "production" | "development" | "test";
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "pretty";

export type Secret = Redacted.Redacted<string>;

export type Storage =
  | { readonly mode: "embedded"; readonly dataDir: string }
  | {
      readonly mode: "servers";
      readonly databaseUrl: Secret;
      readonly databaseSchema: string | undefined;
      readonly redisUrl: Secret;
      readonly redisKeyPrefix: string;
      readonly cacheRedisUrl: Secret;
      readonly redisCommandTimeoutMs: number;
    };

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
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
    readonly secret: Secret;
    /** No secret was configured: `secret` is random, and embedded mode keeps one in DATA_DIR. */
    readonly generated: boolean;
    readonly algorithm: TokenAlgorithm;
    /** Seals the key ring's private keys; unset only with HS256, or embedded (kept in DATA_DIR). */
    readonly keyEncryptionKey: Secret | undefined;
    /** 0: keys rotate only when asked. */
    readonly keyRotationDays: number;
    readonly issuer: string;
    readonly accessTokenMinutes: number;
    readonly refreshTokenDays: number;
    readonly refreshGraceSeconds: number;
  };
  readonly cache: { readonly enabled: boolean; readonly ttlSeconds: number };
  readonly heavyTaskMaxN: number;
  readonly heavyTaskWorkers: number;
  readonly heavyTaskQueue: number;
  readonly admin: { readonly username: string; readonly password: Secret } | undefined;
  readonly limits: {
    readonly registerPerIpPerHour: number;
    readonly loginMaxFailuresPerUser: number;
    readonly loginMaxFailuresPerIp: number;
    readonly loginLockoutSeconds: number;
  };
  readonly passwordHash: { readonly memoryKib: number; readonly timeCost: number };
  /** Minutes between LogSealed events; 0: only `cli seal`. */
  readonly logSealMinutes: number;
}

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

const show = (value: string): string =>
  JSON.stringify(value.length > 64 ? `${value.slice(0, 61)}...` : value);

interface Variable<A> {
  readonly name: string;
  readonly expected: string;
  readonly config: EffectConfig.Config<A>;
}

type Rule = (value: string) => string | undefined;

const checked = (name: string, rule: Rule) =>
  EffectConfig.schema(Schema.String.check(Schema.makeFilter(rule)), name);

const checkedSecret = (name: string, rule: Rule) =>
  EffectConfig.schema(Schema.Redacted(Schema.String.check(Schema.makeFilter(rule))), name);

const text = (name: string): Variable<string> => ({
  name,
  expected: "a string",
  config: EffectConfig.String(name),
});

const secret = (name: string): Variable<Secret> => ({
  name,
  expected: "a string",
  config: EffectConfig.Redacted(name),
});

const integer = (name: string, min: number, max: number): Variable<number> => ({
  name,
  expected: `an integer from ${min} to ${max}`,
  config: checked(name, (value) => {
    if (!/^[+-]?\d+$/.test(value)) return `${show(value)} is not an integer`;
    const parsed = Number(value);
    return parsed < min || parsed > max ? `${show(value)} is out of range` : undefined;
  }).pipe(EffectConfig.map(Number)),
});

const booleans = new Map([
  ["true", true],
  ["false", false],
  ["1", true],
  ["0", false],
  ["yes", true],
  ["no", false],
]);

const boolean = (name: string): Variable<boolean> => ({
  name,
  expected: `one of ${[...booleans.keys()].join(", ")}`,
  config: checked(name, (value) =>
    booleans.has(value.toLowerCase()) ? undefined : `${show(value)} is not a boolean`,
  ).pipe(EffectConfig.map((value) => booleans.get(value.toLowerCase()) === true)),
});

const choice = <T extends string>(name: string, allowed: readonly T[]): Variable<T> => {
  const isAllowed = (value: string) => allowed.some((item) => item === value);
  return {
    name,
    expected: `one of ${allowed.join(", ")}`,
    config: checked(name, (value) =>
      isAllowed(value.toLowerCase()) ? undefined : `${show(value)} is not allowed`,
    ).pipe(EffectConfig.map((value) => value.toLowerCase() as T)), // checked just above
  };
};

const matching = (name: string, pattern: RegExp, expected: string): Variable<string> => ({
  name,
  expected,
  config: checked(name, (value) =>
    pattern.test(value) ? undefined : `${show(value)} is not allowed`,
  ),
});

const list = (name: string): Variable<readonly string[]> => ({
  name,
  expected: "a comma-separated list",
  config: EffectConfig.Array(Schema.Trim, name).pipe(
    EffectConfig.map((items) => items.filter((item) => item !== "")),
  ),
});

/** A server URL, checked without ever echoing it (URLs often carry a password), kept redacted. */
const serverUrl = (name: string, protocols: readonly string[]): Variable<Secret> => ({
  name,
  expected: `a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`,
  config: checkedSecret(name, (value) => {
    const parsed = URL.parse(value);
    if (parsed === null) return "is not a valid URL";
    if (!protocols.includes(parsed.protocol)) {
      return `has the unsupported scheme ${show(parsed.protocol)}`;
    }
    return parsed.hostname === "" ? "has no host" : undefined;
  }),
});

const clusterUrl = (name: string): Variable<Secret> => ({
  name,
  expected: "redis-cluster://host:port,host:port (one or more seed nodes)",
  config: checkedSecret(name, (value) =>
    /^rediss?-cluster:\/\/(?:[^@/]*@)?[^/,@]+:\d+(?:,[^/,@]+:\d+)*\/?$/.test(value)
      ? undefined
      : "is not a valid cluster URL",
  ),
});

const problemsOf = (error: EffectConfig.ConfigError): readonly string[] =>
  Schema.isSchemaError(error.cause)
    ? SchemaIssue.makeFormatterStandardSchemaV1()(error.cause.issue).issues.map((i) => i.message)
    : [error.message];

/** One variable at a time, so every bad value is reported (`Config.all` stops at the first). */
class Reader {
  readonly errors: ConfigError[] = [];
  readonly warnings: string[] = [];
  private readonly provider: ConfigProvider.ConfigProvider;

  constructor(env: Env) {
    // Trimmed, a blank value is "", which effect treats as unset (compose files pass `VAR=`).
    const trimmed = Object.entries(env).map(([name, value]) => [name, value?.trim()]);
    this.provider = ConfigProvider.fromEnvRecord(Object.fromEntries(trimmed));
  }

  read<A>(variable: Variable<A>, fallback: A): A {
    const config = variable.config.pipe(EffectConfig.withDefault(fallback));
    const result = Effect.runSync(Effect.result(config.parse(this.provider)));
    if (Result.isSuccess(result)) return result.success;
    for (const problem of problemsOf(result.failure)) {
      this.fail(variable.name, problem, variable.expected);
    }
    return fallback;
  }

  optional<A>(variable: Variable<A>): A | undefined {
    const config = EffectConfig.option(variable.config);
    return Option.getOrUndefined(this.read({ ...variable, config }, Option.none()));
  }

  isSet(name: string): boolean {
    return this.optional(text(name)) !== undefined;
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
}

const postgresNames = [
  "POSTGRES_HOST",
  "POSTGRES_PORT",
  "POSTGRES_USER",
  "POSTGRES_PASSWORD",
  "POSTGRES_DB",
] as const;
const redisNames = ["REDIS_HOST", "REDIS_PORT", "REDIS_DB"] as const;

const isAre = (names: readonly string[]): string => (names.length === 1 ? "is" : "are");

const hostForUrl = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

const databaseUrl = (read: Reader): Secret | undefined => {
  const fromUrl = read.optional(serverUrl("DATABASE_URL", ["postgres:", "postgresql:"]));
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
  const host = read.read(text("POSTGRES_HOST"), "127.0.0.1");
  const port = read.read(integer("POSTGRES_PORT", 1, 65535), 5432);
  const user = read.read(text("POSTGRES_USER"), "postgres");
  const password = read.optional(secret("POSTGRES_PASSWORD"));
  const database = read.read(text("POSTGRES_DB"), user);
  const credentials =
    password === undefined
      ? encodeURIComponent(user)
      : `${encodeURIComponent(user)}:${encodeURIComponent(Redacted.value(password))}`;
  return Redacted.make(
    `postgres://${credentials}@${hostForUrl(host)}:${port}/${encodeURIComponent(database)}`,
  );
};

const redisUrl = (read: Reader): Secret | undefined => {
  const cluster = /^rediss?-cluster:/.test(read.optional(text("REDIS_URL")) ?? "");
  const fromUrl = read.optional(
    cluster ? clusterUrl("REDIS_URL") : serverUrl("REDIS_URL", ["redis:", "rediss:"]),
  );
  const seedNamesSet = redisNames.filter((name) => read.isSet(name));
  if (read.isSet("REDIS_URL")) {
    if (seedNamesSet.length > 0) {
      read.warn(`REDIS_URL is set, so ${seedNamesSet.join(", ")} ${isAre(seedNamesSet)} ignored`);
    }
    return fromUrl;
  }
  if (seedNamesSet.length === 0) return undefined;
  const host = read.read(text("REDIS_HOST"), "127.0.0.1");
  const port = read.read(integer("REDIS_PORT", 1, 65535), 6379);
  const db = read.read(integer("REDIS_DB", 0, 1_000_000), 0);
  return Redacted.make(`redis://${hostForUrl(host)}:${port}/${db}`);
};

const storage = (read: Reader): Storage | undefined => {
  const databaseConfigured = read.isSet("DATABASE_URL") || postgresNames.some((n) => read.isSet(n));
  const redisConfigured = read.isSet("REDIS_URL") || redisNames.some((n) => read.isSet(n));
  const database = databaseUrl(read);
  const redis = redisUrl(read);
  const cacheRedis = read.optional(serverUrl("CACHE_REDIS_URL", ["redis:", "rediss:"]));
  const redisCommandTimeoutMs = read.read(integer("REDIS_COMMAND_TIMEOUT_MS", 1, 60_000), 250);
  const databaseSchema = read.optional(
    matching(
      "DATABASE_SCHEMA",
      /^[a-z_][a-z0-9_]{0,62}$/,
      "a lower-case SQL identifier of at most 63 characters",
    ),
  );
  // Braces would change the Redis Cluster hash tag that keeps one user's keys in one slot.
  const redisKeyPrefix = read.read(
    matching(
      "REDIS_KEY_PREFIX",
      /^[^\s{}]{1,64}$/,
      "at most 64 characters without whitespace or braces",
    ),
    "auth:",
  );
  const dataDir = read.read(text("DATA_DIR"), "./data");

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

const jwtSecret = (read: Reader, nodeEnv: NodeEnv, embedded: boolean): Secret | undefined => {
  const fromJwt = read.optional(secret("JWT_SECRET"));
  const fromSeed = read.optional(secret("SECRET_KEY"));
  const name = fromJwt !== undefined ? "JWT_SECRET" : "SECRET_KEY";
  const found = fromJwt ?? fromSeed;
  if (
    fromJwt !== undefined &&
    fromSeed !== undefined &&
    Redacted.value(fromJwt) !== Redacted.value(fromSeed)
  ) {
    read.warn("JWT_SECRET and SECRET_KEY are both set and differ: JWT_SECRET is used");
  }
  const expected = `a random value of at least ${minimumSecretBytes} bytes, e.g. from \`openssl rand -base64 48\``;
  const production = nodeEnv === "production";
  if (found === undefined) {
    if (production) read.fail("JWT_SECRET", "is not set (nor its alias SECRET_KEY)", expected);
    else if (embedded)
      read.warn(
        "JWT_SECRET is not set: using the secret kept in DATA_DIR/jwt-secret (made once, mode 0600)",
      );
    else
      read.warn(
        "JWT_SECRET is not set: using a random secret for this process, so tokens do not survive a restart",
      );
    return undefined;
  }
  const value = Redacted.value(found);
  if (isKnownDefaultSecret(value)) {
    if (production) read.fail(name, "is a well-known default secret", expected);
    else read.warn(`${name} is a well-known default secret: never use it in production`);
  } else if (byteLength(value) < minimumSecretBytes) {
    const problem = `is shorter than ${minimumSecretBytes} bytes`;
    if (production) read.fail(name, problem, expected);
    else read.warn(`${name} ${problem}: production refuses it`);
  }
  return found;
};

const algorithmNames = new Map<string, TokenAlgorithm>([
  ["hs256", "HS256"],
  ["es256", "ES256"],
  ["eddsa", "EdDSA"],
]);

const algorithmOf = (name: string): Variable<TokenAlgorithm> => ({
  name,
  expected: `one of ${[...algorithmNames.values()].join(", ")}`,
  config: checked(name, (value) =>
    algorithmNames.has(value.toLowerCase()) ? undefined : `${show(value)} is not supported`,
  ).pipe(EffectConfig.map((value) => algorithmNames.get(value.toLowerCase()) ?? "HS256")),
});

const algorithm = (read: Reader): TokenAlgorithm => {
  const seed = read.optional(algorithmOf("ALGORITHM"));
  const alias = read.optional(algorithmOf("JWT_ALGORITHM"));
  if (seed !== undefined && alias !== undefined && seed !== alias) {
    read.warn("ALGORITHM and JWT_ALGORITHM are both set and differ: ALGORITHM is used");
  }
  return seed ?? alias ?? "HS256";
};

const keyEncryptionKey = (
  read: Reader,
  nodeEnv: NodeEnv,
  embedded: boolean,
  algorithm: TokenAlgorithm,
): Secret | undefined => {
  const name = "KEY_ENCRYPTION_KEY";
  const found = read.optional(secret(name));
  const expected = `a random value of at least ${minimumSecretBytes} bytes, the same on every instance, e.g. from \`openssl rand -base64 48\``;
  // Kept with HS256 too: it also wraps the users' data keys, whatever signs the tokens.
  if (found === undefined && algorithm === "HS256") return undefined;
  if (found === undefined) {
    const problem = `is not set, and ALGORITHM=${algorithm} seals the private signing keys with it`;
    if (nodeEnv === "production" || !embedded) read.fail(name, problem, expected);
    else
      read.warn(
        `${name} is not set: using the one kept in DATA_DIR/key-encryption-key (made once, mode 0600)`,
      );
    return undefined;
  }
  const value = Redacted.value(found);
  if (isKnownDefaultSecret(value)) {
    if (nodeEnv === "production") read.fail(name, "is a well-known default secret", expected);
    else read.warn(`${name} is a well-known default secret: never use it in production`);
  } else if (byteLength(value) < minimumSecretBytes) {
    read.fail(name, `is shorter than ${minimumSecretBytes} bytes`, expected);
  }
  return found;
};

const admin = (read: Reader): Config["admin"] => {
  const username = read.optional(text("ADMIN_USERNAME"));
  const password = read.optional(secret("ADMIN_PASSWORD"));
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
  if (!isValidPassword(Redacted.value(password))) {
    read.fail("ADMIN_PASSWORD", "is not a valid password", passwordRule);
    valid = false;
  }
  return valid ? { username, password } : undefined;
};

const trustedProxies = (read: Reader): string[] => {
  const items = read.read(list("TRUSTED_PROXIES"), []);
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
  for (const item of read.read(list("CORS_ORIGINS"), [])) {
    if (item === "*") {
      // The refresh cookie makes cross-origin calls credentialed, which a wildcard cannot allow.
      read.fail("CORS_ORIGINS", '"*" is not allowed with credentialed requests', expected);
      continue;
    }
    const parsed = URL.parse(item);
    const isOrigin =
      parsed !== null &&
      (parsed.protocol === "http:" || parsed.protocol === "https:") &&
      parsed.origin === item.replace(/\/$/, "");
    if (isOrigin) origins.push(parsed.origin);
    else read.fail("CORS_ORIGINS", `${show(item)} is not an origin`, expected);
  }
  return origins;
};

/** Secret values and URLs never appear in a message and stay `Redacted`; see `.env.example`. */
export const loadConfig = (env: Env = process.env): ConfigResult => {
  const read = new Reader(env);
  const nodeEnv = read.read(
    choice<NodeEnv>("NODE_ENV", ["production", "development", "test"]),
    "development",
  );
  const production = nodeEnv === "production";

  const tokenAlgorithm = algorithm(read);
  const issuer = read.read(text("JWT_ISSUER"), "authlog");

  const cookieSecure = read.read(boolean("COOKIE_SECURE"), true);
  if (production && !cookieSecure) {
    read.warn("COOKIE_SECURE is false in production: the refresh cookie is sent over plain http");
  }

  const stored = storage(read) ?? { mode: "embedded" as const, dataDir: "./data" };
  const configuredSecret = jwtSecret(read, nodeEnv, stored.mode === "embedded");
  const config: Config = {
    nodeEnv,
    logLevel: read.read(choice<LogLevel>("LOG_LEVEL", ["debug", "info", "warn", "error"]), "info"),
    logFormat: read.read(choice<LogFormat>("LOG_FORMAT", ["json", "pretty"]), "json"),
    http: {
      // A laptop default must not listen on the LAN; containers and servers set HOST.
      host: read.read(text("HOST"), stored.mode === "embedded" ? "127.0.0.1" : "0.0.0.0"),
      port: read.read(integer("PORT", 0, 65535), 3000),
      cookieSecure,
      trustedProxies: trustedProxies(read),
      corsOrigins: corsOrigins(read),
      metricsEnabled: read.read(boolean("METRICS_ENABLED"), true),
    },
    storage: stored,
    jwt: {
      secret: configuredSecret ?? Redacted.make(randomSecret()),
      generated: configuredSecret === undefined,
      algorithm: tokenAlgorithm,
      keyEncryptionKey: keyEncryptionKey(read, nodeEnv, stored.mode === "embedded", tokenAlgorithm),
      keyRotationDays: read.read(integer("KEY_ROTATION_DAYS", 0, 3650), 0),
      issuer,
      accessTokenMinutes: read.read(integer("ACCESS_TOKEN_EXPIRE_MINUTES", 1, 1440), 15),
      refreshTokenDays: read.read(integer("REFRESH_TOKEN_EXPIRE_DAYS", 1, 365), 7),
      refreshGraceSeconds: read.read(integer("REFRESH_GRACE_SECONDS", 0, 300), 10),
    },
    cache: {
      enabled: read.read(boolean("ENABLE_CACHE"), true),
      ttlSeconds: read.read(integer("CACHE_TTL_SECONDS", 1, 2_592_000), 3600),
    },
    heavyTaskMaxN: read.read(integer("HEAVY_TASK_MAX_N", 0, 1_000_000), 100_000),
    heavyTaskWorkers: read.read(integer("HEAVY_TASK_WORKERS", 1, 256), availableParallelism()),
    heavyTaskQueue: read.read(integer("HEAVY_TASK_QUEUE", 0, 100_000), 64),
    admin: admin(read),
    limits: {
      registerPerIpPerHour: read.read(integer("REGISTER_RATE_LIMIT", 0, 1_000_000), 20),
      loginMaxFailuresPerUser: read.read(integer("LOGIN_MAX_FAILURES_PER_USER", 1, 1_000_000), 10),
      loginMaxFailuresPerIp: read.read(integer("LOGIN_MAX_FAILURES_PER_IP", 1, 1_000_000), 100),
      loginLockoutSeconds: read.read(integer("LOGIN_LOCKOUT_SECONDS", 1, 86_400), 900),
    },
    passwordHash: {
      memoryKib: read.read(integer("PASSWORD_HASH_MEMORY_KIB", 19_456, 4_194_304), 19_456),
      timeCost: read.read(integer("PASSWORD_HASH_TIME_COST", 2, 20), 2),
    },
    logSealMinutes: read.read(integer("LOG_SEAL_MINUTES", 0, 10_080), 60),
  };

  return read.errors.length === 0
    ? { ok: true, config, warnings: read.warnings }
    : { ok: false, errors: read.errors, warnings: read.warnings };
};

export const formatConfigErrors = (errors: readonly ConfigError[]): string =>
  [
    `Invalid configuration (${errors.length} problem${errors.length === 1 ? "" : "s"}):`,
    ...errors.map((error) => `  - ${error.message}`),
  ].join("\n");
