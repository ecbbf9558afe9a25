import { afterAll, describe, expect, test } from "bun:test";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { spawnApi, storageFor } from "../support/server.ts";

const password = "correct horse battery";

describe("the API under Deno (PostgreSQL + Redis)", () => {
  const storage = storageFor("deno");
  afterAll(() => storage.drop());

  test("serves register -> login -> me -> logout, then exits 0 on SIGTERM", async () => {
    const api = await spawnApi(storage.env, {
      command: ["node_modules/.bin/deno", "run", "-A", "src/adapters/deno/main.ts"],
      quiet: true,
      // The first start compiles the TypeScript.
      readyWithinMs: 90_000,
    });
    const call = (method: string, path: string, init: { body?: unknown; token?: string } = {}) =>
      fetch(`${api.base}${path}`, {
        method,
        headers: {
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
    try {
      const registered = await call("POST", "/auth/register", {
        body: { username: "deno_user", password },
      });
      expect(registered.status).toBe(201);
      // Ids come from the uuid package, as under Bun.
      expect(((await registered.json()) as { id: string }).id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/,
      );

      const login = await call("POST", "/auth/login", {
        body: { username: "deno_user", password },
      });
      expect(login.status).toBe(200);
      expect(login.headers.get("set-cookie")).toContain("HttpOnly");
      const token = ((await login.json()) as { access_token: string }).access_token;
      expect(
        (await call("POST", "/auth/login", { body: { username: "deno_user", password: "nope" } }))
          .status,
      ).toBe(401);

      const me = await call("GET", "/auth/me", { token });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { username: string }).username).toBe("deno_user");

      // The heavy task runs on Deno's Web Workers.
      const heavy = await call("GET", "/secure/heavy-task?n=100", { token });
      expect(await heavy.json()).toEqual({
        n: 100,
        result: "354224848179261915075",
        cached: false,
      });

      expect((await call("POST", "/auth/logout", { token })).status).toBe(204);
      expect((await call("GET", "/auth/me", { token })).status).toBe(401);

      const metrics = await (await call("GET", "/metrics")).text();
      expect(metrics).toContain('authlog_tokens_revoked_total{scope="session"} 1');
      expect(metrics).toContain(
        'http_requests_total{method="POST",route="/auth/login",status="401"} 1',
      );
    } finally {
      expect(await api.stop()).toBe(0);
    }
  });
});

describe.each(["ES256", "EdDSA"] as const)("the API under Deno signs with %s keys", (alg) => {
  const storage = storageFor(`deno_${alg.toLowerCase()}`);
  afterAll(() => storage.drop());

  test("tokens verify against its JWKS across a rotation", async () => {
    const admin = { username: "deno_admin", password: "deno admin password" };
    const api = await spawnApi(
      {
        ...storage.env,
        ALGORITHM: alg,
        KEY_ENCRYPTION_KEY: `${crypto.randomUUID()}${crypto.randomUUID()}`,
        ADMIN_USERNAME: admin.username,
        ADMIN_PASSWORD: admin.password,
      },
      {
        command: ["node_modules/.bin/deno", "run", "-A", "src/adapters/deno/main.ts"],
        quiet: true,
        readyWithinMs: 90_000,
      },
    );
    const login = async () => {
      const reply = await fetch(`${api.base}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(admin),
      });
      expect(reply.status).toBe(200);
      return ((await reply.json()) as { access_token: string }).access_token;
    };
    try {
      const keys = createRemoteJWKSet(new URL(`${api.base}/.well-known/jwks.json`));
      const verify = (token: string) => jwtVerify(token, keys, { algorithms: [alg] });
      const before = await login();
      expect((await verify(before)).protectedHeader.alg).toBe(alg);
      const rotated = await fetch(`${api.base}/admin/keys/rotate`, {
        method: "POST",
        headers: { authorization: `Bearer ${before}` },
      });
      expect(rotated.status).toBe(200);
      const after = await login();
      expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
      expect((await verify(after)).payload.sub).toBe((await verify(before)).payload.sub);
      const me = await fetch(`${api.base}/auth/me`, {
        headers: { authorization: `Bearer ${after}` },
      });
      expect(me.status).toBe(200);
    } finally {
      expect(await api.stop()).toBe(0);
    }
  });
});
