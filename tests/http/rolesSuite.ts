import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { client, type Mode, startApp } from "../support/app.ts";
import { decodePayload } from "../support/jwt.ts";

const password = "correct horse battery";
const adminName = "root_admin";
const adminPassword = "admin password 123";

type Api = ReturnType<typeof client>;

/** Roles, admins, password change and the audit trail over HTTP, the same for every storage mode. */
export const rolesSuite = (mode: Mode) =>
  describe(`roles and admins (${mode})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: Api;
    let root: string;
    let rootId: string;
    let n = 0;
    const fresh = () => `roles_${mode}_${++n}`;

    beforeAll(async () => {
      ctx = await startApp(`roles-${mode}`, mode, {
        ADMIN_USERNAME: adminName,
        ADMIN_PASSWORD: adminPassword,
      });
      api = client(ctx.app);
      const login = await api.login(adminName, adminPassword);
      expect(login.status).toBe(200);
      root = login.token;
      rootId = decodePayload(root).sub as string;
    });
    afterAll(() => ctx.close());

    /** Every user a test made admin and did not demote again. */
    const promoted = new Set<string>();

    const setRole = async (token: string, username: string, role: string) => {
      const reply = await api.call("POST", "/auth/change-role", {
        token,
        body: { username, role },
      });
      if (reply.status === 200 && role === "admin") promoted.add(username);
      if (reply.status === 200 && role === "user") promoted.delete(username);
      return reply;
    };

    const registered = async () => {
      const name = fresh();
      const reply = await api.register(name);
      expect(reply.status).toBe(201);
      return { name, id: reply.body.id as string };
    };

    const history = async (id: string) => {
      const reply = await api.call("GET", `/admin/users/${id}/events`, { token: root });
      expect(reply.status).toBe(200);
      return reply.body.events as {
        stream: string;
        type: string;
        position: number;
        version: number;
        actor: string | null;
        request_id: string | null;
        data: Record<string, unknown>;
      }[];
    };

    /** A fresh admin with a live token. */
    const newAdmin = async () => {
      const user = await registered();
      expect((await setRole(root, user.name, "admin")).status).toBe(200);
      const login = await api.login(user.name);
      expect(decodePayload(login.token).role).toBe("admin");
      return { ...user, token: login.token };
    };

    const isAdmin = async (name: string, secret = password) => {
      const login = await api.login(name, secret);
      expect(login.status).toBe(200);
      return decodePayload(login.token).role === "admin";
    };

    test("the configured admin exists from the start, with role admin in its token", () => {
      expect(decodePayload(root).role).toBe("admin");
    });

    test("a role change kills every access and refresh token at once; a new login has the new role", async () => {
      const user = await registered();
      const first = await api.login(user.name);
      const second = await api.login(user.name);
      expect(decodePayload(first.token).role).toBe("user");

      const changed = await setRole(root, user.name, "admin");
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ id: user.id, username: user.name, role: "admin" });

      // No pause: the integer epoch, not a timestamp, is what kills them.
      for (const session of [first, second]) {
        expect((await api.call("GET", "/secure/data", { token: session.token })).status).toBe(401);
        expect((await api.call("POST", "/auth/refresh", { cookie: session.refresh })).status).toBe(
          401,
        );
      }
      const again = await api.login(user.name);
      expect(decodePayload(again.token).role).toBe("admin");
      expect((await api.call("GET", "/auth/me", { token: again.token })).body.role).toBe("admin");
      expect(
        (await api.call("GET", `/admin/users/${user.id}/events`, { token: again.token })).status,
      ).toBe(200);
    });

    test("setting the role a user already has changes nothing and keeps their tokens", async () => {
      const user = await registered();
      const { token } = await api.login(user.name);
      const before = await history(user.id);
      const reply = await setRole(root, user.name, "user");
      expect(reply.status).toBe(200);
      expect(reply.body.role).toBe("user");
      expect((await api.call("GET", "/secure/data", { token })).status).toBe(200);
      // Nothing was appended: no RoleChanged, no epoch moved.
      expect(await history(user.id)).toEqual(before);
      expect(decodePayload((await api.login(user.name)).token).epoch).toBe(
        decodePayload(token).epoch,
      );
    });

    test("admin routes answer 403 to a user and 401 without a token", async () => {
      const user = await registered();
      const { token } = await api.login(user.name);
      const change = await setRole(token, user.name, "admin");
      expect(change.status).toBe(403);
      expect(change.headers.get("content-type")).toStartWith("application/problem+json");
      expect((await api.call("GET", `/admin/users/${user.id}/events`, { token })).status).toBe(403);
      expect((await api.call("GET", `/admin/users/${user.id}/events`)).status).toBe(401);
      expect(
        (
          await api.call("POST", "/auth/change-role", {
            body: { username: user.name, role: "admin" },
          })
        ).status,
      ).toBe(401);
      expect(await isAdmin(user.name)).toBe(false);
    });

    test("an unknown user is 404, a bad role is 422 naming the field", async () => {
      expect((await setRole(root, "nobody_here", "admin")).status).toBe(404);
      const user = await registered();
      const bad = await setRole(root, user.name, "superuser");
      expect(bad.status).toBe(422);
      expect((bad.body.errors as { field: string }[]).map((e) => e.field)).toEqual(["role"]);
      expect((await api.call("POST", "/auth/change-role", { token: root, body: {} })).status).toBe(
        422,
      );
    });

    test("the last admin cannot be demoted: 409, and nothing changes", async () => {
      await newAdmin();
      for (const name of [...promoted])
        expect((await setRole(root, name, "user")).status).toBe(200);
      const refused = await setRole(root, adminName, "user");
      expect(refused.status).toBe(409);
      expect(refused.headers.get("content-type")).toStartWith("application/problem+json");
      expect((await api.call("GET", "/secure/data", { token: root })).status).toBe(200);
      expect(await isAdmin(adminName, adminPassword)).toBe(true);
    });

    test("two admins demoting each other at once leave exactly one admin, every time", async () => {
      for (let round = 0; round < 5; round++) {
        const a = await newAdmin();
        const b = await newAdmin();
        // Only a and b may remain as candidates: the root steps down for the round.
        expect((await setRole(a.token, adminName, "user")).status).toBe(200);
        const [ab, ba] = await Promise.all([
          setRole(a.token, b.name, "user"),
          setRole(b.token, a.name, "user"),
        ]);
        const statuses = [ab.status, ba.status].sort();
        expect(statuses[0]).toBe(200);
        expect([401, 403, 409]).toContain(statuses[1] as number);
        const admins = [await isAdmin(a.name), await isAdmin(b.name)];
        expect(admins.filter(Boolean)).toHaveLength(1);
        const survivor = admins[0] ? a.name : b.name;
        const token = (await api.login(survivor)).token;
        expect((await setRole(token, adminName, "admin")).status).toBe(200);
        expect((await setRole(token, survivor, "user")).status).toBe(200);
        root = (await api.login(adminName, adminPassword)).token;
      }
    });

    test("one admin demoting two others at once: both land, neither refused as a conflict", async () => {
      const a = await newAdmin();
      const b = await newAdmin();
      const replies = await Promise.all([
        setRole(root, a.name, "user"),
        setRole(root, b.name, "user"),
      ]);
      expect(replies.map((r) => r.status)).toEqual([200, 200]);
      expect(await isAdmin(a.name)).toBe(false);
      expect(await isAdmin(b.name)).toBe(false);
      expect((await api.call("GET", "/secure/data", { token: root })).status).toBe(200);
    });

    test("concurrent role changes on one user all apply, in some order; the epochs have no gap", async () => {
      const target = await registered();
      const wanted = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? "admin" : "user"));
      const replies = await Promise.all(wanted.map((role) => setRole(root, target.name, role)));
      expect(replies.map((r) => r.status)).toEqual(wanted.map(() => 200));
      const events = await history(target.id);
      const advancing = events.filter((e) =>
        ["RoleChanged", "PasswordChanged", "AllSessionsRevoked"].includes(e.type),
      );
      expect(advancing.map((e) => e.data.epoch)).toEqual(advancing.map((_, i) => i + 1));
      const roles = advancing.map((e) => e.data.to);
      for (let i = 1; i < roles.length; i++) expect(roles[i]).not.toBe(roles[i - 1]);
      const finalRole = roles.at(-1) ?? "user";
      const login = await api.login(target.name);
      expect(decodePayload(login.token)).toMatchObject({
        role: finalRole,
        epoch: advancing.length,
      });
    });

    describe("change-password", () => {
      const change = (token: string, body: Record<string, unknown>) =>
        api.call("POST", "/auth/change-password", { token, body });

      test("answers a fresh pair; every older token dies; only the new password logs in", async () => {
        const user = await registered();
        const first = await api.login(user.name);
        const other = await api.login(user.name);
        const reply = await change(first.token, {
          current_password: password,
          new_password: "a brand new secret",
        });
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({
          access_token: expect.any(String),
          token_type: "bearer",
          expires_in: 900,
        });
        expect(reply.setCookie).toContain("HttpOnly");
        expect(reply.text).not.toContain("a brand new secret");
        const fresh = reply.body.access_token as string;
        expect((await api.call("GET", "/secure/data", { token: fresh })).status).toBe(200);
        expect(
          (await api.call("POST", "/auth/refresh", { cookie: reply.refreshCookie ?? "" })).status,
        ).toBe(200);
        for (const old of [first, other]) {
          expect((await api.call("GET", "/secure/data", { token: old.token })).status).toBe(401);
          expect((await api.call("POST", "/auth/refresh", { cookie: old.refresh })).status).toBe(
            401,
          );
        }
        expect((await api.login(user.name)).status).toBe(401);
        expect((await api.login(user.name, "a brand new secret")).status).toBe(200);
      });

      test("a wrong current password is 401 and changes nothing", async () => {
        const user = await registered();
        const { token } = await api.login(user.name);
        const reply = await change(token, {
          current_password: "not my password",
          new_password: "a brand new secret",
        });
        expect(reply.status).toBe(401);
        expect(reply.headers.get("www-authenticate")).toStartWith("Bearer");
        expect((await api.call("GET", "/secure/data", { token })).status).toBe(200);
        expect((await api.login(user.name)).status).toBe(200);
      });

      test("an invalid new password is 422 naming the field, never echoing it", async () => {
        const user = await registered();
        const { token } = await api.login(user.name);
        for (const invalid of ["Sh0rt!x", "Lq9".repeat(43)]) {
          const reply = await change(token, { current_password: password, new_password: invalid });
          expect(reply.status).toBe(422);
          expect((reply.body.errors as { field: string }[]).map((e) => e.field)).toContain(
            "new_password",
          );
          expect(reply.text).not.toContain(invalid);
          expect(reply.text).not.toContain(password);
        }
        expect((await change(token, { current_password: password })).status).toBe(422);
        // Refused before anything changed: the old password and the token still work.
        expect((await api.call("GET", "/secure/data", { token })).status).toBe(200);
        expect((await api.login(user.name)).status).toBe(200);
      });

      test("needs a live access token", async () => {
        const user = await registered();
        const session = await api.login(user.name);
        expect((await api.call("POST", "/auth/logout", { token: session.token })).status).toBe(204);
        const body = { current_password: password, new_password: "a brand new secret" };
        // Without a token, and with a genuine one that was logged out.
        const none = await api.call("POST", "/auth/change-password", { body });
        const dead = await change(session.token, body);
        for (const reply of [none, dead]) {
          expect(reply.status).toBe(401);
          expect(reply.headers.get("www-authenticate")).toStartWith("Bearer");
          expect(reply.refreshCookie).toBeUndefined();
        }
        // The password did not change.
        expect((await api.login(user.name, "a brand new secret")).status).toBe(401);
        expect((await api.login(user.name)).status).toBe(200);
      });
    });

    describe("audit trail", () => {
      test("lists a user's events in order with who did them, and never a password or hash", async () => {
        const user = await registered();
        const { token } = await api.login(user.name);
        await api.call("POST", "/auth/change-password", {
          token,
          body: { current_password: password, new_password: "another long secret" },
          headers: { "x-request-id": "change-pw-1" },
        });
        await api.call("POST", "/auth/change-role", {
          token: root,
          body: { username: user.name, role: "admin" },
          headers: { "x-request-id": "promote-1" },
        });
        const reply = await api.call("GET", `/admin/users/${user.id}/events`, { token: root });
        expect(reply.status).toBe(200);
        const events = (reply.body.events as Record<string, unknown>[]).filter(
          (e) => e.stream === `user-${user.id}`,
        );
        expect(events.map((e) => e.type)).toEqual([
          "UserRegistered",
          "PasswordChanged",
          "RoleChanged",
        ]);
        expect(events.map((e) => e.version)).toEqual([1, 2, 3]);
        const positions = events.map((e) => e.position as number);
        expect([...positions].sort((a, b) => a - b)).toEqual(positions);
        expect(events[1]).toMatchObject({ actor: user.id, request_id: "change-pw-1" });
        expect(events[2]).toMatchObject({
          actor: rootId,
          request_id: "promote-1",
          data: { userId: user.id, from: "user", to: "admin", by: rootId, epoch: 2 },
        });
        expect(events[0]?.data).toEqual({ userId: user.id, username: user.name, role: "user" });
        expect(typeof events[0]?.recorded_at).toBe("string");
        expect(reply.text).not.toMatch(/argon2|passwordHash|hash/i);
        expect(reply.text).not.toContain(password);
        expect(reply.text).not.toContain("another long secret");
      });

      test("includes the user's sessions: logins, rotations, logouts and a refresh reuse", async () => {
        const user = await registered();
        const other = await registered();
        await api.login(other.name);
        const first = await api.login(user.name, password, { "x-request-id": "login-1" });
        const rotated = await api.call("POST", "/auth/refresh", { cookie: first.refresh });
        const again = await api.call("POST", "/auth/refresh", {
          cookie: rotated.refreshCookie as string,
        });
        expect(again.status).toBe(200);
        expect((await api.call("POST", "/auth/refresh", { cookie: first.refresh })).status).toBe(
          401,
        );
        const second = await api.login(user.name);
        await api.call("POST", "/auth/logout", { token: second.token, cookie: second.refresh });

        const events = await history(user.id);
        const sessions = [...new Set(events.map((e) => e.stream))].filter((s) =>
          s.startsWith("session-"),
        );
        expect(sessions).toHaveLength(2);
        const of = (stream: string) => events.filter((e) => e.stream === stream);
        expect(of(sessions[0] as string).map((e) => e.type)).toEqual([
          "SessionStarted",
          "RefreshTokenRotated",
          "RefreshTokenRotated",
          "SessionRevoked",
        ]);
        expect(of(sessions[0] as string)[0]).toMatchObject({ request_id: "login-1" });
        expect(of(sessions[0] as string)[3]?.data.reason).toMatch(/reuse/i);
        expect(of(sessions[1] as string).map((e) => e.type)).toEqual([
          "SessionStarted",
          "SessionRevoked",
        ]);
        expect(events[0]?.type).toBe("UserRegistered");
        const positions = events.map((e) => e.position);
        expect([...positions].sort((a, b) => a - b)).toEqual(positions);
        expect(
          events.every((e) => e.stream === `user-${user.id}` || e.data.userId !== other.id),
        ).toBe(true);
      });

      test("an unknown id is 404", async () => {
        const reply = await api.call(
          "GET",
          "/admin/users/00000000-0000-0000-0000-000000000000/events",
          {
            token: root,
          },
        );
        expect(reply.status).toBe(404);
        expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
      });
    });

    test("a role sent to /auth/register is ignored", async () => {
      const name = fresh();
      const reply = await api.call("POST", "/auth/register", {
        body: { username: name, password, role: "admin" },
      });
      expect(reply.status).toBe(201);
      expect(await isAdmin(name)).toBe(false);
    });
  });
