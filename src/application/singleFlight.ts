import { Deferred, Effect } from "effect";
import type { Cache, Cached } from "./ports/Cache.ts";

type Store = Pick<Cache["Service"], "get" | "set">;

/** The key stays claimed until its value is written, so a caller arriving meanwhile waits. */
export const singleFlight = (store: Store): Cache["Service"]["getOrCompute"] => {
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
