import { describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { makeMemoryCache } from "../../src/adapters/embedded/MemoryCache.ts";
import { noCache } from "../../src/application/ports/Cache.ts";
import { cacheContract } from "./cacheContract.ts";
import { manualTime } from "./contractTime.ts";

const time = manualTime();
cacheContract("in-process memory", time, async () => makeMemoryCache({ now: time.now }));

describe("in-process memory cache bounds", () => {
  const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runSync(effect);
  const value = "7".repeat(1_000);

  test("evicts the least recently used entries once over its byte budget", () => {
    const cache = makeMemoryCache({ maxBytes: 3_500 });
    run(cache.set("a", value, 60));
    run(cache.set("b", value, 60));
    run(cache.set("c", value, 60));
    expect(run(cache.get("a"))).toBe(value); // a is now the most recent
    run(cache.set("d", value, 60));
    expect(run(cache.get("b"))).toBeNull();
    expect(run(cache.get("a"))).toBe(value);
    expect(run(cache.get("c"))).toBe(value);
    expect(run(cache.get("d"))).toBe(value);
    expect(cache.bytes()).toBeLessThanOrEqual(3_500);
  });

  test("does not keep a value larger than the whole budget", () => {
    const cache = makeMemoryCache({ maxBytes: 500 });
    run(cache.set("big", value, 60));
    expect(run(cache.get("big"))).toBeNull();
    expect(cache.bytes()).toBe(0);
  });

  test("expired entries stop counting once read", async () => {
    const time = manualTime();
    const cache = makeMemoryCache({ maxBytes: 10_000, now: time.now });
    run(cache.set("a", value, 1));
    await time.advance(1_000);
    expect(run(cache.get("a"))).toBeNull();
    expect(cache.bytes()).toBe(0);
  });
});

describe("caching turned off", () => {
  test("every call computes and nothing is kept", async () => {
    let runs = 0;
    const compute = Effect.sync(() => String(++runs));
    const first = await Effect.runPromise(noCache.getOrCompute("fib:1", 60, compute));
    const second = await Effect.runPromise(noCache.getOrCompute("fib:1", 60, compute));
    expect([first, second]).toEqual([
      { value: "1", cached: false },
      { value: "2", cached: false },
    ]);
  });
});
