import { Effect } from "effect";
import { type Env, loadConfig } from "../../src/adapters/config/Config.ts";
import type { Logger } from "../../src/adapters/logging/jsonLogger.ts";
import { compose } from "../../src/composition.ts";
import { testSchema } from "./postgres.ts";
import { dropKeys, redisUrl } from "./redis.ts";

export type Mode = "servers" | "embedded";

export const secret = "test-secret-that-is-long-enough-0123456789";

/** Log lines a test can inspect; nothing is printed. */
export const captureLog = () => {
  const lines: { level: string; message: string; fields?: object }[] = [];
  const log: Logger = (level, message, fields) => {
    lines.push(fields ? { level, message, fields } : { level, message });
  };
  return { lines, log };
};

/**
 * The real composition (config -> layers -> runtime -> Elysia app) over a fresh PostgreSQL
 * schema and Redis key prefix, or a fresh embedded data directory.
 */
export const startApp = async (name: string, mode: Mode, env: Env = {}) => {
  const cleanups: (() => Promise<void>)[] = [];
  let storageEnv: Env;
  if (mode === "servers") {
    const db = await testSchema(name);
    cleanups.push(db.drop, () => dropKeys(`test:${db.schema}:`));
    storageEnv = {
      DATABASE_URL: db.url,
      DATABASE_SCHEMA: db.schema,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `test:${db.schema}:`,
      REDIS_COMMAND_TIMEOUT_MS: "500",
    };
  } else {
    const dir = `${process.env.TMPDIR ?? "/tmp"}/authlog-${name}-${crypto.randomUUID()}`;
    storageEnv = { DATA_DIR: dir };
    cleanups.push(async () => {
      await Bun.$`rm -rf ${dir}`.quiet();
    });
  }
  const loaded = loadConfig({
    NODE_ENV: "test",
    JWT_SECRET: secret,
    COOKIE_SECURE: "true",
    REGISTER_RATE_LIMIT: "0",
    ...storageEnv,
    ...env,
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const { lines, log } = captureLog();
  const { runtime, app } = compose(loaded.config, log);
  await runtime.runPromise(Effect.void);
  const close = async () => {
    await runtime.dispose();
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  return { app, runtime, config: loaded.config, logLines: lines, close };
};

export type Call = {
  readonly body?: unknown;
  readonly form?: Record<string, string>;
  readonly raw?: string;
  readonly token?: string;
  readonly cookie?: string;
  readonly headers?: Record<string, string>;
};

export type Reply = {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
  readonly text: string;
  /** The refresh_token cookie the response set, if any. */
  readonly refreshCookie: string | undefined;
  readonly setCookie: string;
};

export const client = (app: { handle: (request: Request) => Promise<Response> }) => {
  const call = async (method: string, path: string, options: Call = {}): Promise<Reply> => {
    const headers = new Headers(options.headers);
    let body: string | undefined;
    if (options.body !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(options.body);
    } else if (options.form) {
      headers.set("content-type", "application/x-www-form-urlencoded");
      body = new URLSearchParams(options.form).toString();
    } else if (options.raw !== undefined) {
      body = options.raw;
    }
    if (options.token) headers.set("authorization", `Bearer ${options.token}`);
    if (options.cookie) headers.set("cookie", `refresh_token=${options.cookie}`);
    const response = await app.handle(
      new Request(`http://localhost${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      }),
    );
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {}
    const setCookie = response.headers.get("set-cookie") ?? "";
    const refreshCookie = /refresh_token=([^;]*)/.exec(setCookie)?.[1];
    return {
      status: response.status,
      headers: response.headers,
      body: parsed,
      text,
      refreshCookie,
      setCookie,
    };
  };
  return {
    call,
    register: (username: string, password = "correct horse battery") =>
      call("POST", "/auth/register", { body: { username, password } }),
    login: async (
      username: string,
      password = "correct horse battery",
      headers: Record<string, string> = {},
    ) => {
      const reply = await call("POST", "/auth/login", { body: { username, password }, headers });
      return {
        ...reply,
        token: reply.body.access_token as string,
        refresh: reply.refreshCookie as string,
      };
    },
  };
};
