import { Context, Data, type Effect } from "effect";

export type Take =
  | { readonly taken: true; readonly count: number }
  | { readonly taken: false; readonly retryAfterMs: number };

/** The counters could not be read or written in time. Callers fail closed. */
export class RateLimiterUnavailable extends Data.TaggedError("RateLimiterUnavailable")<{
  readonly cause: unknown;
}> {}

/** Fixed-window counters shared by every instance; no take moves the end of a window. */
export class RateLimiter extends Context.Service<
  RateLimiter,
  {
    /** Atomic: at most `max` takes per window, numbered by `count`; refusals change nothing. */
    readonly take: (
      key: string,
      max: number,
      windowMs: number,
    ) => Effect.Effect<Take, RateLimiterUnavailable>;
    /** Gives one slot back (the attempt it guarded does not count); never below zero. */
    readonly give: (key: string) => Effect.Effect<void, RateLimiterUnavailable>;
    /** Makes an existing counter's window end `ms` from now: the lockout after the last failure. */
    readonly hold: (key: string, ms: number) => Effect.Effect<void, RateLimiterUnavailable>;
  }
>()("app/RateLimiter") {}
