import { beforeEach, describe, expect, test } from "bun:test";
import { Deferred, Effect } from "effect";
import type { Cache } from "../../src/application/ports/Cache.ts";
import type { CacheStore } from "../../src/application/singleFlight.ts";
import { fibonacci } from "../../src/domain/fibonacci.ts";
import type { ContractTime } from "./contractTime.ts";

/** The port, and the store under it: the suite checks both. */
type Service = Cache["Service"] & CacheStore;

/** The behaviour every Cache adapter must show; `fresh` yields an empty cache that runs on `time`. */
export const cacheContract = (name: string, time: ContractTime, fresh: () => Promise<Service>) =>
  describe(`Cache contract: ${name}`, () => {
    let cache: Service;
    const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);
    const counted = (value: string) => {
      let runs = 0;
      const compute = Effect.sync(() => {
        runs++;
        return value;
      });
      return { compute, runs: () => runs };
    };

    beforeEach(async () => {
      cache = await fresh();
    });

    test("an unknown key is absent", async () => {
      expect(await run(cache.get("fib:1"))).toBeNull();
    });

    test("a value set is read back, and a second set replaces it", async () => {
      await run(cache.set("fib:10", "55", 60));
      expect(await run(cache.get("fib:10"))).toBe("55");
      await run(cache.set("fib:10", "56", 60));
      expect(await run(cache.get("fib:10"))).toBe("56");
      expect(await run(cache.get("fib:11"))).toBeNull();
    });

    test("a value of 20,899 digits round-trips unchanged", async () => {
      const value = fibonacci(100_000).toString();
      await run(cache.set("fib:100000", value, 60));
      expect(await run(cache.get("fib:100000"))).toBe(value);
    });

    test("an entry is gone once its TTL has passed", async () => {
      await run(cache.set("fib:20", "6765", 1));
      expect(await run(cache.get("fib:20"))).toBe("6765");
      await time.advance(1_100);
      expect(await run(cache.get("fib:20"))).toBeNull();
    });

    test("getOrCompute computes a miss, stores it, and serves the next call from the cache", async () => {
      const { compute, runs } = counted("6765");
      expect(await run(cache.getOrCompute("fib:20", 60, compute))).toEqual({
        value: "6765",
        cached: false,
      });
      expect(await run(cache.get("fib:20"))).toBe("6765");
      expect(await run(cache.getOrCompute("fib:20", 60, compute))).toEqual({
        value: "6765",
        cached: true,
      });
      expect(runs()).toBe(1);
    });

    test("100 concurrent callers of one uncached key share one computation", async () => {
      const gate = Deferred.makeUnsafe<void>();
      let runs = 0;
      const compute = Effect.sync(() => runs++).pipe(
        Effect.andThen(Deferred.await(gate)),
        Effect.as("354224848179261915075"),
      );
      const callers = Array.from({ length: 100 }, () =>
        run(cache.getOrCompute("fib:100", 60, compute)),
      );
      // A fiber runs synchronously up to its first wait, so every caller has asked by now.
      await run(Deferred.succeed(gate, undefined));
      const results = await Promise.all(callers);
      expect(runs).toBe(1);
      expect(new Set(results.map((r) => r.value))).toEqual(new Set(["354224848179261915075"]));
      expect(await run(cache.get("fib:100"))).toBe("354224848179261915075");
    });

    test("a failed computation reaches every waiter, is not stored, and the next call retries", async () => {
      const gate = Deferred.makeUnsafe<void>();
      let runs = 0;
      const failing = Effect.sync(() => runs++).pipe(
        Effect.andThen(Deferred.await(gate)),
        Effect.andThen(Effect.fail("boom" as const)),
      );
      const callers = Array.from({ length: 5 }, () =>
        run(Effect.result(cache.getOrCompute("fib:7", 60, failing))),
      );
      await run(Deferred.succeed(gate, undefined));
      const outcomes = await Promise.all(callers);
      expect(outcomes.every((o) => o._tag === "Failure")).toBe(true);
      expect(runs).toBe(1);
      expect(await run(cache.get("fib:7"))).toBeNull();
      expect(await run(cache.getOrCompute("fib:7", 60, Effect.succeed("13")))).toEqual({
        value: "13",
        cached: false,
      });
    });

    test("keys do not share single-flight or values", async () => {
      const a = counted("1");
      const b = counted("2");
      const [ra, rb] = await Promise.all([
        run(cache.getOrCompute("fib:1", 60, a.compute)),
        run(cache.getOrCompute("fib:3", 60, b.compute)),
      ]);
      expect([ra.value, rb.value]).toEqual(["1", "2"]);
      expect([a.runs(), b.runs()]).toEqual([1, 1]);
    });
  });
