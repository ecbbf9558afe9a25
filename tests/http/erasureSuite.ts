import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redacted } from "effect";
import { client, type Mode, startApp } from "../support/app.ts";
import { eventually } from "../support/net.ts";
import { dumpFiles, dumpSchema, holding } from "../support/rawStorage.ts";

const adminName = "erase_root";
const adminPassword = "admin password 123";
const password = "correct horse battery";

type Api = ReturnType<typeof client>;

/** Erasure by crypto-shredding, the same for every storage mode. */
export const erasureSuite = (mode: Mode) =>
  describe(`erasure (${mode})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: Api;
    let root: string;
    let n = 0;
    const tag = crypto.randomUUID().slice(0, 8);

    beforeAll(async () => {
      ctx = await startApp(`erasure-${mode}`, mode, {
        ADMIN_USERNAME: adminName,
        ADMIN_PASSWORD: adminPassword,
        TRUSTED_PROXIES: "127.0.0.1,::1",
      });
      // Listening, so requests have a socket address: a trusted proxy that names the client.
      ctx.app.listen({ hostname: "127.0.0.1", port: 0 });
      const base = `http://127.0.0.1:${ctx.app.server?.port}`;
      api = client({
        handle: (request) =>
          fetch(new Request(request.url.replace("http://localhost", base), request)),
      });
      const login = await api.login(adminName, adminPassword);
      expect(login.status).toBe(200);
      root = login.token;
    });
    afterAll(async () => {
      await ctx.app.stop();
      await ctx.close();
    });

    /** A user who registered and logged in from its own IP and browser. */
    const person = async () => {
      const i = ++n;
      const name = `Erase_${tag}_${i}`;
      const ip = `198.51.100.${100 + i}`;
      const agent = `ErasureBrowser/${tag}.${i}`;
      const headers = { "x-forwarded-for": ip, "user-agent": agent };
      const registered = await api.call("POST", "/auth/register", {
        body: { username: name, password },
        headers,
      });
      expect(registered.status).toBe(201);
      const login = await api.login(name, password, headers);
      expect(login.status).toBe(200);
      return { name, ip, agent, id: registered.body.id as string, ...login };
    };

    const dump = async () => {
      const storage = ctx.config.storage;
      return storage.mode === "embedded"
        ? dumpFiles(storage.dataDir)
        : dumpSchema(Redacted.value(storage.databaseUrl), storage.databaseSchema ?? "public");
    };

    const trail = async (id: string) => {
      const reply = await api.call("GET", `/admin/users/${id}/events`, { token: root });
      expect(reply.status).toBe(200);
      return JSON.stringify(reply.body);
    };

    const forgotten = (id: string) =>
      eventually(async () => {
        const listed = await api.call("GET", `/admin/users?limit=100`, { token: root });
        const items = listed.body.items as { id: string }[];
        return !items.some((item) => item.id === id);
      });

    test("the username, IP and User-Agent reach the log only sealed; the directory holds them in plain", async () => {
      const p = await person();
      expect(await trail(p.id)).toContain(p.ip);
      await eventually(async () => {
        const sessions = await api.call("GET", "/auth/sessions", { token: p.token });
        return JSON.stringify(sessions.body).includes(p.agent);
      });
      const found = holding(await dump(), [p.name, p.ip, p.agent]);
      expect(found.length).toBeGreaterThan(0);
      expect(found.every((name) => name.startsWith("directory"))).toBe(true);
    });

    test("DELETE /admin/users/{id}: tokens die, the trail reads [erased], the name is free, nothing plain is left", async () => {
      const p = await person();
      const erased = await api.call("DELETE", `/admin/users/${p.id}`, { token: root });
      expect(erased.status).toBe(204);
      expect((await api.call("GET", "/auth/me", { token: p.token })).status).toBe(401);
      expect((await api.call("POST", "/auth/refresh", { cookie: p.refresh })).status).toBe(401);
      expect((await api.login(p.name, password)).status).toBe(401);
      const audit = await trail(p.id);
      expect(audit).toContain('"[erased]"');
      expect(audit).toContain("UserErased");
      expect(audit).not.toContain(p.ip);
      await forgotten(p.id);
      expect(holding(await dump(), [p.name, p.ip, p.agent])).toEqual([]);
      expect((await api.call("GET", `/admin/users/${p.id}`, { token: root })).status).toBe(404);
      const again = await api.register(p.name);
      expect(again.status).toBe(201);
      expect(again.body.id).not.toBe(p.id);
      expect((await api.login(p.name, password)).status).toBe(200);
    });

    test("DELETE /auth/me with the password erases the caller; a wrong one is 401 and changes nothing", async () => {
      const p = await person();
      const wrong = await api.call("DELETE", "/auth/me", {
        token: p.token,
        body: { password: "not the password" },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("content-type")).toContain("application/problem+json");
      const missing = await api.call("DELETE", "/auth/me", { token: p.token, body: {} });
      expect(missing.status).toBe(422);
      expect((await api.call("GET", "/auth/me", { token: p.token })).status).toBe(200);
      const done = await api.call("DELETE", "/auth/me", { token: p.token, body: { password } });
      expect(done.status).toBe(204);
      expect((await api.call("GET", "/auth/me", { token: p.token })).status).toBe(401);
      expect((await api.login(p.name, password)).status).toBe(401);
      expect(await trail(p.id)).toContain('"[erased]"');
    });

    test("bad erasures are 4xx problems and change nothing", async () => {
      const p = await person();
      const unknown = await api.call("DELETE", `/admin/users/${crypto.randomUUID()}`, {
        token: root,
      });
      expect(unknown.status).toBe(404);
      const tooLong = await api.call("DELETE", `/admin/users/${"x".repeat(65)}`, { token: root });
      expect(tooLong.status).toBe(422);
      const notAdmin = await api.call("DELETE", `/admin/users/${p.id}`, { token: p.token });
      expect(notAdmin.status).toBe(403);
      const admin = await api.login(adminName, adminPassword);
      const lastAdmin = await api.call("DELETE", "/auth/me", {
        token: admin.token,
        body: { password: adminPassword },
      });
      expect(lastAdmin.status).toBe(409);
      const adminId = (await api.call("GET", "/auth/me", { token: admin.token })).body.id;
      const lastById = await api.call("DELETE", `/admin/users/${adminId}`, { token: root });
      expect(lastById.status).toBe(409);
      expect((await api.call("GET", "/auth/me", { token: p.token })).status).toBe(200);
      expect((await api.call("GET", "/auth/me", { token: admin.token })).status).toBe(200);
      expect(await trail(p.id)).toContain(p.ip);
      expect((await api.call("DELETE", `/admin/users/${p.id}`, { token: root })).status).toBe(204);
      expect((await api.call("DELETE", `/admin/users/${p.id}`, { token: root })).status).toBe(404);
    });
  });
