import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventStore } from "../../src/application/ports/EventStore.ts";
import { client, startApp } from "../support/app.ts";
import { eventually } from "../support/net.ts";
import { throwawayRedis } from "../support/redisServer.ts";

/** Introspection, revocation and forward auth fail closed when revocation state is out of reach. */
describe("introspection, revocation and forward auth with Redis down", () => {
  let redis: Awaited<ReturnType<typeof throwawayRedis>>;
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let api: ReturnType<typeof client>;
  let basic: string;
  let user: { token: string; refresh: string };

  const logSize = async () => {
    const store = await ctx.runtime.runPromise(EventStore);
    return ctx.runtime.runPromise(store.size);
  };
  const introspect = (token: string) =>
    api.call("POST", "/oauth/introspect", { form: { token }, headers: { authorization: basic } });
  const expectUnavailable = (reply: { status: number; headers: Headers }) => {
    expect(reply.status).toBe(503);
    expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
    expect(reply.headers.get("retry-after")).toBeTruthy();
  };

  beforeAll(async () => {
    redis = await throwawayRedis();
    ctx = await startApp("services-redis-down", "servers", {
      REDIS_URL: redis.url,
      REDIS_COMMAND_TIMEOUT_MS: "250",
      ADMIN_USERNAME: "outage_admin",
      ADMIN_PASSWORD: "admin password 123",
    });
    api = client(ctx.app);
    const admin = await api.login("outage_admin", "admin password 123");
    const made = await api.call("POST", "/admin/clients", {
      token: admin.token,
      body: { name: "outage" },
    });
    expect(made.status).toBe(201);
    basic = `Basic ${btoa(`${made.body.client_id}:${made.body.client_secret}`)}`;
    expect((await api.register("outage_user")).status).toBe(201);
    user = await api.login("outage_user");
    expect((await introspect(user.token)).body.active).toBe(true);
    await redis.stop();
  });
  afterAll(async () => {
    await ctx.close();
    await redis.stop();
  });

  test("introspecting an access token answers 503, never an unchecked active: true", async () => {
    const reply = await introspect(user.token);
    expectUnavailable(reply);
    expect(reply.body.active).toBeUndefined();
  });

  test("forward auth answers 503, with no identity headers", async () => {
    const reply = await api.call("GET", "/auth/verify", { token: user.token });
    expectUnavailable(reply);
    expect(reply.headers.get("x-auth-user-id")).toBeNull();
  });

  test("revoking a live access token answers 503 and appends nothing: it was not revoked", async () => {
    const before = await logSize();
    expectUnavailable(await api.call("POST", "/oauth/revoke", { form: { token: user.token } }));
    expect(await logSize()).toBe(before);
  });

  test("garbage is still 200 to revoke and inactive to introspect: no state is needed to refuse it", async () => {
    expect((await api.call("POST", "/oauth/revoke", { form: { token: "garbage" } })).status).toBe(
      200,
    );
    expect((await introspect("garbage")).body).toEqual({ active: false });
  });

  test("a refresh token is judged from the log, as /auth/refresh judges it", async () => {
    const reply = await introspect(user.refresh);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ active: true, token_type: "refresh_token" });
  });

  test("once Redis is back, the access token is live again", async () => {
    await redis.start();
    expect(
      await eventually(async () => (await introspect(user.token)).body.active === true, 15_000),
    ).toBe(true);
  });
});
