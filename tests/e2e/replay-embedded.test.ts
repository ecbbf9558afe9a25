import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseEnv, runScript } from "../support/run.ts";
import { apiCalls, spawnApi } from "../support/server.ts";

const password = "correct horse battery";

describe("replay, embedded", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "authlog-replay-"));
  const env = {
    DATA_DIR: dataDir,
    JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
    ADMIN_USERNAME: "embedded_admin",
    ADMIN_PASSWORD: password,
  };
  let api: Awaited<ReturnType<typeof spawnApi>>;
  const { post, login } = apiCalls(() => api.base, password);

  const replay = (...args: string[]) =>
    runScript("src/adapters/cli/cli.ts", ["replay", ...args], {
      env: { ...baseEnv(), NODE_ENV: "production", ...env },
    });

  const listed = async () => {
    const admin = await login("embedded_admin");
    const reply = await fetch(`${api.base}/admin/users?q=embedded_user_`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    return ((await reply.json()) as { items: { username: string }[] }).items;
  };

  beforeAll(async () => {
    api = await spawnApi(env, { quiet: true });
    for (let i = 0; i < 3; i++) {
      const username = `embedded_user_${i}`;
      expect((await post("/auth/register", { username, password })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await api.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("replay --projection directory rebuilds the directory in DATA_DIR once the API is stopped", async () => {
    const busy = await replay("--projection", "directory");
    expect(busy.stderr).toContain("in use by a running API");
    expect(busy.code).toBe(2);
    await api.stop();
    const rebuilt = await replay("--projection", "directory");
    expect(rebuilt.stdout).toMatch(/directory rebuilt from [1-9]\d* events/);
    expect(rebuilt.code).toBe(0);
    const verified = await replay("--verify", "--projection", "directory");
    expect(verified.stdout).toContain("directory: 4 users, 0 differences");
    expect(verified.code).toBe(0);
    api = await spawnApi(env, { quiet: true });
    expect((await listed()).map((user) => user.username)).toEqual([
      "embedded_user_0",
      "embedded_user_1",
      "embedded_user_2",
    ]);
  });

  test("replay of the tokens says the embedded token state lives in process, and writes nothing", async () => {
    const result = await replay("--projection", "tokens");
    expect(result.stdout).toContain("token state in process");
    expect(result.stdout).not.toContain("directory");
    expect(result.code).toBe(0);
  });
});
