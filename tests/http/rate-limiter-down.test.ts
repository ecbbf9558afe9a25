import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { Effect, Layer } from "effect";
import { loadConfig } from "../../src/adapters/config/Config.ts";
import { MemoryEventStoreLayer } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { MemoryTokenStateLayer } from "../../src/adapters/embedded/MemoryTokenState.ts";
import { MemoryDirectoryLayer } from "../../src/adapters/embedded/SqliteDirectory.ts";
import { RateLimiter, RateLimiterUnavailable } from "../../src/application/ports/RateLimiter.ts";
import { compose } from "../../src/composition.ts";
import { captureLog, client, secret } from "../support/app.ts";

const down = Effect.fail(new RateLimiterUnavailable({ cause: "down" }));

/** Attempt limits fail closed: without counters, no password is checked at all. */
describe("attempt counters unavailable", () => {
  let ctx: ReturnType<typeof compose>;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    const loaded = loadConfig({ NODE_ENV: "test", JWT_SECRET: secret, DATA_DIR: "/nonexistent" });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const infra = Layer.mergeAll(
      MemoryEventStoreLayer,
      MemoryDirectoryLayer,
      MemoryTokenStateLayer,
      Layer.succeed(RateLimiter, { take: () => down, give: () => down, hold: () => down }),
    );
    ctx = compose(loaded.config, captureLog().log, infra);
    await ctx.runtime.runPromise(Effect.void);
    api = client(ctx.app);
  });
  afterAll(() => ctx.runtime.dispose());

  test("login answers 503 for the right password too, checks no password, and reveals nothing", async () => {
    // The spy sees this app's hasher: registering hashes once.
    const hash = spyOn(Bun.password, "hash");
    try {
      expect((await api.register("closed_user")).status).toBe(201);
      expect(hash).toHaveBeenCalledTimes(1);
    } finally {
      hash.mockRestore();
    }
    const verify = spyOn(Bun.password, "verify");
    let right: Awaited<ReturnType<typeof api.login>>;
    let wrong: Awaited<ReturnType<typeof api.login>>;
    let checked: number;
    try {
      right = await api.login("closed_user");
      wrong = await api.login("closed_user", "wrong password!");
      checked = verify.mock.calls.length;
    } finally {
      verify.mockRestore();
    }
    expect(checked).toBe(0);
    for (const reply of [right, wrong]) {
      expect(reply.status).toBe(503);
      expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
      expect(reply.headers.get("retry-after")).toBeTruthy();
      expect(reply.refreshCookie).toBeUndefined();
    }
    expect(right.text).toBe(wrong.text);
  });

  test("a password grant answers 503 temporarily_unavailable with Retry-After, as JSON", async () => {
    expect((await api.register("grant_when_down")).status).toBe(201);
    const reply = await api.call("POST", "/auth/token", {
      form: {
        grant_type: "password",
        username: "grant_when_down",
        password: "correct horse battery",
      },
    });
    expect(reply.status).toBe(503);
    expect(reply.headers.get("content-type")).toBe("application/json");
    expect(reply.headers.get("retry-after")).toBeTruthy();
    expect(reply.headers.get("cache-control")).toBe("no-store");
    expect(reply.body.detail).toBeString();
    expect(reply.body).toMatchObject({
      error: "temporarily_unavailable",
      error_description: reply.body.detail,
      status: 503,
      title: "Service Unavailable",
    });
    expect(reply.refreshCookie).toBeUndefined();
  });
});
