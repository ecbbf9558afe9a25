import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { hmacKeyId } from "../../src/adapters/crypto/HmacTokens.ts";
import { client, type Mode, secret, startApp } from "../support/app.ts";
import { decodePayload, forge, forgedAccessTokens } from "../support/jwt.ts";

const password = "correct horse battery";

/** The token lifecycle over HTTP, the same for every storage mode. */
export const lifecycleSuite = (mode: Mode, env: Record<string, string> = {}) =>
  describe(`token lifecycle (${mode}${env.REDIS_URL ? `, ${env.REDIS_URL.split(":")[0]}` : ""})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: ReturnType<typeof client>;
    let n = 0;
    const fresh = () => `user_${mode}_${++n}`;

    beforeAll(async () => {
      ctx = await startApp(`lifecycle-${mode}`, mode, { REFRESH_GRACE_SECONDS: "10", ...env });
      api = client(ctx.app);
    });
    afterAll(() => ctx.close());

    /** Calls of Bun's argon2 (what the password hasher runs) while `run` runs. */
    const argon2Calls = async (run: () => Promise<unknown>) => {
      const verify = spyOn(Bun.password, "verify");
      const hash = spyOn(Bun.password, "hash");
      try {
        await run();
        return verify.mock.calls.length + hash.mock.calls.length;
      } finally {
        verify.mockRestore();
        hash.mockRestore();
      }
    };

    /** A sample (`name{labels} value`) of the app's Prometheus text. */
    const metric = async (series: string) => {
      const text = (await api.call("GET", "/metrics")).text;
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
    };

    const expectProblem = (
      reply: { headers: Headers; body: Record<string, unknown> },
      status: number,
    ) => {
      expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
      expect(reply.body).toMatchObject({
        status,
        type: expect.any(String),
        title: expect.any(String),
        detail: expect.any(String),
      });
    };

    describe("register", () => {
      test("creates a user with role user and never returns the hash", async () => {
        const reply = await api.register("Alice_1");
        expect(reply.status).toBe(201);
        expect(reply.body).toEqual({
          id: expect.any(String),
          username: "Alice_1",
          role: "user",
          created_at: expect.any(String),
        });
        expect(reply.text).not.toContain("argon2");
        expect(reply.text).not.toContain(password);
      });

      test("a taken username, in any case, is 409", async () => {
        const name = fresh();
        expect((await api.register(name)).status).toBe(201);
        const again = await api.register(name.toUpperCase());
        expect(again.status).toBe(409);
        expectProblem(again, 409);
      });

      test("a role in the body is ignored: no mass assignment", async () => {
        const reply = await api.call("POST", "/auth/register", {
          body: { username: fresh(), password, role: "admin" },
        });
        expect(reply.status).toBe(201);
        expect(reply.body.role).toBe("user");
      });

      test.each([
        ["short username", { username: "ab", password }, "username"],
        ["look-alike username", { username: "аdmin", password }, "username"],
        ["short password", { username: "validname", password: "Sh0rt!x" }, "password"],
        ["long password", { username: "validname", password: "Lq9".repeat(43) }, "password"],
        ["missing password", { username: "validname" }, "password"],
        ["number as username", { username: 12345, password }, "username"],
        ["huge username", { username: "x".repeat(100_00), password }, "username"],
      ])("%s is 422 naming the field, never echoing the password", async (_name, body, field) => {
        const reply = await api.call("POST", "/auth/register", { body });
        expect(reply.status).toBe(422);
        expectProblem(reply, 422);
        const fields = (reply.body.errors as { field: string }[]).map((e) => e.field);
        expect(fields).toContain(field);
        // The password this request sent, whichever it was.
        expect(reply.text).not.toContain(
          String((body as { password?: unknown }).password ?? password),
        );
      });
    });

    describe("login", () => {
      test("JSON login answers a bearer token and sets the refresh cookie", async () => {
        const name = fresh();
        await api.register(name);
        const reply = await api.login(name);
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({
          access_token: expect.any(String),
          token_type: "bearer",
          expires_in: 900,
        });
        expect(reply.setCookie).toContain("HttpOnly");
        expect(reply.setCookie).toContain("SameSite=Strict");
        expect(reply.setCookie).toContain("Path=/auth");
        expect(reply.setCookie).toContain("Secure");
        expect(reply.refresh).toBeTruthy();
      });

      test("form login on /auth/token works like /auth/login, the body adding refresh_token (RFC 6749)", async () => {
        const name = fresh();
        await api.register(name);
        const reply = await api.call("POST", "/auth/token", {
          form: { grant_type: "password", username: name, password },
        });
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({
          access_token: expect.any(String),
          token_type: "bearer",
          expires_in: 900,
          refresh_token: reply.refreshCookie,
        });
        expect(reply.setCookie).toContain("HttpOnly");
        expect(reply.refreshCookie).toBeTruthy();
        const me = await api.call("GET", "/auth/me", { token: reply.body.access_token as string });
        expect(me.body).toMatchObject({ username: name });
        expect(
          (await api.call("POST", "/auth/refresh", { cookie: reply.refreshCookie as string }))
            .status,
        ).toBe(200);
      });

      test("a wrong password and an unknown user get the same 401", async () => {
        const name = fresh();
        await api.register(name);
        const wrong = await api.call("POST", "/auth/login", {
          body: { username: name, password: "wrong password" },
        });
        const unknown = await api.call("POST", "/auth/login", {
          body: { username: fresh(), password },
        });
        expect(wrong.status).toBe(401);
        expect(unknown.status).toBe(401);
        expect(wrong.text).toBe(unknown.text);
        expect(wrong.headers.get("www-authenticate")).toStartWith("Bearer");
        expect(unknown.headers.get("www-authenticate")).toStartWith("Bearer");
      });

      test("an over-long password is never hashed: 10 kB is a 422, 1 kB the same 401 as a wrong one", async () => {
        const name = fresh();
        await api.register(name);
        const login = (username: string, secret: string) =>
          api.call("POST", "/auth/login", { body: { username, password: secret } });
        // The spy sees the hasher: a wrong password of a normal length is hashed once.
        expect(await argon2Calls(() => login(name, "wrong password"))).toBe(1);
        const wrongAnswer = (await login(name, "wrong password")).text;
        for (const username of [name, "whoever"]) {
          const replies: Awaited<ReturnType<typeof login>>[] = [];
          expect(
            await argon2Calls(async () => {
              replies.push(await login(username, "x".repeat(10_000)));
              replies.push(await login(username, "x".repeat(1_000)));
            }),
          ).toBe(0);
          const [tenKb, oneKb] = replies;
          // 10 kB: refused by the request schema, naming the field.
          expect(tenKb?.status).toBe(422);
          const fields = (tenKb?.body.errors ?? []) as { field: string }[];
          expect(fields.map((e) => e.field)).toContain("password");
          // 1 kB passes the schema but not the password rule: a wrong password, unhashed.
          expect(oneKb?.status).toBe(401);
          expect(oneKb?.text).toBe(wrongAnswer);
        }
      });
    });

    describe("protected routes", () => {
      test("me and secure data answer for a live token", async () => {
        const name = fresh();
        await api.register(name);
        const { token } = await api.login(name);
        const me = await api.call("GET", "/auth/me", { token });
        expect(me.status).toBe(200);
        expect(me.body).toMatchObject({ username: name, role: "user" });
        const data = await api.call("GET", "/secure/data", { token });
        expect(data.status).toBe(200);
        expect(JSON.stringify(data.body)).toContain(name);
      });

      test.each([
        ["no header", {}],
        ["a Basic header", { authorization: "Basic dXNlcjpwYXNz" }],
        ["a bare token", { authorization: "abc.def.ghi" }],
        ["garbage", { authorization: "Bearer !!!" }],
        ["oversized", { authorization: `Bearer ${"a".repeat(8000)}.b.c` }],
      ])("%s is 401 with WWW-Authenticate", async (_name, headers) => {
        const reply = await api.call("GET", "/secure/data", { headers });
        expect(reply.status).toBe(401);
        expect(reply.headers.get("www-authenticate")).toStartWith("Bearer");
        expectProblem(reply, 401);
      });

      test("duplicate Authorization headers are refused", async () => {
        const name = fresh();
        await api.register(name);
        const { token } = await api.login(name);
        const headers = new Headers();
        headers.append("authorization", `Bearer ${token}`);
        headers.append("authorization", `Bearer ${token}`);
        const reply = await ctx.app.handle(
          new Request("http://localhost/secure/data", { headers }),
        );
        expect(reply.status).toBe(401);
        // The same token in one header is accepted: the duplicate is what was refused.
        expect((await api.call("GET", "/secure/data", { token })).status).toBe(200);
      });

      test("a token in the query string is not accepted", async () => {
        const name = fresh();
        await api.register(name);
        const { token } = await api.login(name);
        const reply = await api.call("GET", `/secure/data?access_token=${token}`);
        expect(reply.status).toBe(401);
        expect((await api.call("GET", "/secure/data", { token })).status).toBe(200);
      });

      test("a refresh token is not an access token", async () => {
        const name = fresh();
        await api.register(name);
        const { refresh } = await api.login(name);
        expect(refresh).toBeTruthy();
        expect((await api.call("GET", "/secure/data", { token: refresh })).status).toBe(401);
        // It is a genuine refresh token: as the cookie it works.
        expect((await api.call("POST", "/auth/refresh", { cookie: refresh })).status).toBe(200);
      });

      test("an access token is not a refresh cookie", async () => {
        const name = fresh();
        await api.register(name);
        const { token } = await api.login(name);
        // It is a genuine access token: as a bearer it works.
        expect((await api.call("GET", "/auth/me", { token })).status).toBe(200);
        const reply = await api.call("POST", "/auth/refresh", { cookie: token });
        expect(reply.status).toBe(401);
        expect(reply.headers.get("www-authenticate")).toStartWith("Bearer");
        // No token comes back; the refused cookie is cleared.
        expect(reply.refreshCookie).toBe("");
        expect(reply.setCookie).toContain("Max-Age=0");
      });
    });

    describe("forged and replayed access tokens", () => {
      let claims: Record<string, unknown>;
      const header = { alg: "HS256", typ: "at+jwt", kid: hmacKeyId(secret) };
      beforeAll(async () => {
        const name = fresh();
        await api.register(name);
        claims = decodePayload((await api.login(name)).token);
      });
      test("the forge itself produces a token the API accepts", async () => {
        const reply = await api.call("GET", "/secure/data", {
          token: forge(secret, header, claims),
        });
        expect(reply.status).toBe(200);
      });

      test.each(forgedAccessTokens(secret, () => claims))(
        "%s is 401 and changes nothing",
        async (_name, make) => {
          const reply = await api.call("GET", "/secure/data", { token: make() });
          expect(reply.status).toBe(401);
          expect(reply.headers.get("www-authenticate")).toContain("Bearer");
          expect(
            (await api.call("GET", "/secure/data", { token: forge(secret, header, claims) }))
              .status,
          ).toBe(200);
        },
      );
    });

    describe("refresh", () => {
      test("rotates: a new access token and a new refresh cookie", async () => {
        const name = fresh();
        await api.register(name);
        const first = await api.login(name);
        const reply = await api.call("POST", "/auth/refresh", { cookie: first.refresh });
        expect(reply.status).toBe(200);
        expect(reply.body.token_type).toBe("bearer");
        expect(reply.refreshCookie).toBeTruthy();
        expect(reply.refreshCookie).not.toBe(first.refresh);
        expect(
          (await api.call("GET", "/auth/me", { token: reply.body.access_token as string })).status,
        ).toBe(200);
      });

      test("the previous token within the grace window gets the session's current token", async () => {
        const name = fresh();
        await api.register(name);
        const first = await api.login(name);
        const rotated = await api.call("POST", "/auth/refresh", { cookie: first.refresh });
        const racing = await api.call("POST", "/auth/refresh", { cookie: first.refresh });
        expect(racing.status).toBe(200);
        expect(racing.refreshCookie).toBe(rotated.refreshCookie as string);
      });

      test("a token older than the previous one is reuse: the whole session dies", async () => {
        const name = fresh();
        await api.register(name);
        const first = await api.login(name);
        const second = await api.call("POST", "/auth/refresh", { cookie: first.refresh });
        const third = await api.call("POST", "/auth/refresh", {
          cookie: second.refreshCookie as string,
        });
        expect(third.status).toBe(200);
        const reuse = await api.call("POST", "/auth/refresh", { cookie: first.refresh });
        expect(reuse.status).toBe(401);
        // Every token of that login is dead, the newest one included.
        expect(
          (await api.call("GET", "/auth/me", { token: third.body.access_token as string })).status,
        ).toBe(401);
        expect(
          (await api.call("POST", "/auth/refresh", { cookie: third.refreshCookie as string }))
            .status,
        ).toBe(401);
      });

      test("without a cookie it is 401", async () => {
        const reply = await api.call("POST", "/auth/refresh");
        expect(reply.status).toBe(401);
        expectProblem(reply, 401);
      });

      test("50 concurrent refreshes of one token: one rotation, one successor, no 5xx", async () => {
        const name = fresh();
        await api.register(name);
        const first = await api.login(name);
        const rotations = 'authlog_tokens_issued_total{kind="refresh"}';
        const before = await metric(rotations);
        const replies = await Promise.all(
          Array.from({ length: 50 }, () =>
            api.call("POST", "/auth/refresh", { cookie: first.refresh }),
          ),
        );
        // One RefreshTokenRotated was appended: the other 49 got the grace answer.
        expect((await metric(rotations)) - before).toBe(1);
        expect(replies.filter((r) => r.status >= 500)).toEqual([]);
        expect(replies.every((r) => r.status === 200)).toBe(true);
        expect(new Set(replies.map((r) => r.refreshCookie)).size).toBe(1);
        const successor = replies[0]?.refreshCookie as string;
        expect((await api.call("POST", "/auth/refresh", { cookie: successor })).status).toBe(200);
      });
    });

    describe("logout", () => {
      test("ends the session: access and refresh tokens die, the cookie is cleared", async () => {
        const name = fresh();
        await api.register(name);
        const session = await api.login(name);
        const refreshed = await api.call("POST", "/auth/refresh", { cookie: session.refresh });
        const reply = await api.call("POST", "/auth/logout", {
          token: session.token,
          cookie: refreshed.refreshCookie as string,
        });
        expect(reply.status).toBe(204);
        expect(reply.setCookie).toMatch(/refresh_token=;|Max-Age=0/);
        // The access token from before the refresh dies too: it belongs to the same login.
        expect((await api.call("GET", "/auth/me", { token: session.token })).status).toBe(401);
        expect(
          (await api.call("GET", "/auth/me", { token: refreshed.body.access_token as string }))
            .status,
        ).toBe(401);
        expect(
          (await api.call("POST", "/auth/refresh", { cookie: refreshed.refreshCookie as string }))
            .status,
        ).toBe(401);
      });

      test("leaves the user's other sessions alone", async () => {
        const name = fresh();
        await api.register(name);
        const one = await api.login(name);
        const two = await api.login(name);
        expect((await api.call("POST", "/auth/logout", { token: one.token })).status).toBe(204);
        expect((await api.call("GET", "/auth/me", { token: one.token })).status).toBe(401);
        expect((await api.call("GET", "/auth/me", { token: two.token })).status).toBe(200);
        expect((await api.call("POST", "/auth/refresh", { cookie: two.refresh })).status).toBe(200);
      });

      test("the refresh cookie alone is enough", async () => {
        const name = fresh();
        await api.register(name);
        const session = await api.login(name);
        expect((await api.call("POST", "/auth/logout", { cookie: session.refresh })).status).toBe(
          204,
        );
        expect((await api.call("GET", "/auth/me", { token: session.token })).status).toBe(401);
      });

      test("logging out twice is fine; without any token it is 401", async () => {
        const name = fresh();
        await api.register(name);
        const session = await api.login(name);
        expect((await api.call("POST", "/auth/logout", { token: session.token })).status).toBe(204);
        expect((await api.call("POST", "/auth/logout", { token: session.token })).status).toBe(204);
        expect((await api.call("POST", "/auth/logout")).status).toBe(401);
      });

      test("a refresh racing a logout never yields a token that works after the logout", async () => {
        const name = fresh();
        await api.register(name);
        const session = await api.login(name);
        const [refreshed, loggedOut] = await Promise.all([
          api.call("POST", "/auth/refresh", { cookie: session.refresh }),
          api.call("POST", "/auth/logout", { token: session.token }),
        ]);
        expect(loggedOut.status).toBe(204);
        if (refreshed.status === 200) {
          expect(
            (await api.call("GET", "/auth/me", { token: refreshed.body.access_token as string }))
              .status,
          ).toBe(401);
          expect(
            (await api.call("POST", "/auth/refresh", { cookie: refreshed.refreshCookie as string }))
              .status,
          ).toBe(401);
        } else {
          expect(refreshed.status).toBe(401);
        }
      });
    });

    describe("logout everywhere", () => {
      test("kills every token of every session of the user, and only that user's", async () => {
        const name = fresh();
        const other = fresh();
        await api.register(name);
        await api.register(other);
        const one = await api.login(name);
        const two = await api.login(name);
        const theirs = await api.login(other);
        expect((await api.call("POST", "/auth/logout-all", { token: one.token })).status).toBe(204);
        expect((await api.call("GET", "/auth/me", { token: one.token })).status).toBe(401);
        expect((await api.call("GET", "/auth/me", { token: two.token })).status).toBe(401);
        expect((await api.call("POST", "/auth/refresh", { cookie: two.refresh })).status).toBe(401);
        expect((await api.call("GET", "/auth/me", { token: theirs.token })).status).toBe(200);
        const again = await api.login(name);
        expect((await api.call("GET", "/auth/me", { token: again.token })).status).toBe(200);
      });

      test("60 concurrent logout-all with one token: every answer is 204, the token is dead", async () => {
        const name = fresh();
        await api.register(name);
        const { token } = await api.login(name);
        const replies = await Promise.all(
          Array.from({ length: 60 }, () => api.call("POST", "/auth/logout-all", { token })),
        );
        const statuses = replies.map((reply) => reply.status);
        // A token already dead when its request ran is 401; none may fail on the server.
        expect(statuses.filter((status) => status !== 204 && status !== 401)).toEqual([]);
        expect(statuses).toContain(204);
        expect((await api.call("GET", "/auth/me", { token })).status).toBe(401);
      });
    });

    describe("contention", () => {
      test("three concurrent password changes with the right password: one wins, none counts as a wrong guess", async () => {
        const name = fresh();
        await api.register(name);
        const { token } = await api.login(name);
        const change = (next: string) =>
          api.call("POST", "/auth/change-password", {
            token,
            body: { current_password: password, new_password: next },
          });
        const replies = await Promise.all([
          change("first new password"),
          change("second new password"),
          change("third new password"),
        ]);
        const statuses = replies.map((reply) => reply.status);
        expect(statuses.filter((status) => status === 200)).toHaveLength(1);
        expect(statuses.filter((status) => status === 401)).toEqual([]);
        expect(statuses.filter((status) => status !== 200 && status !== 409)).toEqual([]);
        const winner = ["first", "second", "third"][statuses.indexOf(200)];
        for (let i = 0; i < 3; i++) {
          expect((await api.login(name, `${winner} new password`)).status).toBe(200);
        }
        // No failure was counted: all but one of the account's slots for wrong guesses are
        // still free, so the right password after that many wrong ones still logs in.
        for (let i = 0; i < ctx.config.limits.loginMaxFailuresPerUser - 1; i++) {
          expect((await api.login(name, "a wrong guess")).status).toBe(401);
        }
        expect((await api.login(name, `${winner} new password`)).status).toBe(200);
      });
    });

    describe("the bearer scheme", () => {
      test("is case-insensitive and may be followed by several spaces", async () => {
        const name = fresh();
        await api.register(name);
        const { token } = await api.login(name);
        for (const scheme of ["Bearer ", "bearer ", "BEARER ", "Bearer   "]) {
          const reply = await api.call("GET", "/auth/me", {
            headers: { authorization: `${scheme}${token}` },
          });
          expect(reply.status).toBe(200);
        }
        for (const malformed of [`Bearer${token}`, `Basic ${token}`, `Bearer ${token} extra`]) {
          const reply = await api.call("GET", "/auth/me", {
            headers: { authorization: malformed },
          });
          expect(reply.status).toBe(401);
        }
      });

      test("a protected route checks the token before the rest of the request", async () => {
        expect((await api.call("GET", "/secure/heavy-task?n=abc")).status).toBe(401);
        expect((await api.call("GET", "/secure/heavy-task?n=5")).status).toBe(401);
        const name = fresh();
        await api.register(name);
        const { token } = await api.login(name);
        expect((await api.call("GET", "/secure/heavy-task?n=abc", { token })).status).toBe(422);
      });
    });

    describe("bad requests", () => {
      test("malformed JSON is a 400 problem", async () => {
        const reply = await api.call("POST", "/auth/register", {
          raw: "{not json",
          headers: { "content-type": "application/json" },
        });
        expect(reply.status).toBe(400);
        expectProblem(reply, 400);
      });

      test("a wrong content type is 415", async () => {
        const reply = await api.call("POST", "/auth/register", {
          raw: "username=x",
          headers: { "content-type": "text/plain" },
        });
        expect(reply.status).toBe(415);
        expectProblem(reply, 415);
      });

      test("an oversized body is 413", async () => {
        const reply = await api.call("POST", "/auth/register", {
          body: { username: "x", password: "y".repeat(200_000) },
        });
        expect(reply.status).toBe(413);
        expectProblem(reply, 413);
      });

      test("an unknown route is a 404 problem", async () => {
        const reply = await api.call("GET", "/nope");
        expect(reply.status).toBe(404);
        expectProblem(reply, 404);
      });

      test("an array body is 422", async () => {
        const reply = await api.call("POST", "/auth/login", { body: [1, 2] });
        expect(reply.status).toBe(422);
      });
    });

    describe("health", () => {
      test("live and ready answer 200 when everything is up", async () => {
        expect((await api.call("GET", "/health/live")).status).toBe(200);
        const ready = await api.call("GET", "/health/ready");
        expect(ready.status).toBe(200);
        expect(ready.body).toMatchObject({ ready: true, projection: "ready" });
      });
    });
  });
