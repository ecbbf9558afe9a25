import { Clock, Effect } from "effect";
import type { Role } from "../domain/Role.ts";
import { Authenticator } from "./Authenticator.ts";
import { Explainer } from "./Explainer.ts";
import { loadSession, loadUser } from "./events.ts";
import type { Explanation } from "./explain.ts";
import { type RefreshClaims, Tokens } from "./ports/Tokens.ts";

export type ActiveToken = {
  readonly active: true;
  readonly tokenType: "access_token" | "refresh_token";
  readonly sub: string;
  readonly username: string;
  readonly role: Role;
  readonly sid: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
};

/** Inactive, with the cause for the log; RFC 7662 lets the answer say no more than that. */
export type Introspection =
  | ActiveToken
  | { readonly active: false; readonly explanation?: Explanation | undefined };

const inactive: Introspection = { active: false };

const active = (
  tokenType: ActiveToken["tokenType"],
  claims: Pick<RefreshClaims, "sub" | "sid" | "jti" | "iat" | "exp">,
  user: { readonly username: string; readonly role: Role },
): Introspection => ({
  active: true,
  tokenType,
  sub: claims.sub,
  username: user.username,
  role: user.role,
  sid: claims.sid,
  jti: claims.jti,
  iat: claims.iat,
  exp: claims.exp,
});

/** Live as /auth/refresh would have it: the user's epoch, and its live session's current token. */
const liveRefresh = (claims: RefreshClaims, now: number) =>
  Effect.gen(function* () {
    const [{ state: user }, { state: session }] = yield* Effect.all(
      [loadUser(claims.sub), loadSession(claims.sid)],
      { concurrency: 2 },
    );
    const live =
      user.status === "active" &&
      user.epoch === claims.epoch &&
      session.status === "active" &&
      session.userId === claims.sub &&
      session.current === claims.jti &&
      now < session.expiresAt;
    return live ? active("refresh_token", claims, user) : inactive;
  });

/**
 * Whether protected routes would take this token now (RFC 7662). An access token is checked as
 * the hot path checks it; a refresh token against the log, as a refresh would be. Fails only
 * when that cannot be known.
 */
export const introspect = Effect.fn("introspect")(function* (token: string) {
  const explainer = yield* Explainer;
  const access = yield* Effect.result((yield* Authenticator).authenticate(token));
  if (access._tag === "Success") return active("access_token", access.success, access.success);
  if (access.failure._tag !== "TokenRejected") return yield* access.failure;
  const now = yield* Clock.currentTimeMillis;
  const refresh = yield* Effect.option((yield* Tokens).verifyRefresh(token, now));
  const answer = refresh._tag === "None" ? inactive : yield* liveRefresh(refresh.value, now);
  if (answer.active) return answer;
  const explanation =
    refresh._tag === "None"
      ? access.failure.explanation
      : yield* Effect.promise(() => explainer.explain(token));
  return { active: false, explanation } satisfies Introspection;
});
