import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accepts, eventually, freePort } from "../support/net.ts";
import { readmeBlocks, substitute } from "../support/readme.ts";
import { baseEnv } from "../support/run.ts";
import { startServer } from "../support/server.ts";

const nginx = "/usr/sbin/nginx";
const installed = existsSync(nginx);
const password = "correct horse battery";
const admin = { username: "proxy_admin", password: "admin password 123" };

// CI installs Debian's nginx (.ci/run); there a missing nginx is a failure, not a skip.
if (!installed && process.env.CI === "true") {
  test("nginx is installed for the forward-auth tests", () => {
    throw new Error(`${nginx} is missing: apt-get install nginx`);
  });
}

/** The README's server block, on this test's ports, in a config of its own: pid, logs, temp. */
const nginxConfig = (dir: string, ports: { nginx: number; api: number; app: number }) => {
  const [block] = readmeBlocks("Putting other services behind it", "nginx");
  if (block === undefined) throw new Error("README.md shows no nginx configuration");
  const server = substitute(block, [
    ["listen 8000;", `listen 127.0.0.1:${ports.nginx};`, 1],
    ["127.0.0.1:3000", `127.0.0.1:${ports.api}`, 1],
    ["127.0.0.1:8080", `127.0.0.1:${ports.app}`, 1],
  ]);
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `    ${kind}_temp_path ${dir}/${kind};`)
    .join("\n");
  return `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
${temp}
${server}
}
`;
};

describe.skipIf(!installed)(
  "nginx auth_request in front of a service, with the README's config",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "authlog-nginx-"));
    let api: Awaited<ReturnType<typeof startServer>>;
    let app: ReturnType<typeof Bun.serve>;
    let proxy: Bun.Subprocess | undefined;
    let base: string;
    /** What reached the service behind nginx, request by request. */
    const seen: {
      path: string;
      userId: string | null;
      username: string | null;
      role: string | null;
    }[] = [];

    beforeAll(async () => {
      api = await startServer("nginx", {
        ADMIN_USERNAME: admin.username,
        ADMIN_PASSWORD: admin.password,
      });
      app = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (request) => {
          const entry = {
            path: new URL(request.url).pathname,
            userId: request.headers.get("x-auth-user-id"),
            username: request.headers.get("x-auth-username"),
            role: request.headers.get("x-auth-role"),
          };
          seen.push(entry);
          return Response.json(entry);
        },
      });
      const port = freePort();
      const config = join(dir, "nginx.conf");
      writeFileSync(config, nginxConfig(dir, { nginx: port, api: api.port, app: app.port ?? 0 }));
      proxy = Bun.spawn([nginx, "-p", dir, "-c", config, "-e", join(dir, "error.log")], {
        env: baseEnv(),
        stdout: "ignore",
        stderr: "pipe",
      });
      const started = await eventually(
        async () => proxy?.exitCode === null && (await accepts(port)),
      );
      if (!started) {
        const log = existsSync(join(dir, "error.log"))
          ? readFileSync(join(dir, "error.log"), "utf8")
          : "";
        throw new Error(
          `nginx did not start:\n${await new Response(proxy.stderr as ReadableStream).text()}${log}`,
        );
      }
      base = `http://127.0.0.1:${port}`;
    }, 60_000);

    afterAll(async () => {
      if (proxy) {
        proxy.kill("SIGQUIT");
        await proxy.exited;
      }
      app?.stop(true);
      await api?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const login = async (username: string, secret = password) => {
      const reply = await fetch(`${api.base}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: secret }),
      });
      expect(reply.status).toBe(200);
      return ((await reply.json()) as { access_token: string }).access_token;
    };

    const user = async (username: string) => {
      const registered = await fetch(`${api.base}/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password }),
      });
      expect(registered.status).toBe(201);
      const { id } = (await registered.json()) as { id: string };
      return { id, token: await login(username) };
    };

    const through = (path: string, token?: string, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, {
        headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });

    test("a live token reaches the service with X-Auth-User-Id; a caller's own X-Auth-* is replaced", async () => {
      const alice = await user("nginx_alice");
      const reply = await through("/reports", alice.token, {
        "x-auth-user-id": "someone-else",
        "x-auth-role": "admin",
      });
      expect(reply.status).toBe(200);
      expect(await reply.json()).toEqual({
        path: "/reports",
        userId: alice.id,
        username: "nginx_alice",
        role: "user",
      });
    });

    test("without a token or with garbage, nginx answers 401 with WWW-Authenticate; the service sees nothing", async () => {
      const before = seen.length;
      for (const token of [undefined, "not-a-jwt"]) {
        const reply = await through("/reports", token);
        expect(reply.status).toBe(401);
        expect(reply.headers.get("www-authenticate")).toStartWith("Bearer");
      }
      expect(seen.length).toBe(before);
    });

    test("after a logout the same token gets 401 from nginx on the very next request", async () => {
      const bob = await user("nginx_bob");
      expect((await through("/reports", bob.token)).status).toBe(200);
      const out = await fetch(`${api.base}/auth/logout`, {
        method: "POST",
        headers: { authorization: `Bearer ${bob.token}` },
      });
      expect(out.status).toBe(204);
      expect((await through("/reports", bob.token)).status).toBe(401);
    });

    test("a token revoked through /oauth/revoke gets 401 on the very next request", async () => {
      const dana = await user("nginx_dana");
      expect((await through("/reports", dana.token)).status).toBe(200);
      const revoked = await fetch(`${api.base}/oauth/revoke`, {
        method: "POST",
        body: new URLSearchParams({ token: dana.token }),
      });
      expect(revoked.status).toBe(200);
      expect((await through("/reports", dana.token)).status).toBe(401);
    });

    test("the admin-only location answers 403 to a user and lets an admin through", async () => {
      const carol = await user("nginx_carol");
      const before = seen.length;
      expect((await through("/admin/stats", carol.token)).status).toBe(403);
      expect(seen.length).toBe(before);
      expect((await through("/reports", carol.token)).status).toBe(200);
      const boss = await login(admin.username, admin.password);
      const reply = await through("/admin/stats", boss);
      expect(reply.status).toBe(200);
      expect(await reply.json()).toMatchObject({ path: "/admin/stats", role: "admin" });
    });
  },
);
