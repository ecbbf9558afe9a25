import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { hmacKeyId } from "../../src/adapters/crypto/HmacTokens.ts";
import { EventStore } from "../../src/application/ports/EventStore.ts";
import { client, type Mode, type Reply, secret, startApp } from "../support/app.ts";
import { decodePayload, forge, forgedAccessTokens } from "../support/jwt.ts";

const header = { alg: "HS256", typ: "at+jwt", kid: hmacKeyId(secret) };
const foreignSecret = "a-secret-that-is-not-this-services-0123456789";

/** A token signed with our secret, its claims as given. */
const signed = (claims: Record<string, unknown>) => forge(secret, header, claims);

const admin = { username: "explain_admin", password: "explain admin password" };
const password = "correct horse battery";

/** Explained 401s and point-in-time inspection over HTTP, the same for every storage mode. */
export const explainSuite = (mode: Mode) =>
  describe(`explained refusals and inspection (${mode})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: ReturnType<typeof client>;
    let boss: string;
    let n = 0;
    const fresh = () => `explain_${mode}_${++n}`;

    beforeAll(async () => {
      ctx = await startApp(`explain-${mode}`, mode, {
        ADMIN_USERNAME: admin.username,
        ADMIN_PASSWORD: admin.password,
        REFRESH_GRACE_SECONDS: "0",
      });
      api = client(ctx.app);
      boss = (await api.login(admin.username, admin.password)).token;
    });
    afterAll(() => ctx.close());

    const newUser = async () => {
      const username = fresh();
      const id = (await api.register(username)).body.id as string;
      return { username, id, ...(await api.login(username)) };
    };

    /** The user's events as the audit trail lists them. */
    const eventsOf = async (id: string) =>
      (await api.call("GET", `/admin/users/${id}/events`, { token: boss })).body.events as {
        type: string;
        recorded_at: string;
        position: number;
      }[];

    const recordedAt = async (id: string, type: string) => {
      const event = (await eventsOf(id)).findLast((e) => e.type === type);
      if (event === undefined) throw new Error(`no ${type} for ${id}`);
      return event.recorded_at;
    };

    const expectExplained = (reply: Reply, code: string, revokedAt?: string) => {
      expect(reply.status).toBe(401);
      expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
      expect(reply.headers.get("www-authenticate")).toBe(
        `Bearer realm="authlog", error="invalid_token", error_description="${code}"`,
      );
      expect(reply.body.code).toBe(code);
      if (revokedAt === undefined) expect(reply.body).not.toHaveProperty("revoked_at");
      else expect(reply.body.revoked_at).toBe(revokedAt);
    };

    const protectedRoutes = (token: string) => [
      api.call("GET", "/secure/data", { token }),
      api.call("GET", "/auth/verify", { token }),
    ];

    const expectRefusedEverywhere = async (token: string, code: string, revokedAt?: string) => {
      for (const reply of await Promise.all(protectedRoutes(token))) {
        expectExplained(reply, code, revokedAt);
      }
    };

    test("logout ends the session: session_revoked at the SessionRevoked event's time", async () => {
      const user = await newUser();
      expect((await api.call("POST", "/auth/logout", { token: user.token })).status).toBe(204);
      await expectRefusedEverywhere(
        user.token,
        "session_revoked",
        await recordedAt(user.id, "SessionRevoked"),
      );
    });

    test("an access token given up through /oauth/revoke: token_revoked", async () => {
      const user = await newUser();
      const revoked = await api.call("POST", "/oauth/revoke", { form: { token: user.token } });
      expect(revoked.status).toBe(200);
      await expectRefusedEverywhere(
        user.token,
        "token_revoked",
        await recordedAt(user.id, "TokenRevoked"),
      );
    });

    test("logout-all: signed_out_everywhere for the tokens of every session", async () => {
      const user = await newUser();
      const other = await api.login(user.username);
      expect((await api.call("POST", "/auth/logout-all", { token: user.token })).status).toBe(204);
      const at = await recordedAt(user.id, "AllSessionsRevoked");
      await expectRefusedEverywhere(user.token, "signed_out_everywhere", at);
      await expectRefusedEverywhere(other.token, "signed_out_everywhere", at);
    });

    test("a role change: role_changed", async () => {
      const user = await newUser();
      const changed = await api.call("POST", "/auth/change-role", {
        token: boss,
        body: { username: user.username, role: "admin" },
      });
      expect(changed.status).toBe(200);
      await expectRefusedEverywhere(
        user.token,
        "role_changed",
        await recordedAt(user.id, "RoleChanged"),
      );
    });

    test("a disabled account: account_disabled at the UserDisabled event's time", async () => {
      const user = await newUser();
      const disabled = await api.call("POST", `/admin/users/${user.id}/disable`, {
        token: boss,
        body: { reason: "left the company" },
      });
      expect(disabled.status).toBe(200);
      await expectRefusedEverywhere(
        user.token,
        "account_disabled",
        await recordedAt(user.id, "UserDisabled"),
      );
    });

    test("a password change: password_changed, while the new token works", async () => {
      const user = await newUser();
      const changed = await api.call("POST", "/auth/change-password", {
        token: user.token,
        body: { current_password: password, new_password: "another good password" },
      });
      expect(changed.status).toBe(200);
      await expectRefusedEverywhere(
        user.token,
        "password_changed",
        await recordedAt(user.id, "PasswordChanged"),
      );
      const renewed = changed.body.access_token as string;
      expect((await api.call("GET", "/secure/data", { token: renewed })).status).toBe(200);
    });

    test("a reused refresh token: refresh_token_reused on /auth/refresh and for the session's access token", async () => {
      const user = await newUser();
      const rotated = await api.call("POST", "/auth/refresh", { cookie: user.refresh });
      expect(rotated.status).toBe(200);
      const reused = await api.call("POST", "/auth/refresh", { cookie: user.refresh });
      const at = await recordedAt(user.id, "SessionRevoked");
      expectExplained(reused, "refresh_token_reused", at);
      await expectRefusedEverywhere(user.token, "refresh_token_reused", at);
      const again = await api.call("POST", "/auth/refresh", {
        cookie: rotated.refreshCookie as string,
      });
      expectExplained(again, "refresh_token_reused", at);
    });

    test("/auth/token's refresh grant stays invalid_grant and adds the code", async () => {
      const user = await newUser();
      expect((await api.call("POST", "/auth/logout", { token: user.token })).status).toBe(204);
      const reply = await api.call("POST", "/auth/token", {
        form: { grant_type: "refresh_token", refresh_token: user.refresh },
      });
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({
        error: "invalid_grant",
        code: "session_revoked",
        revoked_at: await recordedAt(user.id, "SessionRevoked"),
      });
    });

    test("an expired genuine token: token_expired and no revoked_at", async () => {
      const user = await newUser();
      const claims = decodePayload(user.token);
      const now = Math.floor(Date.now() / 1000);
      const expired = signed({ ...claims, iat: now - 120, exp: now - 60 });
      await expectRefusedEverywhere(expired, "token_expired");
    });

    test("forged and foreign tokens get invalid_token and nothing more", async () => {
      const user = await newUser();
      const claims = decodePayload(user.token);
      for (const [, token] of forgedAccessTokens(foreignSecret, () => claims)) {
        await expectRefusedEverywhere(token(), "invalid_token");
      }
      const [head, , signature] = user.token.split(".");
      const raised = Buffer.from(JSON.stringify({ ...claims, role: "admin" })).toString(
        "base64url",
      );
      await expectRefusedEverywhere(`${head}.${raised}.${signature}`, "invalid_token");
    });

    test("introspection still answers only active false, and logs the cause", async () => {
      const user = await newUser();
      expect((await api.call("POST", "/auth/logout-all", { token: user.token })).status).toBe(204);
      const created = await api.call("POST", "/admin/clients", {
        token: boss,
        body: { name: fresh() },
      });
      const basic = Buffer.from(`${created.body.client_id}:${created.body.client_secret}`).toString(
        "base64",
      );
      const reply = await api.call("POST", "/oauth/introspect", {
        form: { token: user.token },
        headers: { authorization: `Basic ${basic}` },
      });
      expect(reply.body).toEqual({ active: false });
      expect(ctx.logLines).toContainEqual({
        level: "info",
        message: "introspection: inactive token",
        fields: {
          code: "signed_out_everywhere",
          revoked_at: await recordedAt(user.id, "AllSessionsRevoked"),
        },
      });
    });

    test("an accepted token's answers are unchanged: no code, no cause", async () => {
      const user = await newUser();
      const data = await api.call("GET", "/secure/data", { token: user.token });
      expect(data.status).toBe(200);
      expect(data.body).not.toHaveProperty("code");
      const verify = await api.call("GET", "/auth/verify", { token: user.token });
      expect(verify.status).toBe(200);
      expect(verify.text).toBe("");
      expect(verify.headers.get("x-auth-user-id")).toBe(user.id);
    });

    describe("POST /admin/tokens/inspect", () => {
      const inspect = (token: string, at?: string) =>
        api.call("POST", "/admin/tokens/inspect", {
          token: boss,
          body: { token, ...(at ? { at } : {}) },
        });

      test("valid before the role change, refused from its recording on, naming the event", async () => {
        const user = await newUser();
        const before = new Date().toISOString();
        await Bun.sleep(5);
        await api.call("POST", "/auth/change-role", {
          token: boss,
          body: { username: user.username, role: "admin" },
        });
        const event = (await eventsOf(user.id)).findLast((e) => e.type === "RoleChanged");
        const early = await inspect(user.token, before);
        expect(early.status).toBe(200);
        expect(early.body).toMatchObject({
          genuine: true,
          valid: true,
          at: before,
          code: null,
          caused_by: null,
          claims: { sub: user.id, role: "user" },
        });
        const late = await inspect(user.token, event?.recorded_at);
        expect(late.body).toMatchObject({
          genuine: true,
          valid: false,
          code: "role_changed",
          caused_by: {
            type: "RoleChanged",
            position: event?.position,
            recorded_at: event?.recorded_at,
            actor: expect.any(String),
          },
        });
        const now = await inspect(user.token);
        expect(now.body).toMatchObject({ valid: false, code: "role_changed" });
      });

      test("expiry is judged against at: valid a moment before exp, token_expired from exp on", async () => {
        const user = await newUser();
        const claims = decodePayload(user.token);
        const exp = Math.floor(Date.now() / 1000) + 30;
        const token = signed({ ...claims, exp });
        const before = new Date((exp - 1) * 1000).toISOString();
        const after = new Date(exp * 1000).toISOString();
        expect((await inspect(token, before)).body).toMatchObject({ valid: true, code: null });
        expect((await inspect(token, after)).body).toMatchObject({
          valid: false,
          code: "token_expired",
          caused_by: null,
        });
      });

      // Its speed is measured by `npm run bench inspect`.
      test("a token of a user with 10,000 events is inspected as valid", async () => {
        const user = await newUser();
        const stream = `user-${user.id}`;
        await ctx.runtime.runPromise(
          Effect.gen(function* () {
            const store = yield* EventStore;
            let version = (yield* store.readStream(stream)).length;
            for (let batch = 0; batch < 10; batch++) {
              const events = Array.from({ length: 1000 }, (_, i) => ({
                type: "TokenRevoked",
                data: {
                  userId: user.id,
                  tokenId: `old-${batch}-${i}`,
                  kind: "access",
                  expiresAt: 1,
                  reason: "revocation",
                },
              }));
              yield* store.append(stream, events, { expectedVersion: version });
              version += events.length;
            }
          }),
        );
        const reply = await inspect(user.token);
        expect(reply.body).toMatchObject({ valid: true, code: null });
      });

      test("a forged token is not genuine; bad input is 422; a user's token is 403", async () => {
        const user = await newUser();
        const forged = forge(foreignSecret, header, decodePayload(user.token));
        expect((await inspect(forged)).body).toMatchObject({
          genuine: false,
          valid: false,
          claims: null,
          code: "invalid_token",
          caused_by: null,
        });
        for (const body of [
          {},
          { token: user.token, at: "yesterday" },
          { token: user.token, at: "2026-13-45T99:99" },
          { token: user.refresh },
        ]) {
          const reply = await api.call("POST", "/admin/tokens/inspect", { token: boss, body });
          expect(reply.status).toBe(422);
        }
        const asUser = await api.call("POST", "/admin/tokens/inspect", {
          token: user.token,
          body: { token: user.token },
        });
        expect(asUser.status).toBe(403);
        const anonymous = await api.call("POST", "/admin/tokens/inspect", {
          body: { token: user.token },
        });
        expect(anonymous.status).toBe(401);
      });
    });
  });

/** A revoked signing key's tokens: key_revoked, with the key ring's own event time. */
export const keyRevokedSuite = (mode: Mode) =>
  describe(`explained refusals with ES256 keys (${mode})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: ReturnType<typeof client>;

    beforeAll(async () => {
      ctx = await startApp(`explain-keys-${mode}`, mode, {
        ALGORITHM: "ES256",
        KEY_ENCRYPTION_KEY: "explain-suite-key-encryption-key-01234567",
        ADMIN_USERNAME: admin.username,
        ADMIN_PASSWORD: admin.password,
      });
      api = client(ctx.app);
    });
    afterAll(() => ctx.close());

    test("a token of a revoked key: key_revoked at the SigningKeyRevoked event's time; inspect names it", async () => {
      const boss = (await api.login(admin.username, admin.password)).token;
      const username = `explain_keys_${mode}`;
      await api.register(username);
      const { token } = await api.login(username);
      const kid = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()).kid;
      const revoked = await api.call("POST", `/admin/keys/${kid}/revoke`, { token: boss });
      expect(revoked.status).toBe(200);
      const events = await ctx.runtime.runPromise(
        Effect.gen(function* () {
          return yield* (yield* EventStore).readStream("keys");
        }),
      );
      const event = events.findLast((e) => e.type === "SigningKeyRevoked");
      const at = event?.recordedAt.toISOString();
      for (const path of ["/secure/data", "/auth/verify"]) {
        const reply = await api.call("GET", path, { token });
        expect(reply.status).toBe(401);
        expect(reply.body).toMatchObject({ code: "key_revoked", revoked_at: at });
        expect(reply.headers.get("www-authenticate")).toContain('error_description="key_revoked"');
      }
      const fresh = (await api.login(admin.username, admin.password)).token;
      const inspected = await api.call("POST", "/admin/tokens/inspect", {
        token: fresh,
        body: { token },
      });
      expect(inspected.body).toMatchObject({
        genuine: true,
        kid,
        valid: false,
        code: "key_revoked",
        caused_by: { type: "SigningKeyRevoked", position: event?.position, recorded_at: at },
      });
    });
  });
