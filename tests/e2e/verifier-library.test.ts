import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRedis } from "../../src/adapters/redis/client.ts";
import { tokenKeys } from "../../src/adapters/redis/keyLayout.ts";
import { freePort } from "../support/net.ts";
import { baseEnv } from "../support/run.ts";
import { apiCalls, spawnApi, storageFor } from "../support/server.ts";

const password = "verifier password 1";
const admin = { username: "verifier_admin", password: "verifier admin pw 1" };

/** The service of examples/verifier-service.ts as its own process, once it answers. */
const startService = async (
  env: Record<string, string>,
  runtime: readonly string[] = [process.execPath],
) => {
  const port = freePort();
  const proc = Bun.spawn([...runtime, "examples/verifier-service.ts"], {
    cwd: `${import.meta.dir}/../..`,
    env: { ...baseEnv(), PORT: String(port), ...env },
    stdout: "ignore",
    stderr: "inherit",
  });
  const base = `http://127.0.0.1:${port}`;
  // Deno compiles the TypeScript on its first start.
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${base}/fetch`).then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error("the verifier service did not start");
    await Bun.sleep(50);
  }
  return {
    base,
    stop: async () => {
      proc.kill();
      await proc.exited;
    },
  };
};

describe("the verifier library in another service, against the real API, PostgreSQL and Redis", () => {
  const storage = storageFor("verifier");
  let api: Awaited<ReturnType<typeof spawnApi>>;
  let service: Awaited<ReturnType<typeof startService>>;
  const serviceEnv = () => ({
    JWT_SECRET: storage.env.JWT_SECRET ?? "",
    REDIS_URL: storage.env.REDIS_URL ?? "",
    REDIS_KEY_PREFIX: storage.prefix,
  });

  beforeAll(async () => {
    api = await spawnApi(
      { ...storage.env, ADMIN_USERNAME: admin.username, ADMIN_PASSWORD: admin.password },
      { quiet: true },
    );
    service = await startService(serviceEnv());
  });
  afterAll(async () => {
    await service?.stop();
    await api?.stop();
    await storage.drop();
  });

  const { post, login } = apiCalls(() => api.base, password);
  const newUser = async (username: string) => {
    expect((await post("/auth/register", { username, password })).status).toBe(201);
    return login(username);
  };
  const ask = async (route: "/fetch" | "/elysia", token?: string, base = service.base) => {
    const response = await fetch(`${base}${route}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  };
  const both = async (token: string, base = service.base) => [
    (await ask("/fetch", token, base)).status,
    (await ask("/elysia", token, base)).status,
  ];

  test("a live token passes both guards with the caller's claims", async () => {
    const token = await newUser("verifier_live");
    const fetched = await ask("/fetch", token);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toMatchObject({ via: "fetch", role: "user" });
    const routed = await ask("/elysia", token);
    expect(routed.status).toBe(200);
    expect(routed.body).toMatchObject({ via: "elysia", role: "user" });
  });

  test("logout, logout-all, a role change and /oauth/revoke are refused by the service on its next call", async () => {
    const loggedOut = await newUser("verifier_logout");
    expect(await both(loggedOut)).toEqual([200, 200]);
    expect((await post("/auth/logout", {}, loggedOut)).status).toBe(204);
    expect(await both(loggedOut)).toEqual([401, 401]);

    const everywhere = await newUser("verifier_all");
    const second = await login("verifier_all");
    expect(await both(second)).toEqual([200, 200]);
    expect((await post("/auth/logout-all", {}, everywhere)).status).toBe(204);
    expect(await both(everywhere)).toEqual([401, 401]);
    expect(await both(second)).toEqual([401, 401]);

    const promoted = await newUser("verifier_promoted");
    expect(await both(promoted)).toEqual([200, 200]);
    const boss = await login(admin.username, admin.password);
    const changed = await post(
      "/auth/change-role",
      { username: "verifier_promoted", role: "admin" },
      boss,
    );
    expect(changed.status).toBe(200);
    expect(await both(promoted)).toEqual([401, 401]);

    const given = await newUser("verifier_given_up");
    expect(await both(given)).toEqual([200, 200]);
    const revoked = await fetch(`${api.base}/oauth/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: given }),
    });
    expect(revoked.status).toBe(200);
    expect(await both(given)).toEqual([401, 401]);
  });

  test("the same library on Deno: a live token passes, and after logout it is refused", async () => {
    const token = await newUser("verifier_deno");
    const onDeno = await startService(serviceEnv(), ["node_modules/.bin/deno", "run", "-A"]);
    try {
      expect(await both(token, onDeno.base)).toEqual([200, 200]);
      expect((await post("/auth/logout", {}, token)).status).toBe(204);
      expect(await both(token, onDeno.base)).toEqual([401, 401]);
    } finally {
      await onDeno.stop();
    }
  }, 90_000);

  test("refusals are problem+json: no token, a forged signature, a token that is no JWT", async () => {
    const none = await ask("/fetch");
    expect(none.status).toBe(401);
    expect(none.headers.get("content-type")).toBe("application/problem+json");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await ask("/elysia")).status).toBe(401);

    const token = await newUser("verifier_forged");
    const [head, body] = token.split(".");
    const forged = `${head}.${body}.${"A".repeat(43)}`;
    expect(await both(forged)).toEqual([401, 401]);
    expect(await both("not-a-token")).toEqual([401, 401]);
  });

  test("fails closed: a user without an epoch in Redis, or Redis unreachable, is 503", async () => {
    const token = await newUser("verifier_epochless");
    const sub = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()).sub;
    const redis = createRedis({ url: storage.env.REDIS_URL ?? "", commandTimeoutMs: 2000 });
    await redis.connect();
    try {
      const key = tokenKeys(storage.prefix).epoch(sub);
      const epoch = await redis.get(key);
      await redis.del(key);
      const missing = await ask("/fetch", token);
      expect(missing.status).toBe(503);
      expect(missing.headers.get("retry-after")).toBe("1");
      expect((await ask("/elysia", token)).status).toBe(503);
      await redis.set(key, epoch ?? "0");
      expect(await both(token)).toEqual([200, 200]);
    } finally {
      redis.destroy();
    }

    const cut = await startService({
      ...serviceEnv(),
      REDIS_URL: `redis://127.0.0.1:${freePort()}`,
    });
    try {
      const started = performance.now();
      expect(await both(token, cut.base)).toEqual([503, 503]);
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      await cut.stop();
    }
  });
});

describe("the verifier library with ES256 tokens from the JWKS", () => {
  const storage = storageFor("verifier_es");
  let api: Awaited<ReturnType<typeof spawnApi>>;
  let service: Awaited<ReturnType<typeof startService>>;

  beforeAll(async () => {
    api = await spawnApi(
      {
        ...storage.env,
        ALGORITHM: "ES256",
        KEY_ENCRYPTION_KEY: `${crypto.randomUUID()}${crypto.randomUUID()}`,
        ADMIN_USERNAME: admin.username,
        ADMIN_PASSWORD: admin.password,
      },
      { quiet: true },
    );
    service = await startService({
      JWKS_URL: `${api.base}/.well-known/jwks.json`,
      REDIS_URL: storage.env.REDIS_URL ?? "",
      REDIS_KEY_PREFIX: storage.prefix,
    });
  });
  afterAll(async () => {
    await service?.stop();
    await api?.stop();
    await storage.drop();
  });

  const { post, login } = apiCalls(() => api.base, password);
  const status = async (token: string) =>
    (
      await fetch(`${service.base}/fetch`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;

  test("a live token passes, and is refused on the next call after logout", async () => {
    expect((await post("/auth/register", { username: "es_user", password })).status).toBe(201);
    const token = await login("es_user");
    expect(await status(token)).toBe(200);
    expect((await post("/auth/logout", {}, token)).status).toBe(204);
    expect(await status(token)).toBe(401);
  });

  test("a revoked signing key verifies nothing there within a second; the next key's tokens pass", async () => {
    expect((await post("/auth/register", { username: "es_keyed", password })).status).toBe(201);
    const before = await login("es_keyed");
    expect(await status(before)).toBe(200);
    const boss = await login(admin.username, admin.password);
    const listed = await fetch(`${api.base}/admin/keys`, {
      headers: { authorization: `Bearer ${boss}` },
    });
    const keys = ((await listed.json()) as { keys: { kid: string; state: string }[] }).keys;
    const active = keys.find((key) => key.state === "active")?.kid ?? "";
    const revoked = await post(`/admin/keys/${active}/revoke`, { reason: "leaked" }, boss);
    expect(revoked.status).toBe(200);
    const started = performance.now();
    while ((await status(before)) === 200) {
      expect(performance.now() - started).toBeLessThan(1500);
      await Bun.sleep(50);
    }
    expect(await status(before)).toBe(401);
    expect(await status(await login("es_keyed"))).toBe(200);
  });
});
