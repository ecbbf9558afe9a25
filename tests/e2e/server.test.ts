import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { spawnApi, spawnApis, storageFor } from "../support/server.ts";

const password = "correct horse battery";

const http = (base: string) => {
  const call = async (
    method: string,
    path: string,
    init: { body?: unknown; token?: string; cookie?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers["content-type"] = "application/json";
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.cookie) headers.cookie = init.cookie;
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    const setCookie = response.headers.get("set-cookie") ?? "";
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
      setCookie,
      cookie: /^(refresh_token=[^;]*)/.exec(setCookie)?.[1],
    };
  };
  const session = async (username: string) => {
    const reply = await call("POST", "/auth/login", { body: { username, password } });
    expect(reply.status).toBe(200);
    return { token: reply.body.access_token as string, cookie: reply.cookie as string };
  };
  return { call, session };
};

describe("a started server (PostgreSQL + Redis)", () => {
  const storage = storageFor("e2e");
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stops) await stop();
    await storage.drop();
  });

  test("the whole lifecycle over real HTTP, cookies included", async () => {
    const api = await spawnApi(storage.env, { quiet: true });
    stops.push(api.stop);
    const { call, session } = http(api.base);
    expect(
      (await call("POST", "/auth/register", { body: { username: "e2e_user", password } })).status,
    ).toBe(201);
    const login = await call("POST", "/auth/login", { body: { username: "e2e_user", password } });
    expect(login.status).toBe(200);
    expect(login.setCookie).toContain("HttpOnly");
    expect(login.setCookie).toContain("Path=/auth");
    expect(login.setCookie).not.toContain("Secure");
    const token = login.body.access_token as string;
    expect((await call("GET", "/auth/me", { token })).body.username).toBe("e2e_user");
    const refreshed = await call("POST", "/auth/refresh", { cookie: login.cookie as string });
    expect(refreshed.status).toBe(200);
    expect(refreshed.cookie).not.toBe(login.cookie);
    const out = await call("POST", "/auth/logout", {
      token: refreshed.body.access_token as string,
      cookie: refreshed.cookie as string,
    });
    expect(out.status).toBe(204);
    expect((await call("GET", "/auth/me", { token })).status).toBe(401);
    const again = await session("e2e_user");
    expect((await call("GET", "/secure/data", { token: again.token })).status).toBe(200);
  });

  test("two instances: a revocation acknowledged by one is refused by the other on the next request", async () => {
    const [a, b] = await spawnApis([storage.env, storage.env], { quiet: true });
    if (!a || !b) throw new Error("two instances were asked for");
    stops.push(a.stop, b.stop);
    const onA = http(a.base);
    const onB = http(b.base);
    await onA.call("POST", "/auth/register", { body: { username: "twin_user", password } });
    for (let i = 0; i < 5; i++) {
      const s = await onA.session("twin_user");
      expect((await onB.call("GET", "/secure/data", { token: s.token })).status).toBe(200);
      expect((await onA.call("POST", "/auth/logout", { token: s.token })).status).toBe(204);
      expect((await onB.call("GET", "/secure/data", { token: s.token })).status).toBe(401);
    }
    const everywhere = await onB.session("twin_user");
    expect((await onB.call("POST", "/auth/logout-all", { token: everywhere.token })).status).toBe(
      204,
    );
    expect((await onA.call("GET", "/auth/me", { token: everywhere.token })).status).toBe(401);
  });
});

describe("a started server in embedded mode", () => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/authlog-e2e-${crypto.randomUUID()}`;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { DATA_DIR: dir, JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}` };

  test("survives a restart: accounts stay, revoked sessions stay revoked", async () => {
    const first = await spawnApi(env, { quiet: true });
    const one = http(first.base);
    await one.call("POST", "/auth/register", { body: { username: "local_user", password } });
    const revoked = await one.session("local_user");
    const kept = await one.session("local_user");
    expect((await one.call("POST", "/auth/logout", { token: revoked.token })).status).toBe(204);
    await first.stop();

    const second = await spawnApi(env, { quiet: true });
    try {
      const two = http(second.base);
      expect((await two.call("GET", "/auth/me", { token: revoked.token })).status).toBe(401);
      expect((await two.call("GET", "/auth/me", { token: kept.token })).status).toBe(200);
      const after = await two.session("local_user");
      expect((await two.call("GET", "/secure/data", { token: after.token })).status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});
