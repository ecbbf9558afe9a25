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
    /** How far the projection has followed the log; null when it has no record (lost or new). */
    readonly checkpoint: Effect.Effect<Checkpoint | null, TokenStateUnavailable>;
    readonly saveCheckpoint: (checkpoint: Checkpoint) => Effect.Effect<void, TokenStateUnavailable>;
  }
>()("app/TokenState") {}
