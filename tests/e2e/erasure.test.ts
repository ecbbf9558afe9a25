import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dumpSchema, holding } from "../support/rawStorage.ts";
import { baseEnv, runScript } from "../support/run.ts";
import { apiCalls, databaseUrl, spawnApi, storageFor } from "../support/server.ts";

const password = "correct horse battery";

const cli = async (env: Record<string, string>, ...args: string[]) =>
  runScript("src/adapters/cli/cli.ts", args, {
    env: { ...baseEnv(), NODE_ENV: "production", ...env },
  });

describe("erasure as processes: cli users erase, replay, verify-log", () => {
  const storage = storageFor("erasure");
  let api: Awaited<ReturnType<typeof spawnApi>>;
  const calls = apiCalls(() => api.base, password);
  const name = `Gone_${crypto.randomUUID().slice(0, 8)}`;
  const agent = `GoneBrowser/${crypto.randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    api = await spawnApi({ ...storage.env }, { quiet: true });
    expect((await calls.post("/auth/register", { username: name, password })).status).toBe(201);
    const login = await fetch(`${api.base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": agent },
      body: JSON.stringify({ username: name, password }),
    });
    expect(login.status).toBe(200);
    expect((await cli(storage.env, "seal")).code).toBe(0);
  });
  afterAll(async () => {
    await api.stop();
    await storage.drop();
  });

  test("after erasure replay rebuilds without the user, verifies with 0 differences, and the chains still verify", async () => {
    const token = await calls.login(name);
    const erased = await cli(storage.env, "users", "erase", name);
    expect(erased.code).toBe(0);
    expect(erased.stdout).toContain("is erased");
    const me = await fetch(`${api.base}/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.status).toBe(401);
    const replayed = await cli(storage.env, "replay");
    expect(replayed.code).toBe(0);
    const verified = await cli(storage.env, "replay", "--verify");
    expect(verified.code).toBe(0);
    expect(`${verified.stdout}${verified.stderr}`).toMatch(/\b0 differences\b/);
    expect((await cli(storage.env, "verify-log")).code).toBe(0);
    expect(holding(await dumpSchema(databaseUrl, storage.schema), [name, agent])).toEqual([]);
    const again = await cli(storage.env, "users", "erase", name);
    expect(again.code).not.toBe(0);
  });
});
