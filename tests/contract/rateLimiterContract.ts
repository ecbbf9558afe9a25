import { beforeEach, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import type { RateLimiter, Take } from "../../src/application/ports/RateLimiter.ts";
import type { ContractTime } from "./contractTime.ts";

type Service = RateLimiter["Service"];

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);

const refusal = (take: Take) => {
  if (take.taken) throw new Error("expected a refusal");
  return take.retryAfterMs;
};

/** The behaviour every RateLimiter adapter must show; `fresh` yields empty counters on `time`. */
export const rateLimiterContract = (
  name: string,
  time: ContractTime,
  fresh: () => Promise<Service>,
) =>
  describe(`RateLimiter contract: ${name}`, () => {
    let limiter: Service;
    const minute = 60_000;

    beforeEach(async () => {
      limiter = await fresh();
    });

    test("numbers the slots 1..max, then refuses until the window ends", async () => {
      const takes = [];
      for (let i = 0; i < 4; i++) takes.push(await run(limiter.take("k", 3, minute)));
      expect(takes.slice(0, 3)).toEqual([
        { taken: true, count: 1 },
        { taken: true, count: 2 },
        { taken: true, count: 3 },
      ]);
      const wait = refusal(takes[3] as Take);
      expect(wait).toBeGreaterThan(minute - 5_000);
      expect(wait).toBeLessThanOrEqual(minute);
    });

    test("50 takes at once on a counter of 10: exactly 10 succeed, each with its own slot", async () => {
      const takes = await Promise.all(
        Array.from({ length: 50 }, () => run(limiter.take("burst", 10, minute))),
      );
      const counts = takes.flatMap((take) => (take.taken ? [take.count] : []));
      expect(counts.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    test("refused takes neither count nor move the window's end", async () => {
      await run(limiter.take("k", 1, 2_000));
      const first = refusal(await run(limiter.take("k", 1, 2_000)));
      await time.advance(50);
      for (let i = 0; i < 5; i++) await run(limiter.take("k", 1, minute));
      const later = refusal(await run(limiter.take("k", 1, minute)));
      expect(later).toBeLessThan(first);
      await run(limiter.give("k"));
      expect(await run(limiter.take("k", 1, minute))).toEqual({ taken: true, count: 1 });
    });

    test("a slot given back can be taken again; giving never goes below zero", async () => {
      await run(limiter.give("empty"));
      await run(limiter.take("k", 2, minute));
      await run(limiter.take("k", 2, minute));
      await run(limiter.give("k"));
      expect(await run(limiter.take("k", 2, minute))).toEqual({ taken: true, count: 2 });
      await run(limiter.give("k"));
      await run(limiter.give("k"));
      await run(limiter.give("k"));
      expect(await run(limiter.take("k", 2, minute))).toEqual({ taken: true, count: 1 });
      expect(await run(limiter.take("empty", 2, minute))).toEqual({ taken: true, count: 1 });
    });

    test("after the window ends the counter starts again at 1", async () => {
      await run(limiter.take("k", 1, 150));
      expect((await run(limiter.take("k", 1, 150))).taken).toBe(false);
      await time.advance(250);
      expect(await run(limiter.take("k", 1, 150))).toEqual({ taken: true, count: 1 });
    });

    test("hold makes the current window end that long from now; a missing counter stays missing", async () => {
      await run(limiter.take("k", 1, 1_000));
      await run(limiter.hold("k", 30_000));
      const wait = refusal(await run(limiter.take("k", 1, 1_000)));
      expect(wait).toBeGreaterThan(25_000);
      await run(limiter.hold("absent", 30_000));
      expect(await run(limiter.take("absent", 1, 1_000))).toEqual({ taken: true, count: 1 });
      expect(refusal(await run(limiter.take("absent", 1, 1_000)))).toBeLessThanOrEqual(1_000);
    });

    test("counters are independent", async () => {
      await run(limiter.take("a", 1, minute));
      expect((await run(limiter.take("a", 1, minute))).taken).toBe(false);
      expect(await run(limiter.take("b", 1, minute))).toEqual({ taken: true, count: 1 });
    });
  });
