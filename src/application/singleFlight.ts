import { Deferred, Effect } from "effect";
import type { Cache, Cached, CacheUnavailable } from "./ports/Cache.ts";

/** What a cache adapter stores; `getOrCompute` is built over it here, once for every adapter. */
export type CacheStore = {
  /** The live value under `key`, or null when absent or expired. */
  readonly get: (key: string) => Effect.Effect<string | null, CacheUnavailable>;
  /** Stores `value` under `key` for `ttlSeconds`, replacing what was there. */
  readonly set: (
    key: string,
    value: string,
    ttlSeconds: number,
  ) => Effect.Effect<void, CacheUnavailable>;
};

/** The key stays claimed until its value is written, so a caller arriving meanwhile waits. */
export const singleFlight = (store: CacheStore): Cache["Service"]["getOrCompute"] => {
  const inflight = new Map<string, Deferred.Deferred<Cached, unknown>>();
  return <E, R>(key: string, ttlSeconds: number, compute: Effect.Effect<string, E, R>) =>
    Effect.suspend((): Effect.Effect<Cached, E, R> => {
      const pending = inflight.get(key);
      if (pending) return Deferred.await(pending) as Effect.Effect<Cached, E>;
      const leader = Deferred.makeUnsafe<Cached, unknown>();
      inflight.set(key, leader);
      return store.get(key).pipe(
        Effect.orElseSucceed(() => null),
        Effect.flatMap((hit) =>
          hit !== null
            ? Effect.succeed({ value: hit, cached: true })
            : compute.pipe(
                Effect.map((value) => ({ value, cached: false })),
                Effect.tap((fresh) => Deferred.succeed(leader, fresh)),
                Effect.tap((fresh) => Effect.ignore(store.set(key, fresh.value, ttlSeconds))),
              ),
        ),
        Effect.onExit((exit) =>
          Effect.andThen(
            Deferred.done(leader, exit),
            Effect.sync(() => inflight.delete(key)),
          ),
        ),
      );
    });
};
