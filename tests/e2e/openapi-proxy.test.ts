import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually, freePort } from "../support/net.ts";
import { baseEnv } from "../support/run.ts";
import { spawnApi } from "../support/server.ts";

// Every call goes through Stoplight Prism, which checks each answer against the API's own
// /docs/json: an undeclared status, media type, header or body shape fails the call.

const root = `${import.meta.dir}/../..`;
const password = "correct horse battery";
const admin = { username: "boss", password: "boss password 123" };
const maxFailures = 3;
const registerLimit = 20;

type Operation = { requestBody?: { content?: Record<string, { schema?: Schema }> } };
type Schema = { properties?: Record<string, { enum?: string[] }> };
type Document = { paths: Record<string, Record<string, Operation>> };

type Send = {
  json?: unknown;
  form?: Record<string, string>;
  /** Sent as text/plain. */
  text?: string;
  token?: string;
  cookie?: string;
  /** The whole Authorization header, when it is not a bearer token. */
  authorization?: string;
};

type Reply = {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
  cookie: string | undefined;
};

const dir = mkdtempSync(join(tmpdir(), "authlog-prism-"));
let api: Awaited<ReturnType<typeof spawnApi>> | undefined;
const proxies: Bun.Subprocess[] = [];
let document: Document;
/** Validates requests too: every well-formed call must fit the document on both sides. */
let strict: string;
/** Request validation off, for calls that break the document on purpose: the API must answer. */
let loose: string;
const driven = new Set<string>();

const startPrism = async (documentFile: string, upstream: string, validateRequests: boolean) => {
  const port = freePort();
  const proc = Bun.spawn(
    [
      `${root}/node_modules/.bin/prism`,
      "proxy",
      documentFile,
      upstream,
      "--errors",
      `--validate-request=${validateRequests}`,
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--verboseLevel",
      "warn",
    ],
    { cwd: root, env: baseEnv(), stdout: "pipe", stderr: "pipe" },
  );
  proxies.push(proc);
  // Read as it comes, so a full pipe never stalls Prism; shown if it does not start.
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const base = `http://127.0.0.1:${port}`;
  const answers = () =>
    fetch(`${base}/health/live`).then(
      (r) => r.ok && r.headers.get("x-request-id") !== null,
      () => false,
    );
  const settled = await eventually(async () => proc.exitCode !== null || (await answers()), 15_000);
  if (!settled || proc.exitCode !== null) {
    proc.kill("SIGKILL");
    throw new Error(`prism proxy did not start:\n${(await output).join("\n").slice(-4000)}`);
  }
  return base;
};

beforeAll(async () => {
  api = await spawnApi(
    {
      DATA_DIR: dir,
      JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
      ALGORITHM: "ES256",
      KEY_ENCRYPTION_KEY: `${crypto.randomUUID()}${crypto.randomUUID()}`,
      ADMIN_USERNAME: admin.username,
      ADMIN_PASSWORD: admin.password,
      LOGIN_MAX_FAILURES_PER_USER: String(maxFailures),
      REGISTER_RATE_LIMIT: String(registerLimit),
      REFRESH_GRACE_SECONDS: "0",
      HEAVY_TASK_MAX_N: "1000",
    },
    { readyWithinMs: 15_000 },
  );
  const fetched = await fetch(`${api.base}/docs/json`);
  expect(fetched.status).toBe(200);
  const text = await fetched.text();
  document = JSON.parse(text) as Document;
  const documentFile = join(dir, "openapi.json");
  writeFileSync(documentFile, text);
  [strict, loose] = await Promise.all([
    startPrism(documentFile, api.base, true),
    startPrism(documentFile, api.base, false),
  ]);
}, 30_000);

afterAll(async () => {
  for (const proc of proxies) proc.kill("SIGKILL");
  await Promise.all([...proxies.map((proc) => proc.exited), api?.stop("SIGKILL")]);
  rmSync(dir, { recursive: true, force: true });
});

/** The document's path template a concrete path falls under, as in `GET /admin/users/{id}/events`. */
const operationOf = (method: string, path: string) => {
  const bare = path.split("?")[0] ?? path;
  const template = Object.keys(document.paths).find((candidate) =>
    new RegExp(`^${candidate.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(bare),
  );
  return `${method} ${template ?? bare}`;
};

const send = async (proxy: string, method: string, path: string, init: Send = {}) => {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (init.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(init.json);
  } else if (init.form !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(init.form).toString();
  } else if (init.text !== undefined) {
    headers["content-type"] = "text/plain";
    body = init.text;
  }
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.authorization !== undefined) headers.authorization = init.authorization;
  if (init.cookie !== undefined) headers.cookie = init.cookie;
  const response = await fetch(`${proxy}${path}`, { method, headers, body });
  const text = await response.text();
  const json = (response.headers.get("content-type") ?? "").includes("json");
  const setCookie = response.headers.get("set-cookie") ?? "";
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: json && text ? (JSON.parse(text) as Record<string, unknown>) : {},
    cookie: /(refresh_token=[^;]+)/.exec(setCookie)?.[1],
  } satisfies Reply;
};

/**
 * Sends one call through a proxy and checks that the API itself answered `status` and that Prism
 * found nothing the document does not declare. Prism marks any violation with `sl-violations`
 * (an undeclared 4xx is only a warning, so the status alone would not tell).
 */
const call = async (
  status: number | readonly number[],
  proxy: string,
  method: string,
  path: string,
  init: Send = {},
): Promise<Reply> => {
  const reply = await send(proxy, method, path, init);
  driven.add(operationOf(method, path));
  const what = `${method} ${path} answered ${reply.status}`;
  const violations = reply.headers.get("sl-violations");
  if (violations !== null) {
    throw new Error(`${what}; the document does not declare it:\n${violations}\n${reply.text}`);
  }
  // Prism's own answers (to a request it refused) carry no request id: the API never saw them.
  if (reply.headers.get("x-request-id") === null) {
    throw new Error(`${what} from Prism, not from the API:\n${reply.text}`);
  }
  const expected = typeof status === "number" ? [status] : status;
  if (!expected.includes(reply.status)) {
    throw new Error(`${what}, not ${expected.join(" or ")}:\n${reply.text}`);
  }
  return reply;
};

const register = (username: string) =>
  call(201, strict, "POST", "/auth/register", { json: { username, password } });

const logIn = async (username: string, secret = password) => {
  const reply = await call(200, strict, "POST", "/auth/login", {
    json: { username, password: secret },
  });
  expect(reply.cookie).toBeDefined();
  return { token: String(reply.body.access_token), cookie: reply.cookie ?? "" };
};

const bogusToken = "not-a-jwt";

describe("the whole API through a validating proxy (Prism) in front of a real process", () => {
  test("the health routes and the metrics answer as documented", async () => {
    await call(200, strict, "GET", "/health/live");
    const ready = await call(200, strict, "GET", "/health/ready");
    expect(ready.body.ready).toBe(true);
    if (document.paths["/metrics"]) {
      const metrics = await call(200, strict, "GET", "/metrics");
      expect(metrics.text).toContain("# TYPE");
    }
  });

  test("register: 201, a taken name 409, bad fields 422, a wrong media type 415, too large 413", async () => {
    const created = await register("alice");
    expect(created.body).toMatchObject({ username: "alice", role: "user" });
    await call(409, strict, "POST", "/auth/register", {
      json: { username: "ALICE", password },
    });
    // Within the document's schema, outside the domain's rules: the API says which field.
    const ruled = await call(422, strict, "POST", "/auth/register", {
      json: { username: "a b", password: "short" },
    });
    expect(ruled.body.errors).toBeArray();
    await call(422, loose, "POST", "/auth/register", { json: { username: "carol" } });
    await call(415, loose, "POST", "/auth/register", { text: "carol" });
    await call(413, loose, "POST", "/auth/register", {
      json: { username: "carol", password: "x".repeat(70_000) },
    });
  });

  test("login: 200 with the refresh cookie, a wrong password 401, a missing field 422", async () => {
    const session = await logIn("alice");
    expect(session.token.split(".")).toHaveLength(3);
    await call(401, strict, "POST", "/auth/login", {
      json: { username: "alice", password: "wrong password" },
    });
    await call(401, strict, "POST", "/auth/login", {
      json: { username: "nobody_here", password },
    });
    await call(422, loose, "POST", "/auth/login", { json: { username: "alice" } });
  });

  test("login: repeated wrong passwords for one user end in 429 with Retry-After", async () => {
    await register("locked_out");
    const wrong = { json: { username: "locked_out", password: "wrong password" } };
    for (let i = 0; i < maxFailures; i++) await call(401, strict, "POST", "/auth/login", wrong);
    const refused = await call(429, strict, "POST", "/auth/login", {
      json: { username: "locked_out", password },
    });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("/auth/token: each body the document declares gets a token; a wrong password does not", async () => {
    await register("grant_user");
    const content = document.paths["/auth/token"]?.post?.requestBody?.content ?? {};
    expect(Object.keys(content).length).toBeGreaterThan(0);
    for (const [type, { schema }] of Object.entries(content)) {
      const grants = schema?.properties?.grant_type?.enum;
      const as = (values: Record<string, string>): Send =>
        type === "application/json" ? { json: values } : { form: values };
      const withPassword = (secret: string) =>
        as({
          ...(grants ? { grant_type: "password" } : {}),
          username: "grant_user",
          password: secret,
        });
      const issued = await call(200, strict, "POST", "/auth/token", withPassword(password));
      expect(issued.body.token_type).toBe("bearer");
      // 401 as /auth/login has it, or 400 invalid_grant as RFC 6749 does: either, if declared.
      await call([400, 401], strict, "POST", "/auth/token", withPassword("wrong password"));
      if (grants?.includes("refresh_token")) {
        const refreshToken = issued.body.refresh_token;
        expect(refreshToken).toBeString();
        const rotate = as({ grant_type: "refresh_token", refresh_token: String(refreshToken) });
        await call(200, strict, "POST", "/auth/token", rotate);
        await call(400, strict, "POST", "/auth/token", rotate);
        await call(400, loose, "POST", "/auth/token", as({ grant_type: "client_credentials" }));
      }
    }
  });

  test("refresh: 200 rotates the cookie; an unknown or already rotated cookie is 401", async () => {
    const session = await logIn("alice");
    const rotated = await call(200, strict, "POST", "/auth/refresh", { cookie: session.cookie });
    expect(rotated.cookie).toBeDefined();
    expect(rotated.cookie).not.toBe(session.cookie);
    await call(401, strict, "POST", "/auth/refresh", { cookie: "refresh_token=bogus" });
    await call(401, strict, "POST", "/auth/refresh", { cookie: session.cookie });
  });

  test("me, secure data and the heavy task: 200 with a token, 401 with a bad one", async () => {
    const { token } = await logIn("alice");
    const me = await call(200, strict, "GET", "/auth/me", { token });
    expect(me.body.username).toBe("alice");
    await call(401, strict, "GET", "/auth/me", { token: bogusToken });
    const data = await call(200, strict, "GET", "/secure/data", { token });
    expect(data.body.message).toBe("Hello, alice.");
    await call(401, strict, "GET", "/secure/data", { token: bogusToken });
    const first = await call(200, strict, "GET", "/secure/heavy-task?n=90", { token });
    expect(first.body).toEqual({ n: 90, result: "2880067194370816120", cached: false });
    const again = await call(200, strict, "GET", "/secure/heavy-task?n=90", { token });
    expect(again.body.cached).toBe(true);
    await call(422, loose, "GET", "/secure/heavy-task?n=1e3", { token });
    await call(422, loose, "GET", "/secure/heavy-task?n=1001", { token });
    await call(401, strict, "GET", "/secure/heavy-task?n=5", { token: bogusToken });
  });

  test("change-password: 422, 401 for a wrong current password, 429 when repeated, then 200", async () => {
    await register("changer");
    const { token } = await logIn("changer");
    const change = (current: string, next: string) => ({
      json: { current_password: current, new_password: next },
      token,
    });
    await call(422, strict, "POST", "/auth/change-password", change(password, "short"));
    await call(422, loose, "POST", "/auth/change-password", { json: {}, token });
    await call(401, strict, "POST", "/auth/change-password", {
      ...change(password, "x"),
      token: bogusToken,
    });
    const wrong = change("wrong password", "a new password");
    for (let i = 0; i < maxFailures; i++) {
      await call(401, strict, "POST", "/auth/change-password", wrong);
    }
    await call(429, strict, "POST", "/auth/change-password", wrong);

    await register("changer2");
    const other = await logIn("changer2");
    const changed = await call(200, strict, "POST", "/auth/change-password", {
      json: { current_password: password, new_password: "a new password" },
      token: other.token,
    });
    expect(changed.cookie).toBeDefined();
    await call(401, strict, "GET", "/auth/me", { token: other.token });
    await logIn("changer2", "a new password");
  });

  test("logout and logout-all: 204, then the tokens are dead; a bad token is 401", async () => {
    const one = await logIn("alice");
    await call(204, strict, "POST", "/auth/logout", { token: one.token, cookie: one.cookie });
    await call(401, strict, "GET", "/auth/me", { token: one.token });
    await call(401, strict, "POST", "/auth/logout", { token: bogusToken });
    await call(401, strict, "POST", "/auth/logout", { cookie: "refresh_token=bogus" });

    const two = await logIn("alice");
    await call(204, strict, "POST", "/auth/logout-all", { token: two.token });
    await call(401, strict, "POST", "/auth/refresh", { cookie: two.cookie });
    await call(401, strict, "POST", "/auth/logout-all", { token: bogusToken });
  });

  test("refresh, logout and logout-all take no body, but one sent meets the shared parser", async () => {
    const { token, cookie } = await logIn("alice");
    for (const path of ["/auth/refresh", "/auth/logout", "/auth/logout-all"]) {
      await call(415, loose, "POST", path, { text: "hello", token, cookie });
      await call(413, loose, "POST", path, { json: { pad: "x".repeat(70_000) }, token, cookie });
    }
  });

  test("admin routes: 200, 403 for a user, 404 for no such user, 409 for the last admin, 422", async () => {
    const boss = await logIn(admin.username, admin.password);
    const dave = await register("dave");
    const daveId = String(dave.body.id);
    const user = await logIn("dave");
    const role = (username: string, value: string, token = boss.token) => ({
      json: { username, role: value },
      token,
    });

    await call(409, strict, "POST", "/auth/change-role", role(admin.username, "user"));
    await call(403, strict, "POST", "/auth/change-role", role("dave", "admin", user.token));
    await call(404, strict, "POST", "/auth/change-role", role("nobody_here", "admin"));
    await call(422, strict, "POST", "/auth/change-role", role("dave", "root"));
    await call(422, loose, "POST", "/auth/change-role", {
      json: { username: "dave" },
      token: boss.token,
    });
    await call(401, strict, "POST", "/auth/change-role", role("dave", "admin", bogusToken));

    const events = `/admin/users/${daveId}/events`;
    await call(403, strict, "GET", events, { token: user.token });
    const promoted = await call(200, strict, "POST", "/auth/change-role", role("dave", "admin"));
    expect(promoted.body.role).toBe("admin");
    // The role change ended dave's sessions.
    await call(401, strict, "GET", "/auth/me", { token: user.token });

    const trail = await call(200, strict, "GET", events, { token: boss.token });
    expect((trail.body.events as { type: string }[]).map((e) => e.type)).toContain("RoleChanged");
    await call(404, strict, "GET", `/admin/users/${crypto.randomUUID()}/events`, {
      token: boss.token,
    });
    await call(401, strict, "GET", events, { token: bogusToken });
    await call(422, loose, "GET", `/admin/users/${"x".repeat(65)}/events`, { token: boss.token });

    const inspect = "/admin/tokens/inspect";
    const inspected = await call(200, strict, "POST", inspect, {
      json: { token: user.token, at: new Date().toISOString() },
      token: boss.token,
    });
    expect(inspected.body).toMatchObject({ genuine: true, valid: false, code: "role_changed" });
    await call(200, strict, "POST", inspect, { json: { token: bogusToken }, token: boss.token });
    await register("ivan");
    const ivan = await logIn("ivan");
    await call(403, strict, "POST", inspect, { json: { token: user.token }, token: ivan.token });
    await call(401, strict, "POST", inspect, { json: { token: user.token }, token: bogusToken });
    await call(422, strict, "POST", inspect, {
      json: { token: user.token, at: "2026-02-31T99:00" },
      token: boss.token,
    });
    await call(422, loose, "POST", inspect, { json: {}, token: boss.token });
  });

  test("clients, introspection, revocation and forward auth answer as documented", async () => {
    const boss = await logIn(admin.username, admin.password);
    await register("erin");
    const erin = await logIn("erin");

    const made = await call(201, strict, "POST", "/admin/clients", {
      json: { name: "reports" },
      token: boss.token,
    });
    const clientId = String(made.body.client_id);
    await call(403, strict, "POST", "/admin/clients", { json: { name: "x" }, token: erin.token });
    await call(401, strict, "POST", "/admin/clients", { json: { name: "x" }, token: bogusToken });
    await call(422, strict, "POST", "/admin/clients", { json: { name: "" }, token: boss.token });
    await call(422, loose, "POST", "/admin/clients", { json: {}, token: boss.token });
    const listed = await call(200, strict, "GET", "/admin/clients", { token: boss.token });
    expect(listed.body.items).toBeArray();
    await call(403, strict, "GET", "/admin/clients", { token: erin.token });
    await call(401, strict, "GET", "/admin/clients", { token: bogusToken });

    const basic = `Basic ${btoa(`${clientId}:${made.body.client_secret}`)}`;
    const introspect = (token: string, authorization = basic) =>
      call(200, strict, "POST", "/oauth/introspect", { form: { token }, authorization });
    expect((await introspect(erin.token)).body).toMatchObject({ active: true });
    expect((await introspect(erin.cookie.replace("refresh_token=", ""))).body).toMatchObject({
      active: true,
      token_type: "refresh_token",
    });
    expect((await introspect(bogusToken)).body).toEqual({ active: false });
    // Prism answers a request without Basic credentials itself: wrong ones reach the API.
    await call(401, strict, "POST", "/oauth/introspect", {
      form: { token: erin.token },
      authorization: `Basic ${btoa(`${clientId}:wrong`)}`,
    });
    await call(400, loose, "POST", "/oauth/introspect", { form: {}, authorization: basic });

    const verified = await call(200, strict, "GET", "/auth/verify", { token: erin.token });
    expect(verified.headers.get("x-auth-username")).toBe("erin");
    await call(200, strict, "GET", "/auth/verify?role=user", { token: erin.token });
    await call(403, strict, "GET", "/auth/verify?role=admin", { token: erin.token });
    await call(401, strict, "GET", "/auth/verify", { token: bogusToken });
    await call(422, loose, "GET", "/auth/verify?role=root", { token: erin.token });

    await call(200, strict, "POST", "/oauth/revoke", { form: { token: bogusToken } });
    await call(200, strict, "POST", "/oauth/revoke", { form: { token: erin.token } });
    await call(401, strict, "GET", "/auth/verify", { token: erin.token });
    await call(400, loose, "POST", "/oauth/revoke", { form: {} });
    await call(415, loose, "POST", "/oauth/revoke", { text: "token=x" });

    await call(204, strict, "DELETE", `/admin/clients/${clientId}`, { token: boss.token });
    await call(401, strict, "POST", "/oauth/introspect", {
      form: { token: boss.token },
      authorization: basic,
    });
    await call(404, strict, "DELETE", `/admin/clients/${crypto.randomUUID()}`, {
      token: boss.token,
    });
    const again = await logIn("erin");
    await call(403, strict, "DELETE", `/admin/clients/${clientId}`, { token: again.token });
    await call(401, strict, "DELETE", `/admin/clients/${clientId}`, { token: bogusToken });
    await call(422, loose, "DELETE", `/admin/clients/${"x".repeat(65)}`, { token: boss.token });
  });

  test("discovery: the JWKS and the RFC 8414 metadata answer as documented", async () => {
    const keys = await call(200, strict, "GET", "/.well-known/jwks.json");
    expect((keys.body.keys as unknown[]).length).toBeGreaterThanOrEqual(2);
    const metadata = await call(200, strict, "GET", "/.well-known/oauth-authorization-server");
    expect(metadata.body.grant_types_supported).toEqual(["password", "refresh_token"]);
  });

  test("signing keys: list, rotate and revoke 200; 401, 403, 404, 415 and 422", async () => {
    const boss = await logIn(admin.username, admin.password);
    const user = await logIn("alice");
    const listed = await call(200, strict, "GET", "/admin/keys", { token: boss.token });
    expect(listed.body.algorithm).toBe("ES256");
    await call(401, strict, "GET", "/admin/keys", { token: bogusToken });
    await call(403, strict, "GET", "/admin/keys", { token: user.token });

    const rotated = await call(200, strict, "POST", "/admin/keys/rotate", { token: boss.token });
    await call(401, strict, "POST", "/admin/keys/rotate", { token: bogusToken });
    await call(403, strict, "POST", "/admin/keys/rotate", { token: user.token });
    await call(415, loose, "POST", "/admin/keys/rotate", { text: "now", token: boss.token });

    // The next key: revoking it ends no one's tokens.
    const keys = rotated.body.keys as { kid: string; state: string }[];
    const next = keys.find((key) => key.state === "next")?.kid ?? "";
    const revoke = `/admin/keys/${next}/revoke`;
    const revoked = await call(200, strict, "POST", revoke, {
      json: { reason: "not needed" },
      token: boss.token,
    });
    expect(
      (revoked.body.keys as { kid: string; state: string }[]).find((k) => k.kid === next)?.state,
    ).toBe("revoked");
    await call(200, strict, "POST", revoke, { token: boss.token });
    await call(404, strict, "POST", "/admin/keys/no-such-kid/revoke", { token: boss.token });
    await call(401, strict, "POST", revoke, { token: bogusToken });
    await call(403, strict, "POST", revoke, { token: user.token });
    await call(422, loose, "POST", revoke, {
      json: { reason: "x".repeat(201) },
      token: boss.token,
    });
    await call(422, loose, "POST", `/admin/keys/${"k".repeat(65)}/revoke`, { token: boss.token });
    await call(415, loose, "POST", revoke, { text: "{", token: boss.token });
  });

  test("sessions and user administration answer as documented", async () => {
    const boss = await logIn(admin.username, admin.password);
    const frank = await register("frank");
    const frankId = String(frank.body.id);
    const first = await logIn("frank");
    const second = await logIn("frank");
    let sessions: { id: string; current: boolean }[] = [];
    for (let i = 0; i < 200 && sessions.length < 2; i++) {
      sessions = (await call(200, strict, "GET", "/auth/sessions", { token: second.token }))
        .body as unknown as { id: string; current: boolean }[];
      if (sessions.length < 2) await Bun.sleep(25);
    }
    expect(sessions.length).toBe(2);
    await call(401, strict, "GET", "/auth/sessions", { token: bogusToken });
    const other = sessions.find((session) => !session.current)?.id ?? "";
    await call(204, strict, "DELETE", `/auth/sessions/${other}`, { token: second.token });
    await call(404, strict, "DELETE", `/auth/sessions/${other}`, { token: second.token });
    await call(401, strict, "DELETE", `/auth/sessions/${other}`, { token: first.token });
    await call(422, loose, "DELETE", `/auth/sessions/${"x".repeat(65)}`, { token: second.token });
    await call(204, strict, "POST", "/auth/logout-others", { token: second.token });
    await call(401, strict, "POST", "/auth/logout-others", { token: bogusToken });

    const page = await call(200, strict, "GET", "/admin/users?q=FRANK&limit=10", {
      token: boss.token,
    });
    expect(page.body.next_cursor === null || typeof page.body.next_cursor === "string").toBe(true);
    await call(422, strict, "GET", "/admin/users?limit=0", { token: boss.token });
    await call(422, strict, "GET", "/admin/users?cursor=garbage", { token: boss.token });
    await call(403, strict, "GET", "/admin/users", { token: second.token });
    await call(401, strict, "GET", "/admin/users", { token: bogusToken });
    await call([200, 404], strict, "GET", `/admin/users/${frankId}`, { token: boss.token });
    await call(404, strict, "GET", `/admin/users/${crypto.randomUUID()}`, { token: boss.token });
    await call(422, loose, "GET", `/admin/users/${"x".repeat(65)}`, { token: boss.token });

    const disabled = await call(200, strict, "POST", `/admin/users/${frankId}/disable`, {
      json: { reason: "audit", until: "2999-01-01T00:00:00Z" },
      token: boss.token,
    });
    expect(disabled.body.status).toBe("disabled");
    const refused = await call(403, strict, "POST", "/auth/login", {
      json: { username: "frank", password },
    });
    expect(refused.body.code).toBe("account_disabled");
    await call(422, strict, "POST", `/admin/users/${frankId}/disable`, {
      json: { reason: "" },
      token: boss.token,
    });
    await call(404, strict, "POST", `/admin/users/${crypto.randomUUID()}/disable`, {
      json: { reason: "x" },
      token: boss.token,
    });
    await call(200, strict, "POST", `/admin/users/${frankId}/enable`, { token: boss.token });
    await call(404, strict, "POST", `/admin/users/${crypto.randomUUID()}/enable`, {
      token: boss.token,
    });
    await call(204, strict, "POST", `/admin/users/${frankId}/logout`, { token: boss.token });
    await call(404, strict, "POST", `/admin/users/${crypto.randomUUID()}/logout`, {
      token: boss.token,
    });
    await call(401, strict, "POST", `/admin/users/${frankId}/logout`, { token: bogusToken });

    const gina = await register("gina");
    const ginaToken = (await logIn("gina")).token;
    await call(401, strict, "DELETE", "/auth/me", {
      json: { password: "not the password" },
      token: ginaToken,
    });
    await call(422, loose, "DELETE", "/auth/me", { json: {}, token: ginaToken });
    await call(204, strict, "DELETE", "/auth/me", { json: { password }, token: ginaToken });
    await call(404, strict, "DELETE", `/admin/users/${String(gina.body.id)}`, {
      token: boss.token,
    });
    const frankAgain = (await logIn("frank")).token;
    await call(403, strict, "DELETE", `/admin/users/${frankId}`, { token: frankAgain });
    await call(204, strict, "DELETE", `/admin/users/${frankId}`, { token: boss.token });
    await call(422, loose, "DELETE", `/admin/users/${"x".repeat(65)}`, { token: boss.token });
  });

  test("register: past REGISTER_RATE_LIMIT from one client it is 429", async () => {
    let status = 0;
    for (let i = 0; i <= registerLimit && status !== 429; i++) {
      const json = { username: `many_${i}`, password };
      status = (await call([201, 429], strict, "POST", "/auth/register", { json })).status;
    }
    expect(status).toBe(429);
    await call(429, strict, "POST", "/auth/register", { json: { username: "one_more", password } });
  });

  test("every operation in the document was driven through the proxy", () => {
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.filter((operation) => !driven.has(operation))).toEqual([]);
  });
});
