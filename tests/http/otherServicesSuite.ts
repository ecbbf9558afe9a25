import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventStore } from "../../src/application/ports/EventStore.ts";
import { client, type Mode, type Reply, secret, startApp } from "../support/app.ts";
import { decodePayload, forge, forgedAccessTokens } from "../support/jwt.ts";

const adminName = "services_admin";
const adminPassword = "admin password 123";

type Api = ReturnType<typeof client>;
type Login = { name: string; token: string; refresh: string; claims: Record<string, unknown> };

/** Clients, introspection, revocation and forward auth over HTTP, in every storage mode. */
export const otherServicesSuite = (mode: Mode) =>
  describe(`clients, introspection, revocation and forward auth (${mode})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: Api;
    let admin: string;
    let basic: string;
    let n = 0;
    const fresh = () => `services_${mode}_${++n}`;

    const logSize = async () => {
      const store = await ctx.runtime.runPromise(EventStore);
      return ctx.runtime.runPromise(store.size);
    };

    const stream = async (streamId: string) => {
      const store = await ctx.runtime.runPromise(EventStore);
      return ctx.runtime.runPromise(store.readStream(streamId));
    };

    /** What `run` changed in the log: the number of events it appended. */
    const appended = async (run: () => Promise<unknown>) => {
      const before = await logSize();
      await run();
      return (await logSize()) - before;
    };

    const basicOf = (id: string, clientSecret: string) => `Basic ${btoa(`${id}:${clientSecret}`)}`;

    const createClient = async (name = "reports") => {
      const reply = await api.call("POST", "/admin/clients", { token: admin, body: { name } });
      expect(reply.status).toBe(201);
      const id = reply.body.client_id as string;
      const clientSecret = reply.body.client_secret as string;
      return { id, secret: clientSecret, basic: basicOf(id, clientSecret), reply };
    };

    const login = async (): Promise<Login> => {
      const name = fresh();
      expect((await api.register(name)).status).toBe(201);
      const reply = await api.login(name);
      expect(reply.status).toBe(200);
      return {
        name,
        token: reply.token,
        refresh: reply.refresh,
        claims: decodePayload(reply.token),
      };
    };

    const introspect = (token: string, authorization = basic) =>
      api.call("POST", "/oauth/introspect", { form: { token }, headers: { authorization } });

    const active = async (token: string) => {
      const reply = await introspect(token);
      expect(reply.status).toBe(200);
      return reply.body.active;
    };

    const revoke = (form: Record<string, string>, headers: Record<string, string> = {}) =>
      api.call("POST", "/oauth/revoke", { form, headers });

    const secure = async (token: string) =>
      (await api.call("GET", "/secure/data", { token })).status;

    const verify = (token?: string, query = "") =>
      api.call("GET", `/auth/verify${query}`, token === undefined ? {} : { token });

    const expectProblem = (reply: Reply, status: number) => {
      expect(reply.status).toBe(status);
      expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
      // A copy: Bun's toMatchObject writes its matchers into the object it was given.
      expect({ ...reply.body }).toMatchObject({
        status,
        type: "about:blank",
        detail: expect.any(String),
      });
    };

    beforeAll(async () => {
      ctx = await startApp(`services-${mode}`, mode, {
        ADMIN_USERNAME: adminName,
        ADMIN_PASSWORD: adminPassword,
        REFRESH_GRACE_SECONDS: "10",
      });
      api = client(ctx.app);
      const reply = await api.login(adminName, adminPassword);
      expect(reply.status).toBe(200);
      admin = reply.token;
      basic = (await createClient("introspector")).basic;
    });
    afterAll(() => ctx.close());

    describe("clients", () => {
      test("an admin creates a client: the secret is in that answer only, the log keeps a hash", async () => {
        const made = await createClient("billing");
        expect(made.reply.body).toEqual({
          client_id: made.id,
          client_secret: made.secret,
          name: "billing",
          created_at: expect.any(String),
        });
        expect(made.reply.headers.get("cache-control")).toBe("no-store");
        expect(made.secret.length).toBeGreaterThanOrEqual(43);
        const list = await api.call("GET", "/admin/clients", { token: admin });
        expect(list.status).toBe(200);
        expect(list.body.items).toContainEqual({
          client_id: made.id,
          name: "billing",
          status: "active",
          created_at: made.reply.body.created_at,
          revoked_at: null,
        });
        expect(list.text).not.toContain(made.secret);
        const events = await stream("clients");
        const registered = events.find(
          (event) => (event.data as { clientId?: string }).clientId === made.id,
        );
        expect(registered?.type).toBe("ClientRegistered");
        expect(registered?.data).toMatchObject({ secretHash: expect.stringMatching(/^sha256:/) });
        expect(JSON.stringify(events)).not.toContain(made.secret);
      });

      test("a user gets 403 and a stranger 401 on every client route; nothing is created", async () => {
        const user = await login();
        const changed = await appended(async () => {
          for (const token of [user.token, undefined]) {
            const expected = token === undefined ? 401 : 403;
            const replies = [
              await api.call("POST", "/admin/clients", {
                body: { name: "sneaky" },
                ...(token ? { token } : {}),
              }),
              await api.call("GET", "/admin/clients", token ? { token } : {}),
              await api.call(
                "DELETE",
                `/admin/clients/${crypto.randomUUID()}`,
                token ? { token } : {},
              ),
            ];
            for (const reply of replies) expectProblem(reply, expected);
          }
        });
        expect(changed).toBe(0);
      });

      test.each([
        ["an empty name", { name: "" }],
        ["a name with a space at the end", { name: "reports " }],
        ["a 65-character name", { name: "x".repeat(65) }],
        ["a name with a control character", { name: "re\tports" }],
        ["a number", { name: 42 }],
        ["no name", {}],
        ["a 300-character name", { name: "x".repeat(300) }],
      ])("%s is a 422 naming the field, and nothing is created", async (_case, body) => {
        const replies: Reply[] = [];
        const changed = await appended(async () => {
          replies.push(await api.call("POST", "/admin/clients", { token: admin, body }));
        });
        const [reply] = replies as [Reply];
        expectProblem(reply, 422);
        expect((reply.body.errors as { field: string }[]).map((e) => e.field)).toEqual(["name"]);
        expect(changed).toBe(0);
      });

      test("a revoked client's credentials get 401 from the next call on; revoking is idempotent", async () => {
        const made = await createClient("short-lived");
        const { token } = await login();
        expect((await introspect(token, made.basic)).status).toBe(200);
        const revoked = await api.call("DELETE", `/admin/clients/${made.id}`, { token: admin });
        expect(revoked.status).toBe(204);
        const refused = await introspect(token, made.basic);
        expectProblem(refused, 401);
        expect(refused.headers.get("www-authenticate")).toStartWith("Basic");
        expect(refused.body.active).toBeUndefined();
        const again = await appended(async () => {
          expect(
            (await api.call("DELETE", `/admin/clients/${made.id}`, { token: admin })).status,
          ).toBe(204);
        });
        expect(again).toBe(0);
        const listed = (await api.call("GET", "/admin/clients", { token: admin })).body
          .items as Record<string, unknown>[];
        expect(listed.find((c) => c.client_id === made.id)).toMatchObject({
          status: "revoked",
          revoked_at: expect.any(String),
        });
      });

      test("revoking an unknown client is 404, an over-long id 422; nothing changes", async () => {
        const changed = await appended(async () => {
          const unknown = await api.call("DELETE", `/admin/clients/${crypto.randomUUID()}`, {
            token: admin,
          });
          expectProblem(unknown, 404);
          const long = await api.call("DELETE", `/admin/clients/${"x".repeat(65)}`, {
            token: admin,
          });
          expectProblem(long, 422);
        });
        expect(changed).toBe(0);
      });
    });

    describe("introspection", () => {
      test("a live access token is active, with its claims and nothing else, never cached", async () => {
        const user = await login();
        const reply = await introspect(user.token);
        expect(reply.status).toBe(200);
        expect(reply.headers.get("cache-control")).toBe("no-store");
        const { sub, sid, jti, iat, exp } = user.claims;
        expect(reply.body).toEqual({
          active: true,
          token_type: "access_token",
          sub,
          username: user.name,
          role: "user",
          sid,
          jti,
          iat,
          exp,
          iss: "authlog",
        });
      });

      test("a live refresh token is active as refresh_token, its user's name and role included", async () => {
        const user = await login();
        const reply = await introspect(user.refresh);
        const claims = decodePayload(user.refresh);
        expect(reply.body).toEqual({
          active: true,
          token_type: "refresh_token",
          sub: claims.sub,
          username: user.name,
          role: "user",
          sid: claims.sid,
          jti: claims.jti,
          iat: claims.iat,
          exp: claims.exp,
          iss: "authlog",
        });
      });

      test("after a rotation only the session's current refresh token is active, grace or not", async () => {
        const user = await login();
        const rotated = await api.call("POST", "/auth/refresh", { cookie: user.refresh });
        expect(rotated.status).toBe(200);
        // Within the grace window: /auth/refresh still answers for it, but it is not current.
        expect((await introspect(user.refresh)).body).toEqual({ active: false });
        expect(await active(rotated.refreshCookie as string)).toBe(true);
        expect(await active(rotated.body.access_token as string)).toBe(true);
      });

      let genuine: Record<string, unknown>;
      beforeAll(async () => {
        genuine = (await login()).claims;
      });

      test.each(forgedAccessTokens(secret, () => genuine))(
        "%s is {active: false} and nothing else",
        async (_case, make) => {
          const reply = await introspect(make());
          expect(reply.status).toBe(200);
          expect(reply.body).toEqual({ active: false });
          expect(await active(forge(secret, { alg: "HS256", typ: "at+jwt" }, genuine))).toBe(true);
        },
      );

      test("garbage, and a refresh token forged as an access token, are inactive", async () => {
        const user = await login();
        const refreshClaims = decodePayload(user.refresh);
        for (const token of [
          "not-a-jwt",
          "a.b.c",
          "x".repeat(5000),
          forge(secret, { alg: "HS256", typ: "at+jwt" }, refreshClaims),
          forge(secret, { alg: "HS256", typ: "rt+jwt" }, user.claims),
        ]) {
          expect((await introspect(token)).body).toEqual({ active: false });
        }
      });

      test("logout, logout-all and a role change make the tokens they end inactive at once", async () => {
        const one = await login();
        expect((await api.call("POST", "/auth/logout", { token: one.token })).status).toBe(204);
        expect((await introspect(one.token)).body).toEqual({ active: false });
        expect((await introspect(one.refresh)).body).toEqual({ active: false });

        const two = await login();
        expect((await api.call("POST", "/auth/logout-all", { token: two.token })).status).toBe(204);
        expect((await introspect(two.token)).body).toEqual({ active: false });
        expect((await introspect(two.refresh)).body).toEqual({ active: false });

        const three = await login();
        const promoted = await api.call("POST", "/auth/change-role", {
          token: admin,
          body: { username: three.name, role: "admin" },
        });
        expect(promoted.status).toBe(200);
        expect((await introspect(three.token)).body).toEqual({ active: false });
        expect((await introspect(three.refresh)).body).toEqual({ active: false });
        const demoted = await api.call("POST", "/auth/change-role", {
          token: admin,
          body: { username: three.name, role: "user" },
        });
        expect(demoted.status).toBe(200);
      });

      test.each([
        ["no Authorization header", undefined],
        ["a Bearer token", "Bearer abc.def.ghi"],
        ["Basic that is not base64", "Basic !!!"],
        ["Basic without a colon", `Basic ${btoa("no-colon-here")}`],
        ["an unknown client", `Basic ${btoa(`${crypto.randomUUID()}:whatever`)}`],
        ["a bad percent-encoding", `Basic ${btoa("%zz:%zz")}`],
      ])(
        "%s is a 401 asking for Basic, saying nothing of the token",
        async (_case, authorization) => {
          const user = await login();
          const reply = await api.call("POST", "/oauth/introspect", {
            form: { token: user.token },
            ...(authorization === undefined ? {} : { headers: { authorization } }),
          });
          expectProblem(reply, 401);
          expect(reply.headers.get("www-authenticate")).toStartWith("Basic");
          expect(reply.body.error).toBe("invalid_client");
          expect(reply.body.active).toBeUndefined();
        },
      );

      test("the right id with a wrong secret is 401; the id and secret may come form-encoded (RFC 6749 2.3.1)", async () => {
        const made = await createClient("encoded");
        const user = await login();
        expectProblem(await introspect(user.token, basicOf(made.id, `${made.secret}x`)), 401);
        const encodeAll = (value: string) =>
          [...value].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("");
        const encoded = `Basic ${btoa(`${encodeAll(made.id)}:${encodeAll(made.secret)}`)}`;
        expect((await introspect(user.token, encoded)).body.active).toBe(true);
      });

      test("a missing or repeated token is a 400 invalid_request after the client is known", async () => {
        const stranger = await api.call("POST", "/oauth/introspect", { form: {} });
        expectProblem(stranger, 401);
        const missing = await api.call("POST", "/oauth/introspect", {
          form: {},
          headers: { authorization: basic },
        });
        expectProblem(missing, 400);
        expect(missing.body.error).toBe("invalid_request");
        const twice = await api.call("POST", "/oauth/introspect", {
          raw: "token=a&token=b",
          headers: {
            authorization: basic,
            "content-type": "application/x-www-form-urlencoded",
          },
        });
        expectProblem(twice, 400);
        expect(twice.body.detail).toContain("more than once");
      });
    });

    describe("revocation", () => {
      test("a revoked access token is refused at once, everywhere; the session's other tokens live on", async () => {
        const user = await login();
        const refreshed = await api.call("POST", "/auth/refresh", { cookie: user.refresh });
        const sibling = refreshed.body.access_token as string;
        expect(await secure(user.token)).toBe(200);
        const reply = await revoke({ token: user.token, token_type_hint: "access_token" });
        expect(reply.status).toBe(200);
        expect(reply.text).toBe("");
        expect(await secure(user.token)).toBe(401);
        expect((await verify(user.token)).status).toBe(401);
        expect((await introspect(user.token)).body).toEqual({ active: false });
        expect(await secure(sibling)).toBe(200);
        const next = await api.call("POST", "/auth/refresh", {
          cookie: refreshed.refreshCookie as string,
        });
        expect(next.status).toBe(200);
        const events = await stream(`user-${user.claims.sub}`);
        expect(events.at(-1)).toMatchObject({
          type: "TokenRevoked",
          data: {
            userId: user.claims.sub,
            tokenId: user.claims.jti,
            kind: "access",
            expiresAt: (user.claims.exp as number) * 1000,
          },
        });
      });

      test("a revoked refresh token ends its session: refresh fails, the access token dies", async () => {
        const user = await login();
        const reply = await revoke({ token: user.refresh, token_type_hint: "refresh_token" });
        expect(reply.status).toBe(200);
        expect(await secure(user.token)).toBe(401);
        expect((await api.call("POST", "/auth/refresh", { cookie: user.refresh })).status).toBe(
          401,
        );
        const events = await stream(`session-${user.claims.sid}`);
        expect(events.at(-1)).toMatchObject({ type: "SessionRevoked" });
      });

      test("whoever holds a token may revoke it, another user included", async () => {
        const alice = await login();
        const bob = await login();
        const reply = await revoke(
          { token: alice.token },
          { authorization: `Bearer ${bob.token}` },
        );
        expect(reply.status).toBe(200);
        expect(await secure(alice.token)).toBe(401);
        expect(await secure(bob.token)).toBe(200);
      });

      test("a wrong hint changes nothing: every token says what it is", async () => {
        const user = await login();
        expect((await revoke({ token: user.token, token_type_hint: "refresh_token" })).status).toBe(
          200,
        );
        expect(await secure(user.token)).toBe(401);
        expect((await api.call("POST", "/auth/refresh", { cookie: user.refresh })).status).toBe(
          200,
        );
      });

      test("garbage, forged and already revoked tokens get 200 and append nothing", async () => {
        const user = await login();
        const changed = await appended(async () => {
          for (const [, make] of forgedAccessTokens(secret, () => user.claims)) {
            expect((await revoke({ token: make() })).status).toBe(200);
          }
          for (const token of ["not-a-jwt", "a.b.c", "x".repeat(10_000)]) {
            const reply = await revoke({ token });
            expect(reply.status).toBe(200);
            expect(reply.text).toBe("");
          }
        });
        expect(changed).toBe(0);
        expect(await secure(user.token)).toBe(200);
        expect(await appended(() => revoke({ token: user.token }))).toBe(1);
        expect(await appended(() => revoke({ token: user.token }))).toBe(0);
      });

      test("bad requests are 4xx problems and change nothing", async () => {
        const user = await login();
        const changed = await appended(async () => {
          const missing = await revoke({});
          expectProblem(missing, 400);
          expect(missing.body.error).toBe("invalid_request");
          expectProblem(await revoke({ token: "" }), 400);
          expectProblem(
            await api.call("POST", "/oauth/revoke", {
              raw: `token=${user.token}&token=${user.token}`,
              headers: { "content-type": "application/x-www-form-urlencoded" },
            }),
            400,
          );
          expectProblem(
            await api.call("POST", "/oauth/revoke", {
              raw: `token=${user.token}`,
              headers: { "content-type": "text/plain" },
            }),
            415,
          );
          expectProblem(
            await api.call("POST", "/oauth/revoke", { form: { token: "x".repeat(70_000) } }),
            413,
          );
          expectProblem(
            await api.call("POST", "/oauth/introspect", {
              raw: "{not json",
              headers: { authorization: basic, "content-type": "application/json" },
            }),
            400,
          );
        });
        expect(changed).toBe(0);
        expect(await secure(user.token)).toBe(200);
      });
    });

    describe("forward auth", () => {
      test("a live token: 200, an empty body, and who the caller is as headers", async () => {
        const user = await login();
        const reply = await verify(user.token);
        expect(reply.status).toBe(200);
        expect(reply.text).toBe("");
        const headers = Object.fromEntries(
          ["x-auth-user-id", "x-auth-username", "x-auth-role", "x-auth-session-id"].map((h) => [
            h,
            reply.headers.get(h),
          ]),
        );
        expect(headers).toEqual({
          "x-auth-user-id": user.claims.sub as string,
          "x-auth-username": user.name,
          "x-auth-role": "user",
          "x-auth-session-id": user.claims.sid as string,
        });
        expect(reply.headers.get("remote-user")).toBe(user.name);
        expect(reply.headers.get("remote-groups")).toBe("user");
        // The identity is this answer's own: the next ones carry none of it.
        for (const next of [await verify(), await api.call("GET", "/health/live")]) {
          expect(next.headers.get("x-auth-user-id")).toBeNull();
          expect(next.headers.get("remote-user")).toBeNull();
        }
      });

      test.each([
        ["no token", undefined],
        ["garbage", "not-a-jwt"],
      ])("%s is 401 with WWW-Authenticate and no identity", async (_case, token) => {
        const reply = await verify(token);
        expectProblem(reply, 401);
        expect(reply.headers.get("www-authenticate")).toStartWith("Bearer");
        expect(reply.headers.get("x-auth-user-id")).toBeNull();
      });

      test("a logout is refused on the very next call", async () => {
        const user = await login();
        expect((await verify(user.token)).status).toBe(200);
        expect((await api.call("POST", "/auth/logout", { token: user.token })).status).toBe(204);
        expect((await verify(user.token)).status).toBe(401);
      });

      test("?role= lets only that role through: 403 for the other, 422 for anything else", async () => {
        const user = await login();
        expect((await verify(user.token, "?role=user")).status).toBe(200);
        const forbidden = await verify(user.token, "?role=admin");
        expectProblem(forbidden, 403);
        expect(forbidden.headers.get("x-auth-user-id")).toBeNull();
        expect((await verify(admin, "?role=admin")).status).toBe(200);
        expectProblem(await verify(admin, "?role=user"), 403);
        for (const query of ["?role=root", "?role=", "?role=admin&role=user", "?role=ADMIN"]) {
          const reply = await verify(admin, query);
          expectProblem(reply, 422);
          expect((reply.body.errors as { field: string }[])[0]?.field).toBe("role");
        }
        // The token first: a stranger learns nothing of the query.
        expectProblem(await verify(undefined, "?role=root"), 401);
      });
    });
  });
