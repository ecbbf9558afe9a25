import { Context, Data, type Effect } from "effect";
import type { Checkpoint } from "./EventStore.ts";

export type ProjectionWrite =
  | { readonly kind: "epoch"; readonly userId: string; readonly epoch: number }
  | {
      readonly kind: "revokeToken";
      readonly userId: string;
      readonly tokenId: string;
      /** Epoch milliseconds; the entry may vanish then. */
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

/** A generation is one build from nothing; it changes only when the projection is found empty. */
export type Marker = {
  readonly generation: string;
  /** How far the log is applied; null while the generation is being built or is missing a part. */
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
    /** `lookup` as a promise, for the hot path (decision 33); rejects with TokenStateUnavailable. */
    readonly lookupNow: (
      userId: string,
      tokenId: string,
      sessionId: string,
    ) => Promise<TokenStatus>;
    /** Idempotent: epochs only move up, expired revocations are skipped. Returns keys written. */
    readonly apply: (
      writes: readonly ProjectionWrite[],
      nowMs: number,
    ) => Effect.Effect<number, TokenStateUnavailable>;
    /**
     * `apply`, writing nothing unless the projection is still `generation` (else ProjectionLost);
     * the check is atomic with the writes where the store allows it.
     */
    readonly applyIn: (
      generation: string,
      writes: readonly ProjectionWrite[],
      nowMs: number,
    ) => Effect.Effect<number, TokenStateUnavailable | ProjectionLost>;
    /** The marker; null when the projection holds none (new, or emptied). */
    readonly marker: Effect.Effect<Marker | null, TokenStateUnavailable>;
    /** The marker, atomically making `candidate` the generation (no checkpoint) if none. */
    readonly open: (candidate: string) => Effect.Effect<Marker, TokenStateUnavailable>;
    /** Records the checkpoint of `generation`; ProjectionLost when that is not the current one. */
    readonly saveCheckpoint: (
      generation: string,
      checkpoint: Checkpoint,
    ) => Effect.Effect<void, TokenStateUnavailable | ProjectionLost>;
  }
>()("app/TokenState") {}
