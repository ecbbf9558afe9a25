import { describe, expect, test } from "bun:test";
import { Redacted } from "effect";
import {
  type Config,
  type ConfigError,
  type Env,
  formatConfigErrors,
  loadConfig,
} from "../../src/adapters/config/Config.ts";

const strongSecret = "k3Jq9v2XbT7mWz1Lr8Ns4Pd6Hf0Yc5Ga-strong";

const ok = (env: Env): { config: Config; warnings: readonly string[] } => {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(formatConfigErrors(result.errors));
  return result;
};

const errors = (env: Env): readonly ConfigError[] => {
  const result = loadConfig(env);
  if (result.ok) throw new Error("configuration was accepted");
  return result.errors;
};

/** The storage with its URLs revealed, to compare them as strings. */
const revealed = (storage: Config["storage"]) =>
  storage.mode === "embedded"
    ? storage
    : {
        ...storage,
        databaseUrl: Redacted.value(storage.databaseUrl),
        redisUrl: Redacted.value(storage.redisUrl),
        cacheRedisUrl: Redacted.value(storage.cacheRedisUrl),
      };

const errorFor = (env: Env, variable: string): ConfigError => {
  const found = errors(env).filter((error) => error.variable === variable);
  expect(found).toHaveLength(1);
  return found[0] as ConfigError;
};

describe("defaults", () => {
  test("HOST defaults to 127.0.0.1 in embedded mode and to 0.0.0.0 with servers", () => {
    expect(ok({}).config.http.host).toBe("127.0.0.1");
    const servers = ok({
      DATABASE_URL: "postgres://u@127.0.0.1:5432/d",
      REDIS_URL: "redis://127.0.0.1:6379",
    });
    expect(servers.config.storage.mode).toBe("servers");
    expect(servers.config.http.host).toBe("0.0.0.0");
    expect(ok({ HOST: "0.0.0.0" }).config.http.host).toBe("0.0.0.0");
  });

  test("an empty environment gives an embedded development config with the documented defaults", () => {
    const { config } = ok({});
    expect(config.nodeEnv).toBe("development");
    expect(config.logLevel).toBe("info");
    expect(config.logFormat).toBe("json");
    expect(config.http).toEqual({
      host: "127.0.0.1",
      port: 3000,
      cookieSecure: true,
      trustedProxies: [],
      corsOrigins: [],
      metricsEnabled: true,
    });
    expect(config.storage).toEqual({ mode: "embedded", dataDir: "./data" });
    expect(config.jwt.algorithm).toBe("HS256");
    expect(config.jwt.issuer).toBe("authlog");
    expect(config.jwt.accessTokenMinutes).toBe(15);
    expect(config.jwt.refreshTokenDays).toBe(7);
    expect(config.jwt.refreshGraceSeconds).toBe(10);
    expect(config.cache).toEqual({ enabled: true, ttlSeconds: 3600 });
    expect(config.heavyTaskMaxN).toBe(100_000);
    expect(config.admin).toBeUndefined();
    expect(config.limits).toEqual({
      registerPerIpPerHour: 20,
      loginMaxFailuresPerUser: 10,
      loginMaxFailuresPerIp: 100,
      loginLockoutSeconds: 900,
    });
    expect(config.passwordHash).toEqual({ memoryKib: 19_456, timeCost: 2 });
  });

  test("outside production a missing secret becomes a random one per process, with a warning", () => {
    const first = ok({});
    const second = ok({});
    expect(Redacted.value(first.config.jwt.secret).length).toBeGreaterThanOrEqual(32);
    expect(Redacted.value(first.config.jwt.secret)).not.toBe(
      Redacted.value(second.config.jwt.secret),
    );
    expect(first.warnings.some((w) => w.includes("JWT_SECRET is not set"))).toBe(true);
  });

  test("an empty or blank value counts as unset", () => {
    const { config } = ok({ PORT: "", LOG_LEVEL: "  ", DATABASE_URL: "", REDIS_URL: "" });
    expect(config.http.port).toBe(3000);
    expect(config.logLevel).toBe("info");
    expect(config.storage.mode).toBe("embedded");
  });

  test("explicit values are read and converted", () => {
    const { config } = ok({
      NODE_ENV: "test",
      PORT: "8080",
      HOST: "127.0.0.1",
      LOG_LEVEL: "DEBUG",
      LOG_FORMAT: "Pretty",
      DATA_DIR: "/var/lib/authlog",
      JWT_ISSUER: "auth.example.com",
      ACCESS_TOKEN_EXPIRE_MINUTES: "5",
      REFRESH_TOKEN_EXPIRE_DAYS: "30",
      REFRESH_GRACE_SECONDS: "0",
      COOKIE_SECURE: "no",
      ENABLE_CACHE: "0",
      CACHE_TTL_SECONDS: "60",
      HEAVY_TASK_MAX_N: "1000000",
      REGISTER_RATE_LIMIT: "0",
      LOGIN_MAX_FAILURES_PER_USER: "3",
      LOGIN_MAX_FAILURES_PER_IP: "50",
      LOGIN_LOCKOUT_SECONDS: "60",
      TRUSTED_PROXIES: "10.0.0.1, ::1",
      CORS_ORIGINS: "https://app.example.com,http://localhost:5173/",
      METRICS_ENABLED: "false",
      PASSWORD_HASH_MEMORY_KIB: "65536",
      PASSWORD_HASH_TIME_COST: "3",
      ADMIN_USERNAME: "root.admin",
      ADMIN_PASSWORD: "correct horse battery",
    });
    expect(config.nodeEnv).toBe("test");
    expect(config.http).toEqual({
      host: "127.0.0.1",
      port: 8080,
      cookieSecure: false,
      trustedProxies: ["10.0.0.1", "::1"],
      corsOrigins: ["https://app.example.com", "http://localhost:5173"],
      metricsEnabled: false,
    });
    expect(config.logLevel).toBe("debug");
    expect(config.logFormat).toBe("pretty");
    expect(config.storage).toEqual({ mode: "embedded", dataDir: "/var/lib/authlog" });
    expect(config.jwt.issuer).toBe("auth.example.com");
    expect(config.jwt.accessTokenMinutes).toBe(5);
    expect(config.jwt.refreshTokenDays).toBe(30);
    expect(config.jwt.refreshGraceSeconds).toBe(0);
    expect(config.cache).toEqual({ enabled: false, ttlSeconds: 60 });
    expect(config.heavyTaskMaxN).toBe(1_000_000);
    expect(config.limits).toEqual({
      registerPerIpPerHour: 0,
      loginMaxFailuresPerUser: 3,
      loginMaxFailuresPerIp: 50,
      loginLockoutSeconds: 60,
    });
    expect(config.passwordHash).toEqual({ memoryKib: 65_536, timeCost: 3 });
    expect(config.admin?.username).toBe("root.admin");
    expect(config.admin && Redacted.value(config.admin.password)).toBe("correct horse battery");
  });

  test.each([
    ["true", true],
    ["1", true],
    ["yes", true],
    ["YES", true],
    ["false", false],
    ["0", false],
    ["no", false],
  ])("the boolean %p reads as %p", (value, expected) => {
    expect(ok({ ENABLE_CACHE: value }).config.cache.enabled).toBe(expected);
  });
});

describe("aliases", () => {
  test("SECRET_KEY is accepted as the JWT secret", () => {
    expect(Redacted.value(ok({ SECRET_KEY: strongSecret }).config.jwt.secret)).toBe(strongSecret);
  });

  test("JWT_SECRET wins over SECRET_KEY", () => {
    const other = `${strongSecret}-other`;
    const { config, warnings } = ok({ JWT_SECRET: strongSecret, SECRET_KEY: other });
    expect(Redacted.value(config.jwt.secret)).toBe(strongSecret);
    expect(warnings.some((w) => w.includes("JWT_SECRET is used"))).toBe(true);
  });

  test("ALGORITHM=HS256 is accepted", () => {
    expect(ok({ ALGORITHM: "HS256" }).config.jwt.algorithm).toBe("HS256");
  });
});

describe("mode detection", () => {
  test("DATABASE_URL and REDIS_URL select servers mode; the cache defaults to the Redis URL", () => {
    const { config } = ok({
      DATABASE_URL: "postgres://app:pw@db:5432/auth",
      REDIS_URL: "redis://cache:6379/0",
    });
    expect(revealed(config.storage)).toEqual({
      mode: "servers",
      databaseUrl: "postgres://app:pw@db:5432/auth",
      databaseSchema: undefined,
      redisUrl: "redis://cache:6379/0",
      redisKeyPrefix: "auth:",
      cacheRedisUrl: "redis://cache:6379/0",
      redisCommandTimeoutMs: 250,
    });
  });

  test("REDIS_URL may name a Redis Cluster by its seed nodes", () => {
    const url = "redis-cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002";
    const { config } = ok({ DATABASE_URL: "postgres://127.0.0.1/test", REDIS_URL: url });
    expect(revealed(config.storage)).toMatchObject({ mode: "servers", redisUrl: url });
  });

  test.each(["redis-cluster://", "redis-cluster://host", "redis-cluster://a:1,,b:2"])(
    "a malformed cluster URL %p is refused",
    (url) => {
      const found = errors({ DATABASE_URL: "postgres://127.0.0.1/test", REDIS_URL: url });
      expect(found.map((e) => e.variable)).toContain("REDIS_URL");
    },
  );

  test("DATABASE_SCHEMA and REDIS_KEY_PREFIX are read in servers mode", () => {
    const { config } = ok({
      DATABASE_URL: "postgres://127.0.0.1/test",
      DATABASE_SCHEMA: "authlog",
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_KEY_PREFIX: "staging:auth:",
    });
    expect(config.storage).toMatchObject({
      databaseSchema: "authlog",
      redisKeyPrefix: "staging:auth:",
    });
  });

  test("CACHE_REDIS_URL and REDIS_COMMAND_TIMEOUT_MS override their defaults", () => {
    const { config } = ok({
      DATABASE_URL: "postgresql://127.0.0.1/test",
      REDIS_URL: "rediss://127.0.0.1:6380",
      CACHE_REDIS_URL: "redis://127.0.0.1:6379/3",
      REDIS_COMMAND_TIMEOUT_MS: "100",
    });
    expect(revealed(config.storage)).toMatchObject({
      mode: "servers",
      cacheRedisUrl: "redis://127.0.0.1:6379/3",
      redisCommandTimeoutMs: 100,
    });
  });

  test("the seed names POSTGRES_* and REDIS_* build the URLs", () => {
    const { config } = ok({
      POSTGRES_HOST: "db",
      POSTGRES_PORT: "5433",
      POSTGRES_USER: "app",
      POSTGRES_PASSWORD: "p@ss/word",
      POSTGRES_DB: "auth",
      REDIS_HOST: "cache",
      REDIS_PORT: "6380",
      REDIS_DB: "2",
    });
    expect(revealed(config.storage)).toMatchObject({
      mode: "servers",
      databaseUrl: "postgres://app:p%40ss%2Fword@db:5433/auth",
      redisUrl: "redis://cache:6380/2",
    });
  });

  test("one seed name of each is enough; the others take local defaults", () => {
    const { config } = ok({ POSTGRES_DB: "test", REDIS_DB: "1" });
    expect(revealed(config.storage)).toMatchObject({
      mode: "servers",
      databaseUrl: "postgres://postgres@127.0.0.1:5432/test",
      redisUrl: "redis://127.0.0.1:6379/1",
    });
  });

  test("DATABASE_URL and REDIS_URL win over the seed names, with a warning", () => {
    const { config, warnings } = ok({
      DATABASE_URL: "postgres://127.0.0.1/test",
      POSTGRES_HOST: "elsewhere",
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_HOST: "elsewhere",
    });
    expect(revealed(config.storage)).toMatchObject({
      databaseUrl: "postgres://127.0.0.1/test",
      redisUrl: "redis://127.0.0.1:6379",
    });
    expect(warnings.filter((w) => w.includes("ignored"))).toHaveLength(2);
  });

  test("a database without Redis is an error naming what is missing", () => {
    const error = errorFor({ DATABASE_URL: "postgres://127.0.0.1/test" }, "REDIS_URL");
    expect(error.message).toContain("REDIS_URL");
    expect(error.message).toContain("embedded");
  });

  test("Redis without a database is an error naming what is missing", () => {
    const error = errorFor({ REDIS_HOST: "127.0.0.1" }, "DATABASE_URL");
    expect(error.message).toContain("DATABASE_URL");
  });

  test("bad server URLs are refused without echoing them", () => {
    const found = errors({
      DATABASE_URL: "mysql://user:hunter2@db/auth",
      REDIS_URL: "not a url hunter2",
      CACHE_REDIS_URL: "http://user:hunter2@cache",
    });
    expect(found.map((e) => e.variable).sort()).toEqual([
      "CACHE_REDIS_URL",
      "DATABASE_URL",
      "REDIS_URL",
    ]);
    for (const error of found) expect(error.message).not.toContain("hunter2");
  });
});

describe("every bad value yields its own message", () => {
  test.each([
    ["NODE_ENV", "staging", "production, development, test"],
    ["PORT", "http", "an integer from 0 to 65535"],
    ["PORT", "70000", "an integer from 0 to 65535"],
    ["POSTGRES_PORT", "x", "an integer from 1 to 65535"],
    ["REDIS_PORT", "0", "an integer from 1 to 65535"],
    ["REDIS_DB", "-1", "an integer"],
    ["ALGORITHM", "RS256", "HS256, ES256, EdDSA"],
    ["ALGORITHM", "none", "HS256, ES256, EdDSA"],
    ["JWT_ALGORITHM", "HS512", "HS256, ES256, EdDSA"],
    ["KEY_ROTATION_DAYS", "-1", "an integer from 0 to 3650"],
    ["KEY_ROTATION_DAYS", "weekly", "an integer from 0 to 3650"],
    ["ACCESS_TOKEN_EXPIRE_MINUTES", "0", "an integer from 1 to 1440"],
    ["ACCESS_TOKEN_EXPIRE_MINUTES", "1.5", "an integer from 1 to 1440"],
    ["REFRESH_TOKEN_EXPIRE_DAYS", "366", "an integer from 1 to 365"],
    ["REFRESH_GRACE_SECONDS", "301", "an integer from 0 to 300"],
    ["COOKIE_SECURE", "maybe", "true, false, 1, 0, yes, no"],
    ["ENABLE_CACHE", "on", "true, false, 1, 0, yes, no"],
    ["METRICS_ENABLED", "y", "true, false, 1, 0, yes, no"],
    ["CACHE_TTL_SECONDS", "0", "an integer from 1 to"],
    ["HEAVY_TASK_MAX_N", "1000001", "an integer from 0 to 1000000"],
    ["LOG_LEVEL", "trace", "debug, info, warn, error"],
    ["LOG_FORMAT", "text", "json, pretty"],
    ["REGISTER_RATE_LIMIT", "-5", "an integer from 0 to"],
    ["LOGIN_MAX_FAILURES_PER_USER", "0", "an integer from 1 to"],
    ["LOGIN_MAX_FAILURES_PER_IP", "lots", "an integer from 1 to"],
    ["LOGIN_LOCKOUT_SECONDS", "0", "an integer from 1 to"],
    ["TRUSTED_PROXIES", "10.0.0.1,proxy.local", "IPv4 or IPv6 addresses"],
    ["CORS_ORIGINS", "*", "origins"],
    ["CORS_ORIGINS", "https://app.example.com/path", "origins"],
    ["PASSWORD_HASH_MEMORY_KIB", "8192", "an integer from 19456 to"],
    ["PASSWORD_HASH_TIME_COST", "1", "an integer from 2 to"],
    ["REDIS_COMMAND_TIMEOUT_MS", "0", "an integer from 1 to"],
    ["DATABASE_SCHEMA", "auth; drop table x", "SQL identifier"],
    ["REDIS_KEY_PREFIX", "auth:{x}:", "without whitespace or braces"],
  ])("%s=%p is refused", (variable, value, expected) => {
    const env: Record<string, string> = { [variable]: value };
    if (variable.startsWith("POSTGRES_")) env.REDIS_URL = "redis://127.0.0.1:6379";
    if (variable.startsWith("REDIS_") && variable !== "REDIS_COMMAND_TIMEOUT_MS") {
      env.DATABASE_URL = "postgres://127.0.0.1/test";
    }
    const error = errorFor(env, variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.expected).toContain(expected);
  });

  test("several bad values are all reported at once", () => {
    const found = errors({
      PORT: "x",
      LOG_LEVEL: "loud",
      ENABLE_CACHE: "maybe",
      ALGORITHM: "HS512",
    });
    expect(found.map((e) => e.variable).sort()).toEqual([
      "ALGORITHM",
      "ENABLE_CACHE",
      "LOG_LEVEL",
      "PORT",
    ]);
  });

  test("ADMIN_USERNAME without ADMIN_PASSWORD is refused, and the reverse", () => {
    expect(errorFor({ ADMIN_USERNAME: "admin" }, "ADMIN_PASSWORD").expected).toBe(
      "both or neither",
    );
    expect(errorFor({ ADMIN_PASSWORD: "long enough" }, "ADMIN_USERNAME").expected).toBe(
      "both or neither",
    );
  });

  test("an invalid admin username or password is refused without echoing the password", () => {
    const found = errors({ ADMIN_USERNAME: "a b", ADMIN_PASSWORD: "short" });
    expect(found.map((e) => e.variable).sort()).toEqual(["ADMIN_PASSWORD", "ADMIN_USERNAME"]);
    expect(formatConfigErrors(found)).not.toContain('short"');
  });

  test("the error report lists every problem on its own line", () => {
    const report = formatConfigErrors(errors({ PORT: "x", LOG_LEVEL: "loud" }));
    expect(report.split("\n")).toHaveLength(3);
    expect(report).toContain("2 problems");
  });
});

describe("secrets are redacted", () => {
  test("printing or serialising the config shows no secret, password or server URL", () => {
    const { config } = ok({
      JWT_SECRET: strongSecret,
      ADMIN_USERNAME: "root.admin",
      ADMIN_PASSWORD: "correct horse battery",
      POSTGRES_PASSWORD: "hunter2-db",
      REDIS_URL: "redis://:hunter2-redis@cache:6379/0",
      ALGORITHM: "ES256",
      KEY_ENCRYPTION_KEY: "hunter2-key-encryption-key-0123456789",
    });
    for (const printed of [
      JSON.stringify(config),
      Bun.inspect(config),
      String(config.jwt.secret),
    ]) {
      for (const secret of [
        strongSecret,
        "correct horse battery",
        "hunter2-db",
        "hunter2-redis",
        "hunter2-key-encryption-key",
      ]) {
        expect(printed).not.toContain(secret);
      }
    }
    expect(revealed(config.storage)).toMatchObject({
      databaseUrl: "postgres://postgres:hunter2-db@127.0.0.1:5432/postgres",
      redisUrl: "redis://:hunter2-redis@cache:6379/0",
    });
  });
});

describe("production refuses weak secrets", () => {
  const production = { NODE_ENV: "production" };

  test("a missing secret is refused", () => {
    expect(errorFor(production, "JWT_SECRET").problem).toContain("not set");
  });

  test.each([
    "secret",
    "changeme",
    "your-secret-key",
    "change-me-in-production",
    "CHANGE-ME-IN-PRODUCTION",
    "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
  ])("the known default %p is refused without being echoed", (secret) => {
    const error = errorFor({ ...production, JWT_SECRET: secret }, "JWT_SECRET");
    expect(error.problem).toBe("is a well-known default secret");
    const other = errorFor({ ...production, JWT_SECRET: "password" }, "JWT_SECRET");
    expect(error.message).toBe(other.message);
  });

  test("a secret shorter than 32 bytes is refused, through the alias too", () => {
    const short = "0123456789abcdef0123456789abcde";
    expect(errorFor({ ...production, JWT_SECRET: short }, "JWT_SECRET").problem).toContain(
      "shorter than 32 bytes",
    );
    const error = errorFor({ ...production, SECRET_KEY: short }, "SECRET_KEY");
    expect(error.message).not.toContain(short);
  });

  test("the length is counted in bytes, not characters", () => {
    expect(
      Redacted.value(ok({ ...production, JWT_SECRET: "é".repeat(16) }).config.jwt.secret),
    ).toBe("é".repeat(16));
  });

  test("a strong secret is accepted", () => {
    const { config, warnings } = ok({ ...production, JWT_SECRET: strongSecret });
    expect(config.nodeEnv).toBe("production");
    expect(Redacted.value(config.jwt.secret)).toBe(strongSecret);
    expect(warnings).toEqual([]);
  });

  test("outside production a short or default secret is only a warning", () => {
    const short = ok({ JWT_SECRET: "short" });
    expect(Redacted.value(short.config.jwt.secret)).toBe("short");
    expect(short.warnings.some((w) => w.includes("shorter than 32 bytes"))).toBe(true);
    const known = ok({ NODE_ENV: "test", SECRET_KEY: "secret" });
    expect(known.warnings.some((w) => w.includes("well-known default"))).toBe(true);
  });

  test("COOKIE_SECURE=false in production is accepted with a warning", () => {
    const { warnings } = ok({ ...production, JWT_SECRET: strongSecret, COOKIE_SECURE: "false" });
    expect(warnings.some((w) => w.includes("COOKIE_SECURE"))).toBe(true);
  });
});

describe("signing keys", () => {
  const kek = "a-key-encryption-key-of-40-bytes-012345";
  const servers = { DATABASE_URL: "postgres://u@db/d", REDIS_URL: "redis://cache:6379" };

  test("ALGORITHM takes ES256 and EdDSA in any case; JWT_ALGORITHM is its alias", () => {
    expect(ok({ ALGORITHM: "es256" }).config.jwt.algorithm).toBe("ES256");
    expect(ok({ JWT_ALGORITHM: "EDDSA" }).config.jwt.algorithm).toBe("EdDSA");
    const both = ok({ ALGORITHM: "ES256", JWT_ALGORITHM: "EdDSA", KEY_ENCRYPTION_KEY: kek });
    expect(both.config.jwt.algorithm).toBe("ES256");
    expect(both.warnings.some((w) => w.includes("ALGORITHM is used"))).toBe(true);
  });

  test("KEY_ROTATION_DAYS defaults to 0, by hand only", () => {
    expect(ok({}).config.jwt.keyRotationDays).toBe(0);
    expect(ok({ ALGORITHM: "EdDSA", KEY_ROTATION_DAYS: "30" }).config.jwt.keyRotationDays).toBe(30);
  });

  test("production refuses ES256 or EdDSA without KEY_ENCRYPTION_KEY, embedded or not", () => {
    for (const env of [{}, servers]) {
      const error = errorFor(
        { NODE_ENV: "production", JWT_SECRET: strongSecret, ALGORITHM: "EdDSA", ...env },
        "KEY_ENCRYPTION_KEY",
      );
      expect(error.problem).toContain("ALGORITHM=EdDSA");
    }
    const accepted = ok({
      NODE_ENV: "production",
      JWT_SECRET: strongSecret,
      ALGORITHM: "ES256",
      KEY_ENCRYPTION_KEY: kek,
    });
    expect(Redacted.value(accepted.config.jwt.keyEncryptionKey ?? Redacted.make(""))).toBe(kek);
  });

  test("with servers every instance needs the same key: missing, it is refused outside production too", () => {
    expect(errorFor({ ...servers, ALGORITHM: "ES256" }, "KEY_ENCRYPTION_KEY").expected).toContain(
      "the same on every instance",
    );
  });

  test("embedded outside production, a missing key is kept in DATA_DIR, with a warning", () => {
    const { config, warnings } = ok({ ALGORITHM: "ES256" });
    expect(config.jwt.keyEncryptionKey).toBeUndefined();
    expect(warnings.some((w) => w.includes("DATA_DIR/key-encryption-key"))).toBe(true);
  });

  test("a key shorter than 32 bytes is refused, in any mode, without being echoed", () => {
    const error = errorFor(
      { ALGORITHM: "ES256", KEY_ENCRYPTION_KEY: "short-kek" },
      "KEY_ENCRYPTION_KEY",
    );
    expect(error.problem).toContain("shorter than 32 bytes");
    expect(error.message).not.toContain("short-kek");
  });

  test("with HS256 the key is not needed; a set one is checked and kept, as it wraps the data keys", () => {
    expect(
      ok({ NODE_ENV: "production", JWT_SECRET: strongSecret }).config.jwt.keyEncryptionKey,
    ).toBeUndefined();
    const kept = ok({ KEY_ENCRYPTION_KEY: strongSecret }).config.jwt.keyEncryptionKey;
    expect(kept && Redacted.value(kept)).toBe(strongSecret);
    const short = loadConfig({ KEY_ENCRYPTION_KEY: "short" });
    expect(short.ok).toBe(false);
  });
});
