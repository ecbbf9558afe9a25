import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventStore } from "../../src/application/ports/EventStore.ts";
import { client, type Mode, type Reply, secret, startApp } from "../support/app.ts";
import { decodePayload, forge } from "../support/jwt.ts";

const password = "correct horse battery";

type Session = { readonly username: string; readonly access: string; readonly refresh: string };

/** POST /auth/token as an RFC 6749 token request, in both storage modes. */
export const oauth2TokenSuite = (mode: Mode) =>
  describe(`/auth/token as an OAuth2 token endpoint (${mode})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: ReturnType<typeof client>;
    let n = 0;
    const fresh = () => `oauth_${mode}_${++n}`;

    const token = (form: Record<string, string>) => api.call("POST", "/auth/token", { form });

    const passwordGrant = async (username: string): Promise<Session> => {
      const reply = await token({ grant_type: "password", username, password });
      expect(reply.status).toBe(200);
      return {
        username,
        access: reply.body.access_token as string,
        refresh: reply.body.refresh_token as string,
      };
    };

    const refreshGrant = (refreshToken: string) =>
      token({ grant_type: "refresh_token", refresh_token: refreshToken });

    const me = (access: string) => api.call("GET", "/auth/me", { token: access });

    const logSize = async () => {
      const store = await ctx.runtime.runPromise(EventStore);
      return ctx.runtime.runPromise(store.size);
    };

    const expectOAuthError = (reply: Reply, status: number, error: string) => {
      expect({ status: reply.status, error: reply.body.error }).toEqual({ status, error });
      // RFC 6749 5.2 names application/json; the problem fields come along in the same object.
      expect(reply.headers.get("content-type")).toBe("application/json");
      expect(reply.body).toMatchObject({
        type: "about:blank",
        title: expect.any(String),
        status,
        detail: expect.any(String),
        error_description: reply.body.detail,
      });
      expect(reply.headers.get("cache-control")).toBe("no-store");
      expect(reply.headers.get("pragma")).toBe("no-cache");
      expect(reply.headers.get("www-authenticate")).toBeNull();
      expect(reply.refreshCookie).toBeUndefined();
      expect(reply.text).not.toContain(password);
    };

    beforeAll(async () => {
      ctx = await startApp(`oauth2-${mode}`, mode, {
        REFRESH_GRACE_SECONDS: "10",
        LOGIN_MAX_FAILURES_PER_USER: "3",
      });
      api = client(ctx.app);
    });
    afterAll(() => ctx.close());

    /** RFC 6749 5.1: the token, uncached, the refresh token in the cookie as well. */
    const expectTokenAnswer = (reply: Reply) => {
      expect(reply.status).toBe(200);
      expect(reply.headers.get("content-type")).toStartWith("application/json");
      expect(reply.body).toEqual({
        access_token: expect.any(String),
        token_type: "bearer",
        expires_in: 900,
        refresh_token: expect.any(String),
      });
      expect(reply.headers.get("cache-control")).toBe("no-store");
      expect(reply.headers.get("pragma")).toBe("no-cache");
      expect(reply.refreshCookie).toBe(reply.body.refresh_token as string);
    };

    test("a password grant answers RFC 6749 5.1, uncached, and sets the refresh cookie too", async () => {
      const username = fresh();
      expect((await api.register(username)).status).toBe(201);
      const reply = await token({ grant_type: "password", username, password, scope: "read" });
      expectTokenAnswer(reply);
      expect(reply.setCookie).toContain("HttpOnly");
      const who = await me(reply.body.access_token as string);
      expect(who.status).toBe(200);
      expect(who.body).toMatchObject({ username });
    });

    test("client credentials sent along (Basic header or form fields) are ignored", async () => {
      const username = fresh();
      await api.register(username);
      const reply = await api.call("POST", "/auth/token", {
        form: { grant_type: "password", username, password, client_id: "app", client_secret: "" },
        headers: { authorization: `Basic ${btoa("app:secret")}` },
      });
      expect(reply.status).toBe(200);
      expect(reply.body.token_type).toBe("bearer");
    });

    test("a refresh_token grant rotates: new access and refresh tokens, the cookie follows", async () => {
      const username = fresh();
      await api.register(username);
      const first = await passwordGrant(username);
      const reply = await refreshGrant(first.refresh);
      expectTokenAnswer(reply);
      expect(reply.body.refresh_token).not.toBe(first.refresh);
      expect(reply.body.access_token).not.toBe(first.access);
      expect((await me(reply.body.access_token as string)).status).toBe(200);
      // The rotated token is the session's one: the cookie flow takes it as well.
      const viaCookie = await api.call("POST", "/auth/refresh", {
        cookie: reply.body.refresh_token as string,
      });
      expect(viaCookie.status).toBe(200);
    });

    test("within the grace window the just-replaced refresh token gets the session's current one", async () => {
      const username = fresh();
      await api.register(username);
      const first = await passwordGrant(username);
      const rotated = await refreshGrant(first.refresh);
      const again = await refreshGrant(first.refresh);
      expect(again.status).toBe(200);
      expect(again.body.refresh_token).toBe(rotated.body.refresh_token);
    });

    test("an older refresh token presented again is invalid_grant and revokes the whole session", async () => {
      const username = fresh();
      await api.register(username);
      const first = await passwordGrant(username);
      const second = await refreshGrant(first.refresh);
      const third = await refreshGrant(second.body.refresh_token as string);
      expect(third.status).toBe(200);
      const current = {
        access: third.body.access_token as string,
        refresh: third.body.refresh_token as string,
      };
      expect((await me(current.access)).status).toBe(200);

      expectOAuthError(await refreshGrant(first.refresh), 400, "invalid_grant");
      expect((await me(current.access)).status).toBe(401);
      expectOAuthError(await refreshGrant(current.refresh), 400, "invalid_grant");
      expect((await api.call("POST", "/auth/refresh", { cookie: current.refresh })).status).toBe(
        401,
      );
      // Another login of the same user is another session: untouched.
      expect((await me((await passwordGrant(username)).access)).status).toBe(200);
    });

    test("after repeated wrong passwords the grant is refused with 429, Retry-After and invalid_grant", async () => {
      const username = fresh();
      await api.register(username);
      for (let i = 0; i < 3; i++) {
        expectOAuthError(
          await token({ grant_type: "password", username, password: "wrong password" }),
          400,
          "invalid_grant",
        );
      }
      const locked = await token({ grant_type: "password", username, password });
      expectOAuthError(locked, 429, "invalid_grant");
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    });

    test("a JSON body, grant_type or not, is a login: no refresh_token, problem+json errors", async () => {
      const username = fresh();
      await api.register(username);
      const ok = await api.call("POST", "/auth/token", {
        body: { grant_type: "password", username, password },
      });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({
        access_token: expect.any(String),
        token_type: "bearer",
        expires_in: 900,
      });
      expect(ok.refreshCookie).toBeTruthy();
      const wrong = await api.call("POST", "/auth/token", {
        body: { username, password: "wrong password" },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("content-type")).toStartWith("application/problem+json");
      expect(wrong.body.error).toBeUndefined();
      const refreshing = await api.call("POST", "/auth/token", {
        body: { grant_type: "refresh_token", refresh_token: ok.refreshCookie },
      });
      expect(refreshing.status).toBe(422);
      expect(refreshing.body.errors).toEqual([
        { field: "username", message: expect.any(String) },
        { field: "password", message: expect.any(String) },
      ]);
    });

    test("a form without grant_type is a login too, as before", async () => {
      const username = fresh();
      await api.register(username);
      const wrong = await token({ username, password: "wrong password" });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("content-type")).toStartWith("application/problem+json");
      expect((await token({ username, password })).status).toBe(200);
    });

    describe("every bad request is a 4xx RFC 6749 error and changes nothing", () => {
      let session: Session;
      let expired: string;

      beforeAll(async () => {
        const username = fresh();
        await api.register(username);
        session = await passwordGrant(username);
        const [header = ""] = session.refresh.split(".");
        const claims = decodePayload(session.refresh);
        expired = forge(secret, JSON.parse(Buffer.from(header, "base64url").toString()), {
          ...claims,
          iat: Math.floor(Date.now() / 1000) - 7200,
          exp: Math.floor(Date.now() / 1000) - 3600,
        });
      });

      const cases: [string, (s: Session) => Record<string, string>, number, string][] = [
        ["an empty grant_type", () => ({ grant_type: "" }), 400, "invalid_request"],
        [
          "the client_credentials grant",
          () => ({ grant_type: "client_credentials" }),
          400,
          "unsupported_grant_type",
        ],
        [
          "the authorization_code grant",
          () => ({ grant_type: "authorization_code", code: "x", redirect_uri: "http://x" }),
          400,
          "unsupported_grant_type",
        ],
        [
          "a grant type in another case",
          (s) => ({ grant_type: "PASSWORD", username: s.username, password }),
          400,
          "unsupported_grant_type",
        ],
        [
          "a password grant without username",
          () => ({ grant_type: "password", password }),
          400,
          "invalid_request",
        ],
        [
          "a password grant without password",
          (s) => ({ grant_type: "password", username: s.username }),
          400,
          "invalid_request",
        ],
        [
          "an empty password",
          (s) => ({ grant_type: "password", username: s.username, password: "" }),
          400,
          "invalid_request",
        ],
        [
          "a username over 256 characters",
          () => ({ grant_type: "password", username: "u".repeat(257), password }),
          400,
          "invalid_request",
        ],
        [
          "a password over 1024 characters",
          (s) => ({ grant_type: "password", username: s.username, password: "p".repeat(1025) }),
          400,
          "invalid_request",
        ],
        [
          "a refresh grant without refresh_token",
          () => ({ grant_type: "refresh_token" }),
          400,
          "invalid_request",
        ],
        [
          "a refresh token over 4096 characters",
          () => ({ grant_type: "refresh_token", refresh_token: "r".repeat(4097) }),
          400,
          "invalid_request",
        ],
        [
          "a wrong password",
          (s) => ({ grant_type: "password", username: s.username, password: "wrong password" }),
          400,
          "invalid_grant",
        ],
        [
          "an unknown user",
          () => ({ grant_type: "password", username: "nobody_at_all", password }),
          400,
          "invalid_grant",
        ],
        [
          "a refresh token that is no JWT",
          () => ({ grant_type: "refresh_token", refresh_token: "not-a-jwt" }),
          400,
          "invalid_grant",
        ],
        [
          "an access token as refresh token",
          (s) => ({ grant_type: "refresh_token", refresh_token: s.access }),
          400,
          "invalid_grant",
        ],
        [
          "a refresh token signed with another key",
          (s) => ({
            grant_type: "refresh_token",
            refresh_token: forge(
              "another-secret-that-is-long-enough-000000",
              { alg: "HS256", typ: "rt+jwt" },
              decodePayload(s.refresh),
            ),
          }),
          400,
          "invalid_grant",
        ],
        [
          "an expired refresh token",
          () => ({ grant_type: "refresh_token", refresh_token: expired }),
          400,
          "invalid_grant",
        ],
      ];

      test.each(cases)("%s", async (_name, form, status, error) => {
        const before = await logSize();
        const reply = await token(form(session));
        expectOAuthError(reply, status, error);
        expect(await logSize()).toBe(before);
        expect((await me(session.access)).status).toBe(200);
      });

      test("a parameter sent twice is invalid_request, not the last value", async () => {
        const before = await logSize();
        for (const raw of [
          `grant_type=password&grant_type=password&username=x&password=y`,
          `grant_type=refresh_token&refresh_token=${session.refresh}&refresh_token=other`,
        ]) {
          const reply = await api.call("POST", "/auth/token", {
            raw,
            headers: { "content-type": "application/x-www-form-urlencoded" },
          });
          expectOAuthError(reply, 400, "invalid_request");
          expect(reply.body.error_description).toContain("more than once");
        }
        expect(await logSize()).toBe(before);
      });

      test("the session those requests named still refreshes", async () => {
        expect((await refreshGrant(session.refresh)).status).toBe(200);
      });
    });
  });
