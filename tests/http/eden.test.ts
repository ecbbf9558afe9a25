import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { treaty } from "@elysiajs/eden";
import type { App } from "../../src/adapters/http/app.ts";
import { startApp } from "../support/app.ts";

const password = "correct horse battery";

describe("the typed client (Eden treaty over the app's type)", () => {
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let api: ReturnType<typeof treaty<App>>;
  beforeAll(async () => {
    ctx = await startApp("eden", "embedded");
    api = treaty<App>(ctx.app);
  });
  afterAll(() => ctx.close());

  test("register, log in and read the account with typed calls", async () => {
    const registered = await api.auth.register.post({ username: "eden_user", password });
    if (registered.error) throw new Error(`register: ${registered.status}`);
    expect(registered.status).toBe(201);
    expect(registered.data).toMatchObject({ username: "eden_user", role: "user" });

    const login = await api.auth.login.post({ username: "eden_user", password });
    if (login.error) throw new Error(`login: ${login.status}`);
    expect(login.data.token_type).toBe("bearer");
    const headers = { authorization: `Bearer ${login.data.access_token}` };

    const me = await api.auth.me.get({ headers });
    if (me.error) throw new Error(`me: ${me.status}`);
    expect(me.data.username).toBe("eden_user");

    const heavy = await api.secure["heavy-task"].get({ query: { n: "10" }, headers });
    if (heavy.error) throw new Error(`heavy task: ${heavy.status}`);
    expect(heavy.data).toMatchObject({ n: 10, result: "55" });
  });

  test("a problem answer arrives as a typed error with its status", async () => {
    const wrong = await api.auth.login.post({
      username: "eden_user",
      password: "not the password",
    });
    expect(wrong.data).toBeNull();
    expect(wrong.status).toBe(401);
    expect(wrong.error?.value).toMatchObject({ status: 401, title: "Unauthorized" });
  });
});
