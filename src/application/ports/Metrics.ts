import { Context, Effect } from "effect";

export type TokenKind = "access" | "refresh";

export type RevocationScope = "token" | "session" | "user";

export type LoginFailure = "invalid_credentials" | "rate_limited";

export type MetricsShape = {
  /** A token was minted; a refresh token re-sent within the grace window is not a new one. */
  readonly tokenIssued: (kind: TokenKind) => Effect.Effect<void>;
  /** A revocation was recorded in the log (one event, however many tokens it kills). */
  readonly tokensRevoked: (scope: RevocationScope) => Effect.Effect<void>;
  readonly loginFailed: (reason: LoginFailure) => Effect.Effect<void>;
  readonly cacheLookup: (outcome: "hit" | "miss") => Effect.Effect<void>;
  /**
   * A revoking event is enforced by the token projection, `seconds` after its commit, `by` the
   * appending request or a catch-up; only the first report of an event (`key`) counts.
   */
  readonly revocationEnforced: (
    key: string,
    by: "inline" | "catch_up",
    seconds: number,
  ) => Effect.Effect<void>;
};

export const noMetrics: MetricsShape = {
  tokenIssued: () => Effect.void,
  tokensRevoked: () => Effect.void,
  loginFailed: () => Effect.void,
  cacheLookup: () => Effect.void,
  revocationEnforced: () => Effect.void,
};

/** A reference with a no-op default: no use case lists it in `R`, no test has to provide it. */
export const Metrics = Context.Reference<MetricsShape>("app/Metrics", {
  defaultValue: () => noMetrics,
});
