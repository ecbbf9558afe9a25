import { Clock, Effect, Layer } from "effect";
import { RateLimiter, type Take } from "../../application/ports/RateLimiter.ts";

/** For the embedded mode (one process per data file): a restart resets the limits. */
export const makeMemoryRateLimiter = (now: () => number = Date.now): RateLimiter["Service"] => {
  const counters = new Map<string, { count: number; endsAt: number }>();
  let takesSinceSweep = 0;

  const live = (key: string) => {
    const counter = counters.get(key);
    if (counter === undefined || counter.endsAt > now()) return counter;
    counters.delete(key);
    return undefined;
  };

  const sweep = () => {
    const at = now();
    for (const [key, counter] of counters) if (counter.endsAt <= at) counters.delete(key);
  };

  return {
    take: (key, max, windowMs) =>
      Effect.sync((): Take => {
        if (++takesSinceSweep > 10_000) {
          takesSinceSweep = 0;
          sweep();
        }
        const counter = live(key) ?? { count: 0, endsAt: now() + windowMs };
        if (counter.count >= max) return { taken: false, retryAfterMs: counter.endsAt - now() };
        counter.count++;
        counters.set(key, counter);
        return { taken: true, count: counter.count };
      }),
    give: (key) =>
      Effect.sync(() => {
        const counter = live(key);
        if (counter === undefined) return;
        if (counter.count > 1) counter.count--;
        else counters.delete(key);
      }),
    hold: (key, ms) =>
      Effect.sync(() => {
        const counter = live(key);
        if (counter) counter.endsAt = now() + ms;
      }),
  };
};

export const MemoryRateLimiterLayer = Layer.effect(
  RateLimiter,
  Effect.map(Clock.Clock, (clock) => makeMemoryRateLimiter(() => clock.currentTimeMillisUnsafe())),
);
