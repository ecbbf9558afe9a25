import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSql } from "../../src/adapters/postgres/client.ts";
import { eventually } from "../support/net.ts";
import { baseEnv, runScript } from "../support/run.ts";
import { databaseUrl, type spawnApi, spawnApis, storageFor } from "../support/server.ts";

const admin = { username: "ring_admin", password: "ring admin password" };
const password = "correct horse battery";

describe("one key ring, several instances (PostgreSQL + Redis)", () => {
  const storage = storageFor("key_instances");
  const env = {
    ...storage.env,
    ALGORITHM: "ES256",
    KEY_ENCRYPTION_KEY: `${crypto.randomUUID()}${crypto.randomUUID()}`,
    ADMIN_USERNAME: admin.username,
    ADMIN_PASSWORD: admin.password,
  };
  let apis: Awaited<ReturnType<typeof spawnApi>>[] = [];

  beforeAll(async () => {
    // Three first starts at once on an empty log.
    apis = await spawnApis([env, env, env], { quiet: true });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(apis.map((api) => api.stop()));
    await storage.drop();
  });

  const at = (i: number) => apis[i]?.base ?? "";
  const login = async (base: string, username: string, secret = password) => {
    const reply = await fetch(`${base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: secret }),
    });
    expect(reply.status).toBe(200);
    return ((await reply.json()) as { access_token: string }).access_token;
  };
  const kidOf = (token: string): string =>
    JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()).kid;
  const data = (base: string, token: string) =>
    fetch(`${base}/secure/data`, { headers: { authorization: `Bearer ${token}` } }).then(
      (r) => r.status,
    );
  const cli = (args: string[]) =>
    runScript("src/adapters/cli/cli.ts", args, {
      env: { ...baseEnv(), ...env, LOG_LEVEL: "warn" },
    });

  test("instances starting together make one ring: one active key, one next key, three events", async () => {
    const sql = createSql({ url: databaseUrl, schema: storage.schema, max: 1 });
    try {
      const rows = await sql<{ type: string }[]>`
        select type from events where stream_id = 'keys' order by version`;
      expect(rows.map((row) => row.type)).toEqual([
        "SigningKeyCreated",
        "SigningKeyActivated",
        "SigningKeyCreated",
      ]);
    } finally {
      await sql.end();
    }
    const sets = await Promise.all(
      [0, 1, 2].map((i) => fetch(`${at(i)}/.well-known/jwks.json`).then((r) => r.text())),
    );
    expect(new Set(sets).size).toBe(1);
    expect((JSON.parse(sets[0] ?? "{}") as { keys: unknown[] }).keys).toHaveLength(2);
  });

  test("a key revoked on one instance: refused there at once, on another within a second", async () => {
    await fetch(`${at(0)}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "victim", password }),
    });
    const token = await login(at(0), "victim");
    expect(await data(at(0), token)).toBe(200);
    expect(await data(at(1), token)).toBe(200);
    const boss = await login(at(0), admin.username, admin.password);
    const revoked = await fetch(`${at(0)}/admin/keys/${kidOf(token)}/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${boss}` },
    });
    expect(revoked.status).toBe(200);
    const acknowledged = performance.now();
    expect(await data(at(0), token)).toBe(401);
    expect(await eventually(async () => (await data(at(1), token)) === 401, 1_000)).toBe(true);
    expect(performance.now() - acknowledged).toBeLessThan(1_000);
    // The other instance signs with the key that took over.
    const fresh = await login(at(1), "victim");
    expect(kidOf(fresh)).not.toBe(kidOf(token));
    expect(await data(at(2), fresh)).toBe(200);
  });

  test("the CLI lists, rotates and revokes; running instances follow within a second", async () => {
    const listed = await cli(["keys", "list"]);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split("\n");
    expect(lines[0]).toBe("algorithm ES256");
    const states = lines.slice(1).map((line) => line.split("\t")[2]);
    expect(states).toEqual(["revoked", "active", "next"]);
    expect(listed.stdout).toContain('reason="revoked"');
    expect(listed.stdout).not.toMatch(/sealed|v1\./);

    const next = lines[3]?.split("\t")[0] ?? "";
    const rotated = await cli(["keys", "rotate"]);
    expect(rotated.code).toBe(0);
    const done = performance.now();
    expect(await eventually(async () => kidOf(await login(at(2), "victim")) === next, 1_000)).toBe(
      true,
    );
    expect(performance.now() - done).toBeLessThan(1_000);

    const json = JSON.parse((await cli(["keys", "list", "--json"])).stdout) as {
      keys: { kid: string; state: string }[];
    };
    const retired = json.keys.find((key) => key.state === "retired")?.kid ?? "";
    const gone = await cli(["keys", "revoke", retired, "--reason", "rotated out early"]);
    expect(gone.code).toBe(0);
    expect(gone.stdout).toContain('reason="rotated out early"');
    const unknown = await cli(["keys", "revoke", "no-such-kid"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No signing key has that kid");
    expect((await cli(["keys", "spin"])).code).toBe(2);
    // The ring is not in Redis: replay and verify pass over its events.
    const verified = await cli(["replay", "--verify"]);
    expect(verified.code).toBe(0);
  });
});
