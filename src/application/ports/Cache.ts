import { Context, Data, Effect } from "effect";

export type Cached = { readonly value: string; readonly cached: boolean };

/** The cache could not be read or written in time. Callers carry on without it. */
export class CacheUnavailable extends Data.TaggedError("CacheUnavailable")<{
  readonly cause: unknown;
}> {}

export class Cache extends Context.Service<
  Cache,
  {
    /**
     * The cached value, or `compute`'s, stored for `ttlSeconds`. Single-flight per key in this
     * process; fails open, so only `compute` can make it fail.
     */
    readonly getOrCompute: <E, R>(
      key: string,
      ttlSeconds: number,
      compute: Effect.Effect<string, E, R>,
    ) => Effect.Effect<Cached, E, R>;
  }
>()("app/Cache") {}

export const noCache: Cache["Service"] = {
  getOrCompute: (_key, _ttl, compute) => Effect.map(compute, (value) => ({ value, cached: false })),
};
