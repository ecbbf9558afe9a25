import { afterAll, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { loadConfig } from "../../src/adapters/config/Config.ts";
import { createSql } from "../../src/adapters/postgres/client.ts";
import { compose } from "../../src/composition.ts";
import { captureLog, client, secret } from "../support/app.ts";
import { decodePayload } from "../support/jwt.ts";
import { testSchema } from "../support/postgres.ts";
import { dropKeys, redisUrl } from "../support/redis.ts";
import { databaseUrl, spawnApi, spawnApis, storageFor } from "../support/server.ts";

const admin = { ADMIN_USERNAME: "boss", ADMIN_PASSWORD: "boss password 123" };

const loginRole = async (base: string) => {
  const response = await fetch(`${base}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: admin.ADMIN_USERNAME, password: admin.ADMIN_PASSWORD }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string };
  return decodePayload(body.access_token).role;
};

describe("admin bootstrap", () => {
  const storage = storageFor("bootstrap");
  afterAll(() => storage.drop());

  test("two instances starting at once on one database create exactly one admin; a restart adds none", async () => {
    const env = { ...storage.env, ...admin };
    const [one, two] = await spawnApis([env, env], { quiet: true });
    if (!one || !two) throw new Error("two instances were asked for");
    try {
      expect(await loginRole(one.base)).toBe("admin");
      expect(await loginRole(two.base)).toBe("admin");
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
    const again = await spawnApi(env, { quiet: true });
    await again.stop();

    const sql = createSql({ url: databaseUrl, schema: storage.schema, max: 1 });
    try {
      const rows = await sql<{ type: string; count: number }[]>`
        select type, count(*)::int as count from events
        where type in ('UserRegistered', 'AdminGranted', 'AdminRevoked') group by type order by type`;
      expect([...rows]).toEqual([
        { type: "AdminGranted", count: 1 },
        { type: "UserRegistered", count: 1 },
      ]);
      const [registered] = await sql<{ data: { role: string }; metadata: { actor: string } }[]>`
        select data, metadata from events where type = 'UserRegistered'`;
      expect(registered?.data.role).toBe("admin");
      expect(registered?.metadata.actor).toBe("system:bootstrap");
    } finally {
      await sql.end();
    }
  }, 60_000);

  test("an existing account of that name that is not an admin is left alone, with a warning", async () => {
    const db = await testSchema("bootstrap-taken");
    const env = {
      NODE_ENV: "test",
      JWT_SECRET: secret,
      DATABASE_URL: db.url,
      DATABASE_SCHEMA: db.schema,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `test:${db.schema}:`,
      REGISTER_RATE_LIMIT: "0",
    };
    const start = async (extra: Record<string, string>) => {
      const loaded = loadConfig({ ...env, ...extra });
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
      const { lines, log } = captureLog();
      const composed = compose(loaded.config, log);
      await composed.runtime.runPromise(Effect.void);
      return { ...composed, lines };
    };
    const first = await start({});
    try {
      const api = client(first.app);
      expect((await api.register("boss", "squatter password")).status).toBe(201);
    } finally {
      await first.runtime.dispose();
    }
    const second = await start(admin);
    try {
      const api = client(second.app);
      expect(second.lines).toContainEqual(
        expect.objectContaining({
          level: "warn",
          message: expect.stringContaining("not an admin"),
        }),
      );
      expect((await api.login("boss", admin.ADMIN_PASSWORD)).status).toBe(401);
      const squatter = await api.login("boss", "squatter password");
      expect(decodePayload(squatter.token).role).toBe("user");
    } finally {
      await second.runtime.dispose();
      await db.drop();
      await dropKeys(env.REDIS_KEY_PREFIX);
    }
  });
});
