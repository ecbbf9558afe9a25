import { createSql, quoteIdentifier } from "../../src/adapters/postgres/client.ts";
import { createRedis } from "../../src/adapters/redis/client.ts";
import { freePort } from "./net.ts";
import { baseEnv } from "./run.ts";

export const databaseUrl =
  process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const root = `${import.meta.dir}/../..`;

/** A fresh schema and key prefix, and the environment that points an API process at them. */
export const storageFor = (name: string) => {
  const schema = `srv_${name}_${crypto.randomUUID().slice(0, 8)}`.replaceAll("-", "_");
  const prefix = `srv:${schema}:`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schema,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
  };
  const drop = async () => {
    const sql = createSql({ url: databaseUrl, max: 1 });
    await sql.unsafe(`drop schema if exists ${quoteIdentifier(schema)} cascade`);
    await sql.end();
    const redis = createRedis({ url: redisUrl, commandTimeoutMs: 5000 });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.del(keys);
    }
    redis.destroy();
  };
  return { schema, prefix, env, drop };
};

export type SpawnOptions = {
  readonly quiet?: boolean;
  /** The entry point and its runtime; default `bun src/main.ts`. */
  readonly command?: readonly string[];
  /** Collect stdout (the JSON log) instead of printing it; read it with `output()`. */
  readonly captureOutput?: boolean;
  readonly readyWithinMs?: number;
};

/** Starts `bun src/main.ts` (or `command`) as its own process and waits until it is ready. */
export const spawnApi = async (env: Record<string, string>, options: SpawnOptions = {}) => {
  const port = freePort();
  const proc = Bun.spawn([...(options.command ?? [process.execPath, "src/main.ts"])], {
    cwd: root,
    env: {
      ...baseEnv(),
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      COOKIE_SECURE: "false",
      LOG_LEVEL: "error",
      REGISTER_RATE_LIMIT: "0",
      LOGIN_MAX_FAILURES_PER_IP: "1000000",
      ...env,
    },
    stdout: options.captureOutput ? "pipe" : options.quiet ? "ignore" : "inherit",
    stderr: options.quiet ? "ignore" : "inherit",
  });
  // Read as it comes, so a full pipe never blocks the server's logging.
  const collected =
    proc.stdout instanceof ReadableStream ? new Response(proc.stdout).text() : Promise.resolve("");
  const output = async () => {
    await proc.exited;
    return await collected;
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyWithinMs ?? 30_000);
  for (;;) {
    const ready = await fetch(`${base}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline || proc.exitCode !== null) {
      proc.kill("SIGKILL");
      throw new Error("the API did not become ready");
    }
    await Bun.sleep(50);
  }
  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM") => {
    proc.kill(signal);
    return await proc.exited;
  };
  return { base, port, proc, stop, output };
};

/** One API process on fresh storage; `stop` also drops the storage. */
export const startServer = async (name: string, env: Record<string, string> = {}) => {
  const storage = storageFor(name);
  const api = await spawnApi({ ...storage.env, ...env });
  const stop = async () => {
    await api.stop();
    await storage.drop();
  };
  return { ...api, stop };
};

/**
 * Several API processes started at once, as instances are in production. When one does not
 * become ready, the others are stopped before the error is passed on: none outlives its test.
 */
export const spawnApis = async (
  envs: readonly Record<string, string>[],
  options: SpawnOptions = {},
) => {
  const started = await Promise.allSettled(envs.map((env) => spawnApi(env, options)));
  const failed = started.find((result) => result.status === "rejected");
  if (failed) {
    await Promise.all(
      started.flatMap((result) => (result.status === "fulfilled" ? [result.value.stop()] : [])),
    );
    throw failed.reason;
  }
  return started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
};

/** JSON calls to a started API at `base()` (read at each call), as a client would make them. */
export const apiCalls = (base: () => string, password: string) => {
  const post = (path: string, body?: unknown, token?: string) =>
    fetch(`${base()}${path}`, {
      method: "POST",
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  /** The access token of a login that must succeed. */
  const login = async (username: string, secret = password) => {
    const reply = await post("/auth/login", { username, password: secret });
    if (reply.status !== 200) throw new Error(`login ${username}: ${reply.status}`);
    return ((await reply.json()) as { access_token: string }).access_token;
  };
  return { post, login };
};
