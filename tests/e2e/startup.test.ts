import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accepts, eventually, freePort } from "../support/net.ts";
import { throwawayRedis } from "../support/redisServer.ts";
import { baseEnv } from "../support/run.ts";
import { spawnApi, storageFor } from "../support/server.ts";

const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "authlog-startup-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** `bun src/main.ts` with nothing but what it needs: embedded mode on its own data directory. */
const start = async (env: Record<string, string>) => {
  const proc = Bun.spawn([process.execPath, "src/main.ts"], {
    cwd: `${import.meta.dir}/../..`,
    env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir(), LOG_LEVEL: "error", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  clearTimeout(timer);
  return { code, stderr };
};

test("a second instance on a busy port exits 1 with one line, and the first keeps the port", async () => {
  const first = await spawnApi(
    { DATA_DIR: dataDir(), JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}` },
    { quiet: true },
  );
  try {
    const second = await start({ PORT: String(first.port), HOST: "127.0.0.1" });
    expect(second.code).toBe(1);
    const lines = second.stderr.trim().split("\n");
    expect(lines).toEqual([
      `cannot listen on 127.0.0.1:${first.port}: the port is in use by another process`,
    ]);
    // Every answer still comes from the first instance.
    for (let i = 0; i < 10; i++) {
      expect((await fetch(`${first.base}/health/live`)).status).toBe(200);
    }
  } finally {
    await first.stop();
  }
}, 30_000);

test("a HOST that is no address of this machine exits 1 with one line", async () => {
  const failed = await start({ PORT: "0", HOST: "192.0.2.1" });
  expect(failed.code).toBe(1);
  expect(failed.stderr.trim().split("\n")).toEqual([
    "cannot listen on 192.0.2.1:0: HOST is not an address of this machine",
  ]);
}, 30_000);

test("the developer's DATABASE_URL and REDIS_URL never reach a process a test starts", async () => {
  const saved = { database: process.env.DATABASE_URL, redis: process.env.REDIS_URL };
  process.env.DATABASE_URL = "postgres://nobody@127.0.0.1:1/nothing";
  process.env.REDIS_URL = "redis://127.0.0.1:1";
  try {
    const api = await spawnApi(
      { DATA_DIR: dataDir(), JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}` },
      { quiet: true, readyWithinMs: 10_000 },
    );
    try {
      expect((await fetch(`${api.base}/health/ready`)).status).toBe(200);
    } finally {
      await api.stop();
    }
  } finally {
    for (const [name, value] of [
      ["DATABASE_URL", saved.database],
      ["REDIS_URL", saved.redis],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}, 30_000);

test("SIGTERM to `npm start` stops the server too", async () => {
  const port = freePort();
  const npm = Bun.spawn(["npm", "start", "--silent"], {
    cwd: `${import.meta.dir}/../..`,
    env: { ...baseEnv(), PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir() },
    stdout: "ignore",
    stderr: "ignore",
  });
  const up = () =>
    fetch(`http://127.0.0.1:${port}/health/live`).then(
      (r) => r.ok,
      () => false,
    );
  try {
    expect(await eventually(up, 20_000)).toBe(true);
    npm.kill("SIGTERM");
    await npm.exited;
    expect(await eventually(async () => !(await accepts(port)), 5_000)).toBe(true);
  } finally {
    npm.kill("SIGKILL");
  }
}, 40_000);

test("embedded mode without JWT_SECRET keeps one secret in DATA_DIR: tokens survive a restart", async () => {
  const dir = dataDir();
  const env = { DATA_DIR: dir, NODE_ENV: "development" };
  const first = await spawnApi(env, { quiet: true });
  let token = "";
  try {
    const body = JSON.stringify({ username: "keeper", password: "keeper password 1" });
    const post = (path: string) =>
      fetch(`${first.base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    expect((await post("/auth/register")).status).toBe(201);
    token = ((await (await post("/auth/login")).json()) as { access_token: string }).access_token;
  } finally {
    await first.stop();
  }
  const file = join(dir, "jwt-secret");
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(readFileSync(file, "utf8").length).toBeGreaterThanOrEqual(32);
  const second = await spawnApi(env, { quiet: true });
  try {
    const me = await fetch(`${second.base}/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.status).toBe(200);
  } finally {
    await second.stop();
  }
}, 60_000);

test("embedded EdDSA without KEY_ENCRYPTION_KEY keeps one in DATA_DIR: the keys open after a restart", async () => {
  const dir = dataDir();
  const env = { DATA_DIR: dir, NODE_ENV: "development", ALGORITHM: "EdDSA" };
  const body = JSON.stringify({ username: "keyholder", password: "keyholder password" });
  const post = (base: string, path: string) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  const first = await spawnApi(env, { quiet: true });
  let token = "";
  try {
    expect((await post(first.base, "/auth/register")).status).toBe(201);
    token = ((await (await post(first.base, "/auth/login")).json()) as { access_token: string })
      .access_token;
  } finally {
    await first.stop();
  }
  expect(statSync(join(dir, "key-encryption-key")).mode & 0o777).toBe(0o600);
  const second = await spawnApi(env, { quiet: true });
  try {
    const me = await fetch(`${second.base}/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.status).toBe(200);
    expect((await post(second.base, "/auth/login")).status).toBe(200);
  } finally {
    await second.stop();
  }
}, 60_000);

test("a KEY_ENCRYPTION_KEY that does not open the signing keys stops the start with one line", async () => {
  const dir = dataDir();
  const env = {
    DATA_DIR: dir,
    JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
    ALGORITHM: "ES256",
  };
  const first = await spawnApi(
    { ...env, KEY_ENCRYPTION_KEY: "the-first-key-encryption-key-0123456789" },
    { quiet: true },
  );
  await first.stop();
  const second = await start({
    ...env,
    KEY_ENCRYPTION_KEY: "another-key-encryption-key-0123456789",
  });
  expect(second.code).toBe(1);
  const lines = second.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(
    /^cannot start: .*KEY_ENCRYPTION_KEY does not open signing key [\w-]{43}/,
  );
  expect(second.stderr).not.toContain("the-first-key");
}, 60_000);

test("an unreachable or missing database stops the start with one line naming it", async () => {
  const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const database = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const unreachable = await start({
    DATABASE_URL: "postgres://postgres@127.0.0.1:1/postgres",
    REDIS_URL: redis,
    PORT: "0",
  });
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr.trim().split("\n")).toEqual([
    "cannot start: cannot reach PostgreSQL at 127.0.0.1:1: connection refused",
  ]);
  const missing = await start({
    DATABASE_URL: database.replace(/\/[^/]*$/, "/authlog_no_such_database"),
    REDIS_URL: redis,
    PORT: "0",
  });
  expect(missing.code).toBe(1);
  expect(missing.stderr.trim().split("\n")).toEqual([
    'cannot start: PostgreSQL: database "authlog_no_such_database" does not exist',
  ]);
}, 40_000);

test("a Redis outage at start is logged once, and its end once", async () => {
  const redis = await throwawayRedis();
  await redis.stop();
  const storage = storageFor("startup_redis");
  const proc = Bun.spawn([process.execPath, "src/main.ts"], {
    cwd: `${import.meta.dir}/../..`,
    env: {
      ...baseEnv(),
      ...storage.env,
      REDIS_URL: redis.url,
      PORT: String(freePort()),
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
    },
    stdout: "pipe",
    stderr: "ignore",
  });
  const output = new Response(proc.stdout).text();
  try {
    await Bun.sleep(3_000);
    await redis.start();
    await Bun.sleep(2_000);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    await redis.stop();
    await storage.drop();
  }
  const messages = (await output)
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { message: string }).message);
  expect(messages.filter((m) => m.startsWith("redis unreachable"))).toHaveLength(1);
  expect(messages.filter((m) => m === "redis reachable again")).toHaveLength(1);
  expect(messages.indexOf("redis reachable again")).toBeGreaterThan(
    messages.findIndex((m) => m.startsWith("redis unreachable")),
  );
}, 40_000);

test("the start line names the URL, the docs, and the database, schema and Redis in use, without passwords", async () => {
  const storage = storageFor("startup_log");
  // The local server trusts its clients, so a password in the URL is sent and ignored.
  const database = (storage.env.DATABASE_URL ?? "").replace(
    /:\/\/(?:[^@/]*@)?/,
    "://postgres:hunter2secret@",
  );
  const api = await spawnApi(
    { ...storage.env, DATABASE_URL: database, LOG_LEVEL: "info" },
    { quiet: true, captureOutput: true },
  );
  await api.stop();
  await storage.drop();
  const lines = (await api.output()).trim().split("\n");
  const listening = lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => line.message === "listening");
  expect(listening).toMatchObject({
    url: `http://127.0.0.1:${api.port}`,
    docs: `http://127.0.0.1:${api.port}/docs`,
    mode: "servers",
    schema: storage.schema,
  });
  expect(String(listening?.database)).toStartWith("postgres://127.0.0.1");
  expect(String(listening?.redis)).toStartWith("redis://");
  expect(database).toContain("hunter2secret");
  expect(lines.join("\n")).not.toContain("hunter2secret");
}, 30_000);
