import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRedis } from "../../src/adapters/redis/client.ts";
import { eventually } from "../support/net.ts";
import { baseEnv, runScript } from "../support/run.ts";
import { redisUrl, spawnApi, storageFor } from "../support/server.ts";

const password = "correct horse battery";

const replay = async (env: Record<string, string>, ...args: string[]) => {
  const {
    stdout: out,
    stderr: err,
    code,
  } = await runScript("src/adapters/cli/cli.ts", ["replay", ...args], {
    env: { ...baseEnv(), NODE_ENV: "production", ...env },
  });
  return { out, err, code };
};

describe("replay and verify", () => {
  const storage = storageFor("replay");
  const redis = createRedis({ url: redisUrl, commandTimeoutMs: 5000 });
  let api: Awaited<ReturnType<typeof spawnApi>>;
  const call = (method: string, path: string, body?: unknown, token?: string) =>
    fetch(`${api.base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const login = async (username: string) =>
    (
      (await (await call("POST", "/auth/login", { username, password })).json()) as {
        access_token: string;
      }
    ).access_token;
  const snapshot = async () => {
    const entries: string[] = [];
    for await (const keys of redis.scanIterator({ MATCH: `${storage.prefix}*`, COUNT: 1000 })) {
      for (const key of keys) {
        // A checkpoint is a snapshot of the whole PostgreSQL cluster: it moves with any
        // transaction anywhere there, so only its presence is the projection's.
        const value = key.endsWith("{meta}:checkpoint") ? "(set)" : await redis.get(key);
        entries.push(`${key}=${value}`);
      }
    }
    return entries.sort();
  };

  const revoked: string[] = [];
  /** An access token revoked by itself (TokenRevoked), its session still live. */
  let accessRevoked = "";
  beforeAll(async () => {
    await redis.connect();
    api = await spawnApi(
      { ...storage.env, ADMIN_USERNAME: "replay_admin", ADMIN_PASSWORD: password },
      { quiet: true },
    );
    // Each revoked token is checked live first: a 401 later is the revocation, not a bad token.
    const live = async (token: string) =>
      expect((await call("GET", "/secure/data", undefined, token)).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const username = `replay_${i}`;
      expect((await call("POST", "/auth/register", { username, password })).status).toBe(201);
      const gone = await login(username);
      await live(gone);
      expect((await call("POST", "/auth/logout", undefined, gone)).status).toBe(204);
      revoked.push(gone);
      // A user whose epoch never moves: the token's own revocation is all that refuses it.
      if (i === 1) {
        const given = await login(username);
        await live(given);
        const form = new URLSearchParams({ token: given });
        const revokedByHolder = await fetch(`${api.base}/oauth/revoke`, {
          method: "POST",
          body: form,
        });
        expect(revokedByHolder.status).toBe(200);
        revoked.push(given);
        accessRevoked = given;
      }
      if (i % 2 === 0) {
        const everywhere = await login(username);
        await live(everywhere);
        expect((await call("POST", "/auth/logout-all", undefined, everywhere)).status).toBe(204);
        revoked.push(everywhere);
      }
    }
  });
  afterAll(async () => {
    await api.stop();
    redis.destroy();
    await storage.drop();
  });

  test("the live projection matches the log", async () => {
    const result = await replay(storage.env, "--verify");
    expect(result.out).toContain("0 differences");
    expect(result.code).toBe(0);
  });

  test("the directory matches the log, and rebuilding it while the API serves keeps every user", async () => {
    const verified = await replay(storage.env, "--verify", "--projection", "directory");
    expect(verified.out).toMatch(/directory: \d+ users, 0 differences/);
    expect(verified.code).toBe(0);
    const rebuilt = replay(storage.env, "--projection", "directory");
    const names = Array.from({ length: 5 }, (_, i) => `during_rebuild_${i}`);
    for (const username of names) {
      expect((await call("POST", "/auth/register", { username, password })).status).toBe(201);
    }
    const result = await rebuilt;
    expect(result.out).toMatch(/directory rebuilt from \d+ events/);
    expect(result.code).toBe(0);
    const admin = await login("replay_admin");
    const listed = async () => {
      const reply = await call("GET", "/admin/users?q=during_rebuild_", undefined, admin);
      return ((await reply.json()) as { items: { username: string }[] }).items.map(
        (u) => u.username,
      );
    };
    await eventually(async () => (await listed()).length === names.length);
    expect(await listed()).toEqual(names);
    expect((await replay(storage.env, "--verify", "--projection", "directory")).code).toBe(0);
    expect((await replay(storage.env, "--projection", "nothing")).code).toBe(2);
  });

  test("a lost revocation is reported and fails verify", async () => {
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({
      MATCH: `${storage.prefix}*:sid:*`,
      COUNT: 1000,
    })) {
      keys.push(...batch);
    }
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(keys[0] as string);
    const result = await replay(storage.env, "--verify");
    expect(result.code).toBe(1);
    expect(result.out).toContain('"kind":"session"');
  });

  test("replay restores it, reports its work, and a second run changes nothing", async () => {
    const first = await replay(storage.env);
    expect(first.code).toBe(0);
    const summary =
      /^replayed a log of (\d+) events in [\d.]+ s: (\d+) read \((\d+)\/s\), \d+ keys written, peak RSS \d+ MB$/m.exec(
        first.out,
      );
    expect(summary).not.toBeNull();
    // The passes skip what cannot matter: fewer read than the log holds, and the rate is of those.
    expect(Number(summary?.[2])).toBeLessThanOrEqual(Number(summary?.[1]));
    expect((await replay(storage.env, "--verify")).code).toBe(0);
    const before = await snapshot();
    expect((await replay(storage.env)).code).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  test("a lost access-token revocation is reported, and replay restores it from TokenRevoked", async () => {
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({
      MATCH: `${storage.prefix}*:jti:*`,
      COUNT: 1000,
    })) {
      keys.push(...batch);
    }
    expect(keys).toHaveLength(1);
    await redis.del(keys[0] as string);
    const status = async () => (await call("GET", "/secure/data", undefined, accessRevoked)).status;
    // The projection lost it: the token passes, which is what verify is there to catch.
    expect(await status()).toBe(200);
    const verified = await replay(storage.env, "--verify");
    expect(verified.code).toBe(1);
    expect(verified.out).toContain('"kind":"token"');
    expect((await replay(storage.env)).code).toBe(0);
    expect(await status()).toBe(401);
    expect((await replay(storage.env, "--verify")).code).toBe(0);
  });

  test("replaying while the API serves never lets a revoked token through", async () => {
    const running = replay(storage.env);
    let done = false;
    running.then(() => {
      done = true;
    });
    const seen = new Set<number>();
    do {
      for (const token of revoked)
        seen.add((await call("GET", "/secure/data", undefined, token)).status);
    } while (!done);
    expect((await running).code).toBe(0);
    expect([...seen]).toEqual([401]);
  });
});
