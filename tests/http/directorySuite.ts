import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { client, type Mode, startApp } from "../support/app.ts";
import { decodePayload } from "../support/jwt.ts";
import { eventually } from "../support/net.ts";

const adminName = "dir_root";
const adminPassword = "admin password 123";

type Api = ReturnType<typeof client>;
type Item = { id: string; username: string; status: string; sessions: number };

/** Sessions a user sees and ends, and user administration, the same for every storage mode. */
export const directorySuite = (mode: Mode) =>
  describe(`sessions and user administration (${mode})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: Api;
    let root: string;
    let n = 0;
    const fresh = () => `dir_${mode}_${++n}`;

    beforeAll(async () => {
      ctx = await startApp(`directory-${mode}`, mode, {
        ADMIN_USERNAME: adminName,
        ADMIN_PASSWORD: adminPassword,
      });
      api = client(ctx.app);
      const login = await api.login(adminName, adminPassword);
      expect(login.status).toBe(200);
      root = login.token;
    });
    afterAll(() => ctx.close());

    const registered = async () => {
      const name = fresh();
      const reply = await api.register(name);
      expect(reply.status).toBe(201);
      return { name, id: reply.body.id as string };
    };

    const me = async (token: string) => (await api.call("GET", "/auth/me", { token })).status;

    const sessionsOf = async (token: string) => {
      const reply = await api.call("GET", "/auth/sessions", { token });
      expect(reply.status).toBe(200);
      return reply.body as unknown as { id: string; current: boolean; user_agent: string }[];
    };

    const listed = async (token: string, count: number) => {
      let sessions: Awaited<ReturnType<typeof sessionsOf>> = [];
      await eventually(async () => {
        sessions = await sessionsOf(token);
        return sessions.length === count;
      });
      return sessions;
    };

    test("GET /auth/sessions lists the caller's logins newest first, with IP, User-Agent and current", async () => {
      const { name } = await registered();
      const first = await api.login(name, undefined, { "user-agent": "first-browser" });
      const second = await api.login(name, undefined, { "user-agent": "x".repeat(400) });
      const sessions = await listed(second.token, 2);
      expect(sessions.map((s) => s.id)).toEqual([
        decodePayload(second.token).sid as string,
        decodePayload(first.token).sid as string,
      ]);
      expect(sessions.map((s) => s.current)).toEqual([true, false]);
      expect(sessions[0]?.user_agent).toBe("x".repeat(256));
      expect(sessions[1]?.user_agent).toBe("first-browser");
    });

    test("ending one session kills its tokens and leaves the others working", async () => {
      const { name } = await registered();
      const a = await api.login(name);
      const b = await api.login(name);
      const sid = decodePayload(a.token).sid as string;
      expect((await api.call("DELETE", `/auth/sessions/${sid}`, { token: b.token })).status).toBe(
        204,
      );
      expect(await me(a.token)).toBe(401);
      expect((await api.call("POST", "/auth/refresh", { cookie: a.refresh })).status).toBe(401);
      expect(await me(b.token)).toBe(200);
      const again = await api.call("DELETE", `/auth/sessions/${sid}`, { token: b.token });
      expect(again.status).toBe(404);
    });

    test("another user's session id gets the 404 an unknown id gets, and stays alive", async () => {
      const alice = await api.login((await registered()).name);
      const bob = await api.login((await registered()).name);
      const bobSid = decodePayload(bob.token).sid as string;
      const other = await api.call("DELETE", `/auth/sessions/${bobSid}`, { token: alice.token });
      const unknown = await api.call("DELETE", `/auth/sessions/${crypto.randomUUID()}`, {
        token: alice.token,
      });
      expect(other.status).toBe(404);
      expect(unknown.status).toBe(404);
      expect(other.body).toEqual(unknown.body);
      expect(other.headers.get("content-type")).toBe("application/problem+json");
      expect(await me(bob.token)).toBe(200);
    });

    test("logout-others ends every other session and keeps the current one", async () => {
      const { name } = await registered();
      const others = [await api.login(name), await api.login(name)];
      const current = await api.login(name);
      const reply = await api.call("POST", "/auth/logout-others", { token: current.token });
      expect(reply.status).toBe(204);
      for (const other of others) expect(await me(other.token)).toBe(401);
      expect(await me(current.token)).toBe(200);
      const refreshed = await api.call("POST", "/auth/refresh", { cookie: current.refresh });
      expect(refreshed.status).toBe(200);
      const sessions = await listed(current.token, 1);
      expect(sessions[0]?.id).toBe(decodePayload(current.token).sid as string);
    });

    test("disable kills every token at once; the right password gets 403 account_disabled, a wrong one 401", async () => {
      const { name, id } = await registered();
      const login = await api.login(name);
      const disabled = await api.call("POST", `/admin/users/${id}/disable`, {
        token: root,
        body: { reason: "on leave" },
      });
      expect(disabled.status).toBe(200);
      expect(disabled.body).toMatchObject({ id, username: name, status: "disabled", sessions: 0 });
      expect(await me(login.token)).toBe(401);
      expect((await api.call("POST", "/auth/refresh", { cookie: login.refresh })).status).toBe(401);
      const right = await api.login(name);
      expect(right.status).toBe(403);
      expect(right.headers.get("content-type")).toBe("application/problem+json");
      expect(right.body.code).toBe("account_disabled");
      expect((await api.login(name, "wrong password 1")).status).toBe(401);
      const grant = await api.call("POST", "/auth/token", {
        form: { grant_type: "password", username: name, password: "correct horse battery" },
      });
      expect(grant.status).toBe(403);
      expect(grant.body.error).toBe("invalid_grant");

      const enabled = await api.call("POST", `/admin/users/${id}/enable`, { token: root });
      expect(enabled.status).toBe(200);
      expect(enabled.body.status).toBe("active");
      expect(await me(login.token)).toBe(401);
      expect((await api.login(name)).status).toBe(200);
    });

    test("a disable with until lapses by itself; a past until is refused with 422", async () => {
      const { name, id } = await registered();
      const past = await api.call("POST", `/admin/users/${id}/disable`, {
        token: root,
        body: { reason: "x", until: "2001-01-01T00:00:00Z" },
      });
      expect(past.status).toBe(422);
      expect((await api.login(name)).status).toBe(200);
      const until = new Date(Date.now() + 1_500).toISOString();
      const reply = await api.call("POST", `/admin/users/${id}/disable`, {
        token: root,
        body: { reason: "cool off", until },
      });
      expect(reply.status).toBe(200);
      expect((await api.login(name)).status).toBe(403);
      expect(await eventually(async () => (await api.login(name)).status === 200, 5_000)).toBe(
        true,
      );
    });

    test("the last active admin cannot be disabled (409); a non-admin gets 403", async () => {
      const rootId = decodePayload(root).sub as string;
      const self = await api.call("POST", `/admin/users/${rootId}/disable`, {
        token: root,
        body: { reason: "oops" },
      });
      expect(self.status).toBe(409);
      expect(await me(root)).toBe(200);
      const user = await api.login((await registered()).name);
      const refused = await api.call("POST", `/admin/users/${rootId}/disable`, {
        token: user.token,
        body: { reason: "coup" },
      });
      expect(refused.status).toBe(403);
    });

    test("POST /admin/users/{id}/logout ends every session of the user", async () => {
      const { name, id } = await registered();
      const a = await api.login(name);
      const b = await api.login(name);
      const reply = await api.call("POST", `/admin/users/${id}/logout`, { token: root });
      expect(reply.status).toBe(204);
      expect(await me(a.token)).toBe(401);
      expect(await me(b.token)).toBe(401);
      const unknown = await api.call("POST", `/admin/users/${crypto.randomUUID()}/logout`, {
        token: root,
      });
      expect(unknown.status).toBe(404);
    });

    test("GET /admin/users filters by q (any case), role and status; GET /admin/users/{id} lists sessions", async () => {
      const tag = `Zq${mode}`;
      const first = await api.register(`${tag}_one`);
      const second = await api.register(`${tag.toLowerCase()}_TWO`);
      const login = await api.login(`${tag}_one`);
      expect(login.status).toBe(200);
      await api.call("POST", `/admin/users/${second.body.id}/disable`, {
        token: root,
        body: { reason: "r" },
      });
      const page = async (query: string) => {
        const reply = await api.call("GET", `/admin/users?${query}`, { token: root });
        expect(reply.status).toBe(200);
        return reply.body.items as Item[];
      };
      expect(
        await eventually(async () => (await page(`q=${tag.toUpperCase()}`)).length === 2),
      ).toBe(true);
      await eventually(
        async () =>
          (await page(`q=${tag}&status=disabled`)).map((u) => u.id).join() === second.body.id,
      );
      expect((await page(`q=${tag}&status=active`)).map((u) => u.id)).toEqual([
        first.body.id as string,
      ]);
      expect((await page(`q=${tag}&role=admin`)).length).toBe(0);
      expect((await page("role=admin")).map((u) => u.username)).toContain(adminName);
      expect(await eventually(async () => (await page(`q=${tag}_one`))[0]?.sessions === 1)).toBe(
        true,
      );
      const detail = await api.call("GET", `/admin/users/${first.body.id}`, { token: root });
      expect(detail.status).toBe(200);
      expect(detail.body.last_login_at).not.toBeNull();
      expect((detail.body.live_sessions as { id: string }[]).map((s) => s.id)).toEqual([
        decodePayload(login.token).sid as string,
      ]);
      const missing = await api.call("GET", `/admin/users/${crypto.randomUUID()}`, { token: root });
      expect(missing.status).toBe(404);
    });

    test("bad parameters of GET /admin/users get 422 problem+json, a garbage cursor too", async () => {
      for (const query of [
        "limit=0",
        "limit=101",
        "limit=ten",
        "role=owner",
        "status=gone",
        "cursor=garbage!!",
        `cursor=${Buffer.from("u:abc").toString("base64url")}`,
      ]) {
        const reply = await api.call("GET", `/admin/users?${query}`, { token: root });
        expect(reply.status, query).toBe(422);
        expect(reply.headers.get("content-type")).toBe("application/problem+json");
      }
    });

    test("pages follow creation order with a cursor: none twice, none skipped", async () => {
      const ids = [];
      for (let i = 0; i < 7; i++) ids.push((await api.register(`pg${mode}_${i}`)).body.id);
      const seen: string[] = [];
      await eventually(async () => {
        seen.length = 0;
        let cursor: string | null = null;
        do {
          const path: string = `/admin/users?q=pg${mode}_&limit=3${cursor ? `&cursor=${cursor}` : ""}`;
          const reply = await api.call("GET", path, { token: root });
          seen.push(...(reply.body.items as Item[]).map((u) => u.id));
          cursor = reply.body.next_cursor as string | null;
        } while (cursor);
        return seen.length === 7;
      });
      expect(seen).toEqual(ids as string[]);
    });

    test("a disable racing refreshes: after its 2xx no token of the user works and no refresh succeeds", async () => {
      const { name, id } = await registered();
      const login = await api.login(name);
      const refreshes = Array.from({ length: 8 }, () =>
        api.call("POST", "/auth/refresh", { cookie: login.refresh }),
      );
      const disabled = await api.call("POST", `/admin/users/${id}/disable`, {
        token: root,
        body: { reason: "race" },
      });
      expect(disabled.status).toBe(200);
      const raced = await Promise.all(refreshes);
      const tokens = [
        login.token,
        ...raced.flatMap((r) => (r.status === 200 ? [r.body.access_token as string] : [])),
      ];
      for (const token of tokens) expect(await me(token)).toBe(401);
      for (const r of raced) {
        if (r.refreshCookie) {
          expect(
            (await api.call("POST", "/auth/refresh", { cookie: r.refreshCookie })).status,
          ).toBe(401);
        }
      }
      expect((await api.call("POST", "/auth/refresh", { cookie: login.refresh })).status).toBe(401);
    });

    test("the last two active admins disabling each other at once: exactly one stays", async () => {
      const names = [fresh(), fresh()];
      const tokens: string[] = [];
      const ids: string[] = [];
      for (const name of names) {
        ids.push((await api.register(name)).body.id as string);
        const promoted = await api.call("POST", "/auth/change-role", {
          token: root,
          body: { username: name, role: "admin" },
        });
        expect(promoted.status).toBe(200);
        tokens.push((await api.login(name)).token);
      }
      const [first, second] = tokens as [string, string];
      // Out of the way, leaving these two as the only active admins.
      const rootId = decodePayload(root).sub as string;
      const away = await api.call("POST", `/admin/users/${rootId}/disable`, {
        token: first,
        body: { reason: "step aside" },
      });
      expect(away.status).toBe(200);
      const [a, b] = await Promise.all([
        api.call("POST", `/admin/users/${ids[1]}/disable`, {
          token: first,
          body: { reason: "mutiny" },
        }),
        api.call("POST", `/admin/users/${ids[0]}/disable`, {
          token: second,
          body: { reason: "mutiny" },
        }),
      ]);
      // The loser is refused: no longer an active admin (401, 403) or the last one left (409).
      const statuses = [a.status, b.status];
      expect(statuses.filter((status) => status === 200).length).toBe(1);
      expect([401, 403, 409]).toContain(statuses.find((status) => status !== 200) ?? 0);
      const alive = (await Promise.all(tokens.map(me))).filter((status) => status === 200);
      expect(alive.length).toBe(1);
      const winner = a.status === 200 ? first : second;
      const back = await api.call("POST", `/admin/users/${rootId}/enable`, { token: winner });
      expect(back.status).toBe(200);
      root = (await api.login(adminName, adminPassword)).token;
    });

    test("demoting the last active admin is refused with 409 while the other admin is disabled", async () => {
      const name = fresh();
      await api.register(name);
      const promoted = await api.call("POST", "/auth/change-role", {
        token: root,
        body: { username: name, role: "admin" },
      });
      expect(promoted.status).toBe(200);
      const ann = (await api.login(name)).token;
      const annId = decodePayload(ann).sub as string;
      let others: string[] = [];
      await eventually(async () => {
        const page = await api.call("GET", "/admin/users?role=admin&status=active&limit=100", {
          token: ann,
        });
        others = (page.body.items as unknown as Item[])
          .map((item) => item.id)
          .filter((id) => id !== annId);
        return others.length > 0;
      });
      // Every other admin disabled: ann is the last active one, and still an admin among several.
      for (const id of others) {
        const away = await api.call("POST", `/admin/users/${id}/disable`, {
          token: ann,
          body: { reason: "step aside" },
        });
        expect(away.status).toBe(200);
      }
      const demoted = await api.call("POST", "/auth/change-role", {
        token: ann,
        body: { username: name, role: "user" },
      });
      expect(demoted.status).toBe(409);
      expect(await me(ann)).toBe(200);
      for (const id of others) {
        const back = await api.call("POST", `/admin/users/${id}/enable`, { token: ann });
        expect(back.status).toBe(200);
      }
      root = (await api.login(adminName, adminPassword)).token;
      const now = await api.call("POST", "/auth/change-role", {
        token: root,
        body: { username: name, role: "user" },
      });
      expect(now.status).toBe(200);
    });
  });
