import { Context, Data, type Effect } from "effect";

export type Take =
  | { readonly taken: true; readonly count: number }
  | { readonly taken: false; readonly retryAfterMs: number };

/** The counters could not be read or written in time. Callers fail closed. */
export class RateLimiterUnavailable extends Data.TaggedError("RateLimiterUnavailable")<{
  readonly cause: unknown;
}> {}

/**
 * Fixed-window counters shared by every instance: the brute-force and registration limits.
 * A window starts with the first slot taken from an empty counter and nothing taken later
 * moves its end, so a counter always empties within a bounded time.
 */
export class RateLimiter extends Context.Service<
  RateLimiter,
  {
    /**
     * Takes one of the `max` slots of the counter at `key`, atomically: however many callers
     * race, at most `max` takes succeed per window, and the successful one learns its slot
     * number (`count`, 1..max). A refused take changes nothing and says how long until the
     * window ends.
     */
    readonly take: (
      key: string,
      max: number,
      windowMs: number,
    ) => Effect.Effect<Take, RateLimiterUnavailable>;
    /** Gives one slot back (the attempt it guarded does not count); never below zero. */
    readonly give: (key: string) => Effect.Effect<void, RateLimiterUnavailable>;
    /**
     * Makes the counter's current window end `ms` from now, if the counter exists: the lockout
     * that starts with the last allowed failure.
     */
    readonly hold: (key: string, ms: number) => Effect.Effect<void, RateLimiterUnavailable>;
  }
>()("app/RateLimiter") {}
