import { Context, Effect } from "effect";

export type TokenKind = "access" | "refresh";

/** What a revocation kills: one token, one session (one login), or every token of a user. */
export type RevocationScope = "token" | "session" | "user";

export type LoginFailure = "invalid_credentials" | "rate_limited";

export type MetricsShape = {
  /** A token was minted; a refresh token re-sent within the grace window is not a new one. */
  readonly tokenIssued: (kind: TokenKind) => Effect.Effect<void>;
  /** A revocation was recorded in the log (one event, however many tokens it kills). */
  readonly tokensRevoked: (scope: RevocationScope) => Effect.Effect<void>;
  readonly loginFailed: (reason: LoginFailure) => Effect.Effect<void>;
  readonly cacheLookup: (outcome: "hit" | "miss") => Effect.Effect<void>;
};

/** Counts nothing: the default wherever no metrics adapter is provided. */
export const noMetrics: MetricsShape = {
  tokenIssued: () => Effect.void,
  tokensRevoked: () => Effect.void,
  loginFailed: () => Effect.void,
  cacheLookup: () => Effect.void,
};

/**
 * Business counters as the use cases see them. A reference with a no-op default, so a use
 * case never lists it as a requirement and a test never has to provide it.
 */
export const Metrics = Context.Reference<MetricsShape>("app/Metrics", {
  defaultValue: () => noMetrics,
});
