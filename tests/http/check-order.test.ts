import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { client, startApp } from "../support/app.ts";

/** On a protected route the token is checked before the input: no schema is shown to a stranger. */
describe("protected routes check the token before their input", () => {
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let api: ReturnType<typeof client>;
  let user: string;
  let admin: string;

  beforeAll(async () => {
    ctx = await startApp("check-order", "embedded", {
      ADMIN_USERNAME: "order_admin",
      ADMIN_PASSWORD: "admin password 123",
    });
    api = client(ctx.app);
    expect((await api.register("order_user")).status).toBe(201);
    user = (await api.login("order_user")).token;
    admin = (await api.login("order_admin", "admin password 123")).token;
  });
  afterAll(() => ctx.close());

  const badInput = [
    { method: "POST", path: "/auth/change-password", body: { current_password: 5 }, role: "any" },
    { method: "POST", path: "/auth/change-role", body: { username: ["x"] }, role: "admin" },
    { method: "GET", path: `/admin/users/${"x".repeat(65)}/events`, role: "admin" },
    { method: "GET", path: "/secure/heavy-task?n=1e3", role: "any" },
  ] as const;

  for (const route of badInput) {
    const call = (token?: string) =>
      api.call(route.method, route.path, {
        ...("body" in route ? { body: route.body } : {}),
        ...(token ? { token } : {}),
      });

    test(`${route.method} ${route.path.slice(0, 40)}: 401 without a token, 401 with a bad one`, async () => {
      for (const reply of [await call(), await call("not.a.token")]) {
        expect(reply.status).toBe(401);
        expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
        expect(reply.text).not.toContain("errors");
      }
    });

    if (route.role === "admin") {
      test(`${route.method} ${route.path.slice(0, 40)}: 403 for a user's token`, async () => {
        expect((await call(user)).status).toBe(403);
      });
    }

    test(`${route.method} ${route.path.slice(0, 40)}: 422 naming the field for a caller allowed in`, async () => {
      const reply = await call(route.role === "admin" ? admin : user);
      expect(reply.status).toBe(422);
      expect(Array.isArray(reply.body.errors)).toBe(true);
    });
  }
});
