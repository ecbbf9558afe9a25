import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { client, type Mode, startApp } from "../support/app.ts";

const password = "correct horse battery";
const perUser = 5;
const perIp = 8;

type Ctx = Awaited<ReturnType<typeof startApp>>;

/** A real listening server, so requests have a socket address (127.0.0.1, a trusted proxy). */
const listen = (ctx: Ctx) => {
  ctx.app.listen({ hostname: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${ctx.app.server?.port}`;
  return (path: string, body: unknown, forwardedFor?: string) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}),
      },
      body: JSON.stringify(body),
    });
};

/** Brute-force and registration limits over HTTP, the same for every storage mode. */
export const bruteForceSuite = (mode: Mode) =>
  describe(`attempt limits (${mode})`, () => {
    let ctx: Ctx;
    let api: ReturnType<typeof client>;
    let post: ReturnType<typeof listen>;
    let n = 0;
    const fresh = () => `bf_${mode}_${++n}`;

    beforeAll(async () => {
      ctx = await startApp(`brute-force-${mode}`, mode, {
        LOGIN_MAX_FAILURES_PER_USER: String(perUser),
        LOGIN_MAX_FAILURES_PER_IP: String(perIp),
        LOGIN_LOCKOUT_SECONDS: "900",
        REGISTER_RATE_LIMIT: "3",
        TRUSTED_PROXIES: "127.0.0.1,::1",
      });
      api = client(ctx.app);
      post = listen(ctx);
    });
    afterAll(async () => {
      await ctx.app.stop();
      await ctx.close();
    });

    const wrong = (username: string) => api.login(username, "wrong password!");

    test("20 parallel wrong passwords for one account: exactly the limit is checked, the rest is 429", async () => {
      const name = fresh();
      await api.register(name);
      // A password check is an argon2 verify: exactly `perUser` of them, none for the 429s.
      const verify = spyOn(Bun.password, "verify");
      let replies: Awaited<ReturnType<typeof wrong>>[];
      let checked: number;
      try {
        replies = await Promise.all(Array.from({ length: 20 }, () => wrong(name)));
        checked = verify.mock.calls.length;
      } finally {
        verify.mockRestore();
      }
      expect(checked).toBe(perUser);
      const statuses = replies.map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(perUser);
      expect(statuses.filter((s) => s === 429)).toHaveLength(20 - perUser);
      for (const reply of replies.filter((r) => r.status === 429)) {
        expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
        const retryAfter = Number(reply.headers.get("retry-after"));
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(900);
      }
    });

    test("during the lockout the right password gets 429 too; other accounts are untouched", async () => {
      const name = fresh();
      const other = fresh();
      await api.register(name);
      await api.register(other);
      for (let i = 0; i < perUser; i++) expect((await wrong(name)).status).toBe(401);
      const right = await api.login(name);
      expect(right.status).toBe(429);
      expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(890);
      expect((await api.login(name.toUpperCase())).status).toBe(429);
      expect((await api.login(other)).status).toBe(200);
    });

    test("an unknown username locks the same way, with the same answers", async () => {
      const known = fresh();
      await api.register(known);
      const unknown = fresh();
      const run = async (name: string) => {
        const replies = await Promise.all(Array.from({ length: 8 }, () => wrong(name)));
        return replies.map((r) => `${r.status} ${r.text}`).sort();
      };
      const [forKnown, forUnknown] = [await run(known), await run(unknown)];
      expect(forUnknown).toEqual(forKnown);
      expect(forKnown.filter((line) => line.startsWith("429"))).toHaveLength(8 - perUser);
    });

    test("a successful login gives its slot back but does not wipe earlier failures", async () => {
      const name = fresh();
      await api.register(name);
      for (let i = 0; i < perUser - 1; i++) expect((await wrong(name)).status).toBe(401);
      for (let i = 0; i < 3; i++) expect((await api.login(name)).status).toBe(200);
      expect((await wrong(name)).status).toBe(401);
      expect((await api.login(name)).status).toBe(429);
    });

    test("a wrong current password on change-password counts against the account", async () => {
      const name = fresh();
      await api.register(name);
      const { token } = await api.login(name);
      for (let i = 0; i < perUser; i++) {
        const reply = await api.call("POST", "/auth/change-password", {
          token,
          body: { current_password: "not the password", new_password: "whatever 12345" },
        });
        expect(reply.status).toBe(401);
      }
      expect((await api.login(name)).status).toBe(429);
    });

    test("one client IP is locked after its limit across usernames; another IP is not", async () => {
      const names = Array.from({ length: perIp + 1 }, () => fresh());
      for (const name of names) await api.register(name);
      const attacker = "203.0.113.7";
      for (const name of names.slice(0, perIp)) {
        expect(
          (await post("/auth/login", { username: name, password: "nope nope" }, attacker)).status,
        ).toBe(401);
      }
      const last = names[perIp] ?? "";
      const blocked = await post("/auth/login", { username: last, password }, attacker);
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await post("/auth/login", { username: last, password }, "203.0.113.8")).status).toBe(
        200,
      );
    });

    test("X-Forwarded-For is read past trusted proxies only: the client cannot pick its address", async () => {
      const names = Array.from({ length: perIp + 1 }, () => fresh());
      for (const name of names) await api.register(name);
      // The client wrote the left-hand entries itself; the proxy appended what it saw.
      for (const [i, name] of names.slice(0, perIp).entries()) {
        const forged = `198.51.100.${i}, 203.0.113.20`;
        expect(
          (await post("/auth/login", { username: name, password: "nope nope" }, forged)).status,
        ).toBe(401);
      }
      const reply = await post(
        "/auth/login",
        { username: names[perIp], password },
        "198.51.100.99, 203.0.113.20",
      );
      expect(reply.status).toBe(429);
      // The lock is on the address the proxy saw: another one, same forged prefix, logs in.
      expect(
        (
          await post(
            "/auth/login",
            { username: names[perIp], password },
            "198.51.100.99, 203.0.113.21",
          )
        ).status,
      ).toBe(200);
    });

    test("registrations per client IP are limited per hour", async () => {
      const ip = "203.0.113.30";
      for (let i = 0; i < 3; i++) {
        expect((await post("/auth/register", { username: fresh(), password }, ip)).status).toBe(
          201,
        );
      }
      // Invalid input is refused before it counts.
      expect((await post("/auth/register", { username: "x", password }, ip)).status).toBe(422);
      const refused = await post("/auth/register", { username: fresh(), password }, ip);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3000);
      expect(
        (await post("/auth/register", { username: fresh(), password }, "203.0.113.31")).status,
      ).toBe(201);
    });
  });

/** A short lockout, to see it end; attempts during it do not make it longer. */
export const lockoutEndSuite = (mode: Mode) =>
  describe(`lockout end (${mode})`, () => {
    let ctx: Ctx;
    let api: ReturnType<typeof client>;

    beforeAll(async () => {
      ctx = await startApp(`lockout-end-${mode}`, mode, {
        LOGIN_MAX_FAILURES_PER_USER: "2",
        LOGIN_LOCKOUT_SECONDS: "1",
      });
      api = client(ctx.app);
    });
    afterAll(() => ctx.close());

    test("a lockout ends on time however often it is hit", async () => {
      await api.register("short_lock");
      // The window opens during the first failure, so not before this moment.
      const windowOpens = Date.now();
      expect((await api.login("short_lock", "wrong password!")).status).toBe(401);
      expect((await api.login("short_lock", "wrong password!")).status).toBe(401);
      const lockedAt = Date.now();
      let refusals = 0;
      for (;;) {
        const reply = await api.login("short_lock");
        if (reply.status === 200) break;
        expect(reply.status).toBe(429);
        expect(reply.headers.get("retry-after")).toBe("1");
        refusals++;
        expect(Date.now() - lockedAt).toBeLessThan(4_000);
        // Polling the clock: the end of a time window is the event awaited here.
        await Bun.sleep(50);
      }
      expect(refusals).toBeGreaterThan(3);
      // On time: not before its second was over (a little slack for clock granularity).
      expect(Date.now() - windowOpens).toBeGreaterThanOrEqual(950);
    });
  });
