import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Effect, type ManagedRuntime } from "effect";
import { Elysia } from "elysia";
import { observability } from "../../src/adapters/http/observability.ts";
import { EventStore } from "../../src/application/ports/EventStore.ts";
import { FibonacciComputer } from "../../src/application/ports/FibonacciComputer.ts";
import { captureLog, client, startApp } from "../support/app.ts";
import { eventually } from "../support/net.ts";

const password = "correct horse battery";

type App = Awaited<ReturnType<typeof startApp>>;

/** The value of one sample (`name{labels} value`) in Prometheus text, or undefined. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("metrics", () => {
  let ctx: App;
  let api: ReturnType<typeof client>;
  const scrape = async () => {
    const reply = await api.call("GET", "/metrics");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toStartWith("text/plain");
    return reply.text;
  };

  beforeAll(async () => {
    ctx = await startApp("metrics", "embedded", {
      ADMIN_USERNAME: "metrics_admin",
      ADMIN_PASSWORD: password,
    });
    api = client(ctx.app);
  });
  afterAll(() => ctx.close());

  test("requests are counted and timed by route pattern and status, not by raw path", async () => {
    const admin = await api.login("metrics_admin");
    expect(admin.status).toBe(200);
    expect((await api.call("GET", "/auth/me", { token: admin.token })).status).toBe(200);
    expect((await api.call("GET", "/auth/me")).status).toBe(401);
    const events = await api.call("GET", "/admin/users/some-user-id/events", {
      token: admin.token,
    });
    expect(events.status).toBe(404);
    expect((await api.call("GET", "/no/such/route")).status).toBe(404);

    const text = await scrape();
    expect(sample(text, 'http_requests_total{method="GET",route="/auth/me",status="200"}')).toBe(1);
    expect(sample(text, 'http_requests_total{method="GET",route="/auth/me",status="401"}')).toBe(1);
    expect(
      sample(
        text,
        'http_requests_total{method="GET",route="/admin/users/:id/events",status="404"}',
      ),
    ).toBe(1);
    expect(sample(text, 'http_requests_total{method="GET",route="(unmatched)",status="404"}')).toBe(
      1,
    );
    expect(text).not.toContain("some-user-id");
    expect(text).not.toContain("/no/such/route");
    expect(
      sample(
        text,
        'http_request_duration_seconds_count{method="POST",route="/auth/login",status="200"}',
      ),
    ).toBe(1);
    expect(text).toContain(
      'http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/auth/login",status="200"} 1',
    );
  });

  test("a revocation's commit-to-enforcement time is observed inline, and by catch-up for an append made elsewhere", async () => {
    const count = (text: string, by: string) =>
      sample(text, `authlog_revocation_enforced_seconds_count{by="${by}"}`) ?? 0;
    const before = await scrape();
    expect((await api.register("latency_user")).status).toBe(201);
    const session = await api.login("latency_user");
    expect((await api.call("POST", "/auth/logout-all", { token: session.token })).status).toBe(204);
    const inline = await scrape();
    expect(count(inline, "inline")).toBe(count(before, "inline") + 1);
    expect(count(inline, "catch_up")).toBe(count(before, "catch_up"));
    const runtime = ctx.runtime as unknown as ManagedRuntime.ManagedRuntime<EventStore, never>;
    await runtime.runPromise(
      Effect.gen(function* () {
        const store = yield* EventStore;
        yield* store.append(
          "session-elsewhere",
          [
            {
              type: "SessionRevoked",
              data: {
                sessionId: "elsewhere",
                userId: "u",
                expiresAt: Date.now() + 60_000,
                reason: "logout",
              },
            },
          ],
          { expectedVersion: 0 },
        );
      }),
    );
    const caught = await eventually(
      async () => count(await scrape(), "catch_up") === count(before, "catch_up") + 1,
    );
    expect(caught).toBe(true);
    expect(count(await scrape(), "inline")).toBe(count(before, "inline") + 1);
  });

  test("tokens issued and revoked, failed logins and cache hits are counted as the use cases see them", async () => {
    const before = await scrape();
    const issued = (text: string, kind: string) =>
      sample(text, `authlog_tokens_issued_total{kind="${kind}"}`) ?? Number.NaN;
    const revoked = (text: string, scope: string) =>
      sample(text, `authlog_tokens_revoked_total{scope="${scope}"}`) ?? Number.NaN;

    expect((await api.register("counted_user")).status).toBe(201);
    const login = await api.login("counted_user");
    const refreshed = await api.call("POST", "/auth/refresh", { cookie: login.refresh });
    expect(refreshed.status).toBe(200);
    // Within the grace window the same refresh token comes back: an access token, no new refresh.
    expect((await api.call("POST", "/auth/refresh", { cookie: login.refresh })).status).toBe(200);
    expect((await api.call("POST", "/auth/logout", { token: login.token })).status).toBe(204);
    const other = await api.login("counted_user");
    expect((await api.call("POST", "/auth/logout-all", { token: other.token })).status).toBe(204);
    expect((await api.login("counted_user", "wrong password!")).status).toBe(401);
    expect((await api.login("nobody_at_all", "wrong password!")).status).toBe(401);
    const last = await api.login("counted_user");
    expect((await api.call("GET", "/secure/heavy-task?n=77", { token: last.token })).status).toBe(
      200,
    );
    expect((await api.call("GET", "/secure/heavy-task?n=77", { token: last.token })).status).toBe(
      200,
    );

    const after = await scrape();
    expect(issued(after, "access") - issued(before, "access")).toBe(5);
    expect(issued(after, "refresh") - issued(before, "refresh")).toBe(4);
    expect(revoked(after, "session") - revoked(before, "session")).toBe(1);
    expect(revoked(after, "user") - revoked(before, "user")).toBe(1);
    const failures = 'authlog_login_failures_total{reason="invalid_credentials"}';
    expect((sample(after, failures) ?? 0) - (sample(before, failures) ?? 0)).toBe(2);
    expect(sample(after, 'authlog_cache_requests_total{result="miss"}')).toBe(1);
    expect(sample(after, 'authlog_cache_requests_total{result="hit"}')).toBe(1);
  });

  test("projection lag and the heavy-task pool are reported as gauges", async () => {
    const text = await scrape();
    expect(sample(text, "authlog_projection_lag_events")).toBeGreaterThanOrEqual(0);
    expect(sample(text, "authlog_projection_ready")).toBe(1);
    expect(sample(text, "authlog_heavy_task_queue_length")).toBe(0);
    expect(sample(text, "authlog_heavy_task_running")).toBe(0);
    expect(sample(text, "authlog_heavy_task_rejected_total")).toBe(0);

    // A busy pool reads as busy: one worker, eight queued, a tenth turned away.
    const pool = await startApp("metrics-pool", "embedded", {
      ENABLE_CACHE: "false",
      HEAVY_TASK_WORKERS: "1",
      HEAVY_TASK_QUEUE: "8",
      HEAVY_TASK_MAX_N: "1000000",
    });
    try {
      const poolApi = client(pool.app);
      const computer = await pool.runtime.runPromise(FibonacciComputer);
      const poolScrape = async () => (await poolApi.call("GET", "/metrics")).text;
      // Ten asked in one turn of the event loop, before any can finish: one runs, eight wait,
      // the tenth is turned away. Each takes a worker tens of milliseconds.
      const work = pool.runtime.runPromise(
        Effect.all(
          Array.from({ length: 10 }, (_, i) => Effect.result(computer.fibonacci(1_000_000 - i))),
          { concurrency: "unbounded" },
        ),
      );
      const busy = await poolScrape();
      expect(sample(busy, "authlog_heavy_task_running")).toBe(1);
      expect(sample(busy, "authlog_heavy_task_queue_length")).toBeGreaterThanOrEqual(1);
      expect(sample(busy, "authlog_heavy_task_rejected_total")).toBe(1);
      const tags: string[] = (await work).map((result) => result._tag);
      expect(tags).toEqual([...Array.from({ length: 9 }, () => "Success"), "Failure"]);
      const idle = await poolScrape();
      expect(sample(idle, "authlog_heavy_task_running")).toBe(0);
      expect(sample(idle, "authlog_heavy_task_queue_length")).toBe(0);
      expect(sample(idle, "authlog_heavy_task_rejected_total")).toBe(1);
    } finally {
      await pool.close();
    }
  });

  test("METRICS_ENABLED=false turns the route off", async () => {
    const off = await startApp("metrics-off", "embedded", { METRICS_ENABLED: "false" });
    try {
      const reply = await client(off.app).call("GET", "/metrics");
      expect(reply.status).toBe(404);
      expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
    } finally {
      await off.close();
    }
  });
});

describe("request logs", () => {
  let ctx: App;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    ctx = await startApp("logs", "embedded");
    api = client(ctx.app);
  });
  afterAll(() => ctx.close());

  const requestLines = () =>
    ctx.logLines.filter((line) => line.message === "request").map((line) => line.fields);

  test("one line per request: method, route, status, latency and request id", async () => {
    const before = requestLines().length;
    const reply = await api.call("GET", "/health/live", {
      headers: { "x-request-id": "trace-42" },
    });
    expect(reply.headers.get("x-request-id")).toBe("trace-42");
    const lines = requestLines().slice(before);
    expect(lines).toEqual([
      {
        requestId: "trace-42",
        method: "GET",
        route: "/health/live",
        status: 200,
        latencyMs: expect.any(Number),
      },
    ]);
  });

  test("a request id that is not a plain token is replaced, and answers outside routes have one too", async () => {
    const odd = await api.call("GET", "/health/live", { headers: { "x-request-id": "a b\tc" } });
    expect(odd.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const missing = await api.call("GET", "/nowhere");
    expect(missing.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const tooLarge = await api.call("POST", "/auth/login", {
      raw: "x".repeat(70_000),
      headers: { "content-type": "application/json", "x-request-id": "big-one" },
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get("x-request-id")).toBe("big-one");
    expect(requestLines().at(-1)).toMatchObject({ requestId: "big-one", status: 413 });
  });

  test("no password, token, hash or Authorization header ever reaches the log", async () => {
    const username = "log_watcher";
    expect((await api.register(username)).status).toBe(201);
    const login = await api.login(username);
    const form = await api.call("POST", "/auth/token", { form: { username, password } });
    const refreshed = await api.call("POST", "/auth/refresh", { cookie: login.refresh });
    const me = await api.call("GET", "/auth/me", { token: login.token });
    expect([login.status, form.status, refreshed.status, me.status]).toEqual([200, 200, 200, 200]);
    // Failures and bad requests, each carrying the secret somewhere.
    await api.login(username, `${password} but wrong`);
    await api.call("POST", "/auth/register", { body: { username: "x", password } });
    await api.call("POST", "/auth/register", { body: { username: 42, password } });
    await api.call("POST", "/auth/login", {
      raw: `{"username":"${username}","password":"${password}"`,
      headers: { "content-type": "application/json" },
    });
    await api.call("POST", "/auth/login", {
      raw: password,
      headers: { "content-type": "text/plain" },
    });
    await api.call("GET", "/auth/me", { token: `${login.token}x` });
    await api.call("GET", "/auth/me", {
      headers: { authorization: `Basic ${btoa(`${username}:${password}`)}` },
    });
    await api.call("POST", "/auth/logout", {
      token: refreshed.body.access_token as string,
      cookie: refreshed.refreshCookie as string,
    });
    await api.call("POST", "/auth/refresh", { cookie: login.refresh });

    const log = JSON.stringify(ctx.logLines);
    expect(requestLines().length).toBeGreaterThanOrEqual(14);
    for (const secret of [
      password,
      login.token,
      login.refresh,
      form.body.access_token as string,
      refreshed.body.access_token as string,
      refreshed.refreshCookie as string,
      "argon2",
      "Bearer",
      btoa(`${username}:${password}`),
    ]) {
      expect(log).not.toContain(secret);
    }
  });
});

describe("security headers", () => {
  let ctx: App;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    ctx = await startApp("headers", "embedded");
    api = client(ctx.app);
  });
  afterAll(() => ctx.close());

  const expectSecure = (headers: Headers) => {
    expect(headers.get("x-content-type-options")).toBe("nosniff");
    expect(headers.get("x-frame-options")).toBe("DENY");
    expect(headers.get("referrer-policy")).toBe("no-referrer");
    expect(headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(headers.get("cache-control")).toBe("no-store");
  };

  test("on every answer: success, problem, 404, early 413 and 204", async () => {
    expect((await api.register("header_user")).status).toBe(201);
    const login = await api.login("header_user");
    expect(login.status).toBe(200);
    expectSecure(login.headers);
    const problem = await api.call("GET", "/auth/me");
    expect(problem.status).toBe(401);
    expectSecure(problem.headers);
    const missing = await api.call("GET", "/nope");
    expect(missing.status).toBe(404);
    expectSecure(missing.headers);
    const tooLarge = await api.call("POST", "/auth/login", {
      raw: "x".repeat(70_000),
      headers: { "content-type": "application/json" },
    });
    expect(tooLarge.status).toBe(413);
    expectSecure(tooLarge.headers);
    const out = await api.call("POST", "/auth/logout", { token: login.token });
    expect(out.status).toBe(204);
    expectSecure(out.headers);
    // API answers are never a page: nothing may load from them.
    expect(login.headers.get("content-security-policy")).toStartWith("default-src 'none'");
  });

  test("HSTS only when COOKIE_SECURE is true", async () => {
    expect(
      (await api.call("GET", "/health/live")).headers.get("strict-transport-security"),
    ).toStartWith("max-age=");
    const plain = await startApp("headers-plain", "embedded", { COOKIE_SECURE: "false" });
    try {
      const reply = await client(plain.app).call("GET", "/health/live");
      expect(reply.headers.get("strict-transport-security")).toBeNull();
      expectSecure(reply.headers);
    } finally {
      await plain.close();
    }
  });

  test("an HTML page may load from its own origin only; a route's own policy is kept", async () => {
    const { log } = captureLog();
    const html = { "content-type": "text/html; charset=utf-8" };
    const app = new Elysia()
      .use(observability({ log, metrics: undefined, corsOrigins: [], hsts: false }))
      .get("/page", () => new Response("<!doctype html><title>page</title>", { headers: html }))
      .get(
        "/docs",
        () =>
          new Response("<!doctype html><title>docs</title>", {
            headers: { ...html, "content-security-policy": "default-src 'self'" },
          }),
      );
    const page = await app.handle(new Request("http://localhost/page"));
    const policy = page.headers.get("content-security-policy") ?? "";
    expect(policy).toStartWith("default-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    // Scripts fall under default-src 'self': none inline.
    expect(policy).not.toContain("script-src");
    expect(policy).not.toContain("*");
    const docs = await app.handle(new Request("http://localhost/docs"));
    expect(docs.headers.get("content-security-policy")).toBe("default-src 'self'");
    expect(docs.headers.get("x-frame-options")).toBe("DENY");
  });
});

describe("CORS", () => {
  const origin = "https://app.example.com";

  test("off by default: no CORS header at all, even for a cross-origin call", async () => {
    const ctx = await startApp("cors-off", "embedded");
    try {
      const api = client(ctx.app);
      const reply = await api.call("GET", "/health/live", { headers: { origin } });
      const preflight = await api.call("OPTIONS", "/auth/login", {
        headers: { origin, "access-control-request-method": "POST" },
      });
      for (const headers of [reply.headers, preflight.headers]) {
        expect([...headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual(
          [],
        );
      }
    } finally {
      await ctx.close();
    }
  });

  describe("with CORS_ORIGINS", () => {
    let ctx: App;
    let api: ReturnType<typeof client>;
    beforeAll(async () => {
      ctx = await startApp("cors-on", "embedded", {
        CORS_ORIGINS: `${origin},http://localhost:5173`,
      });
      api = client(ctx.app);
    });
    afterAll(() => ctx.close());

    test("a listed origin may call with credentials and read the request id", async () => {
      const reply = await api.call("GET", "/health/live", { headers: { origin } });
      expect(reply.headers.get("access-control-allow-origin")).toBe(origin);
      expect(reply.headers.get("access-control-allow-credentials")).toBe("true");
      expect(reply.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
      expect(reply.headers.get("vary")).toContain("Origin");
    });

    test("a preflight from a listed origin is answered with the methods and headers allowed", async () => {
      const reply = await api.call("OPTIONS", "/auth/login", {
        headers: {
          origin: "http://localhost:5173",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      expect(reply.status).toBe(204);
      expect(reply.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
      expect(reply.headers.get("access-control-allow-credentials")).toBe("true");
      expect(reply.headers.get("access-control-allow-methods")).toContain("POST");
      expect(reply.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
        "content-type",
      );
      expect(reply.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
        "authorization",
      );
    });

    test("any other origin gets no CORS permission", async () => {
      for (const other of [
        "https://evil.example.com",
        "https://app.example.com.evil.com",
        "null",
      ]) {
        const reply = await api.call("GET", "/health/live", { headers: { origin: other } });
        expect(reply.headers.get("access-control-allow-origin")).toBeNull();
        expect(reply.headers.get("access-control-allow-credentials")).toBeNull();
        const preflight = await api.call("OPTIONS", "/auth/login", {
          headers: { origin: other, "access-control-request-method": "POST" },
        });
        expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
        expect(preflight.headers.get("access-control-allow-methods")).toBeNull();
      }
    });
  });
});
