import { Context, Data, type Effect } from "effect";
import type { Checkpoint } from "./EventStore.ts";

/** One idempotent change to the projection the hot path reads. */
export type ProjectionWrite =
  | { readonly kind: "epoch"; readonly userId: string; readonly epoch: number }
  | {
      readonly kind: "revokeToken";
      readonly userId: string;
      readonly tokenId: string;
      /** Epoch milliseconds; the entry may vanish then, as the token is dead anyway. */
      readonly expiresAt: number;
    }
  | {
      readonly kind: "revokeSession";
      readonly userId: string;
      readonly sessionId: string;
      readonly expiresAt: number;
    };

export type TokenStatus = {
  /** null: the user has no epoch in the projection, which means the projection lost data. */
  readonly epoch: number | null;
  readonly tokenRevoked: boolean;
  readonly sessionRevoked: boolean;
};

/**
 * What the projection says of itself. A generation is one build of it from nothing: it changes
 * only when the projection is found empty, so a write that names an older one belongs to data
 * that is gone.
 */
export type Marker = {
  readonly generation: string;
  /** How far the log is applied; null while the generation is still being built. */
  readonly checkpoint: Checkpoint | null;
};

/** The generation a write named is no longer the projection's: it lost data meanwhile. */
export class ProjectionLost extends Data.TaggedError("ProjectionLost")<{
  readonly generation: string;
}> {}

/** The projection could not be read or written in time. Callers fail closed. */
export class TokenStateUnavailable extends Data.TaggedError("TokenStateUnavailable")<{
  readonly cause: unknown;
}> {}

export class TokenState extends Context.Service<
  TokenState,
  {
    /** Everything the hot path needs about one token, in one round trip. */
    readonly lookup: (
      userId: string,
      tokenId: string,
      sessionId: string,
    ) => Effect.Effect<TokenStatus, TokenStateUnavailable>;
    /**
     * Applies writes idempotently: epochs only move up, revocations carry their own expiry and
     * are skipped once expired. Safe to repeat and to run from several processes at once.
     * Returns the number of keys written.
     */
    readonly apply: (
      writes: readonly ProjectionWrite[],
      nowMs: number,
    ) => Effect.Effect<number, TokenStateUnavailable>;
    /**
     * `apply`, but nothing is written unless the projection is still `generation`
     * (ProjectionLost otherwise), checked atomically with the writes where the store can: what
     * catch-up and rebuilds write, so that none of it lands in a projection emptied meanwhile.
     */
    readonly applyIn: (
      generation: string,
      writes: readonly ProjectionWrite[],
      nowMs: number,
    ) => Effect.Effect<number, TokenStateUnavailable | ProjectionLost>;
    /** The marker; null when the projection holds none (new, or emptied). */
    readonly marker: Effect.Effect<Marker | null, TokenStateUnavailable>;
    /**
     * The marker, after making `candidate` the generation if there was none (with no
     * checkpoint: a build must follow). Atomic, so instances starting at once share one.
     */
    readonly open: (candidate: string) => Effect.Effect<Marker, TokenStateUnavailable>;
    /** Records the checkpoint of `generation`; ProjectionLost when that is not the current one. */
    readonly saveCheckpoint: (
      generation: string,
      checkpoint: Checkpoint,
    ) => Effect.Effect<void, TokenStateUnavailable | ProjectionLost>;
  }
>()("app/TokenState") {}
