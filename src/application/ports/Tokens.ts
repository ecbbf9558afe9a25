import { Context, Data, type Effect } from "effect";
import type { Role } from "../../domain/Role.ts";

export type AccessClaims = {
  readonly sub: string;
  readonly username: string;
  readonly role: Role;
  readonly epoch: number;
  readonly sid: string;
  readonly jti: string;
  /** Epoch seconds, as in JWT. */
  readonly iat: number;
  readonly exp: number;
};

export type RefreshClaims = {
  readonly sub: string;
  readonly epoch: number;
  readonly sid: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
};

/** Why a token was refused. Never shown to the client beyond "invalid token". */
export class InvalidToken extends Data.TaggedError("InvalidToken")<{ readonly reason: string }> {}

/** A token signed by us, whatever its times say and whatever became of its key since. */
export type Examined = {
  readonly type: "access" | "refresh";
  /** The header's kid; null for HS256 tokens made before tokens carried one. */
  readonly kid: string | null;
  readonly claims: Readonly<Record<string, unknown>> &
    Pick<RefreshClaims, "sub" | "sid" | "jti" | "epoch" | "iat" | "exp">;
};

export class Tokens extends Context.Service<
  Tokens,
  {
    readonly signAccess: (claims: AccessClaims) => Effect.Effect<string>;
    readonly signRefresh: (claims: RefreshClaims) => Effect.Effect<string>;
    /** Signature (pinned algorithm), issuer, type, exp, iat, nbf, every claim; not revocation. */
    readonly verifyAccess: (
      token: string,
      nowMs: number,
    ) => Effect.Effect<AccessClaims, InvalidToken>;
    /** `verifyAccess` without an effect, for the hot path (decision 33). */
    readonly checkAccess: (token: string, nowMs: number) => AccessClaims | InvalidToken;
    /** The same checks for a refresh token: an access token is refused here. */
    readonly verifyRefresh: (
      token: string,
      nowMs: number,
    ) => Effect.Effect<RefreshClaims, InvalidToken>;
    /**
     * Whether we signed this token (any key we made, a revoked one included), with its claims;
     * no time or revocation is checked. Null when it is not ours. For refused tokens only.
     */
    readonly examine: (token: string) => Examined | null;
  }
>()("app/Tokens") {}
