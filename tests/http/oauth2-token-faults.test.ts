import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Effect, Layer } from "effect";
import { loadConfig } from "../../src/adapters/config/Config.ts";
import { MemoryEventStoreLayer } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { MemoryTokenStateLayer } from "../../src/adapters/embedded/MemoryTokenState.ts";
import { RateLimiter, RateLimiterUnavailable } from "../../src/application/ports/RateLimiter.ts";
import { compose } from "../../src/composition.ts";
import { captureLog, client, secret } from "../support/app.ts";

const down = Effect.fail(new RateLimiterUnavailable({ cause: "down" }));

describe("/auth/token with the attempt counters unavailable", () => {
  let ctx: ReturnType<typeof compose>;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    const loaded = loadConfig({ NODE_ENV: "test", JWT_SECRET: secret, DATA_DIR: "/nonexistent" });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const infra = Layer.mergeAll(
      MemoryEventStoreLayer,
      MemoryTokenStateLayer,
      Layer.succeed(RateLimiter, { take: () => down, give: () => down, hold: () => down }),
    );
    ctx = compose(loaded.config, captureLog().log, infra);
    await ctx.runtime.runPromise(Effect.void);
    api = client(ctx.app);
  });
  afterAll(() => ctx.runtime.dispose());

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
