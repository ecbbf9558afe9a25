import { Clock, Effect } from "effect";
import { reject } from "../domain/Decision.ts";
import { decideSession, type StartedSession } from "../domain/session/Session.ts";
import { SessionNotFound } from "../domain/session/SessionErrors.ts";
import { sessionStream } from "../domain/session/SessionEvents.ts";
import { isDisabledAt } from "../domain/user/User.ts";
import { Explainer } from "./Explainer.ts";
import { RefreshTokenReused, TokenRejected } from "./errors.ts";
import { decideAndAppend, loadSession, loadUser } from "./events.ts";
import { AuthSettings } from "./ports/AuthSettings.ts";
import type { Metadata } from "./ports/EventStore.ts";
import { Ids } from "./ports/Ids.ts";
import { Tokens } from "./ports/Tokens.ts";
import { issue } from "./sessions.ts";

/** The token just replaced is honoured within the grace window; any older one ends the session. */
const rotate = Effect.fn("refresh")(function* (refreshToken: string, metadata: Metadata) {
  const tokens = yield* Tokens;
  const settings = yield* AuthSettings;
  const ids = yield* Ids;
  const now = yield* Clock.currentTimeMillis;
  const claims = yield* tokens
    .verifyRefresh(refreshToken, now)
    .pipe(Effect.mapError((e) => new TokenRejected({ reason: e.reason })));
  const { state: user } = yield* loadUser(claims.sub);
  if (user.status !== "active") return yield* new TokenRejected({ reason: "unknown user" });
  if (isDisabledAt(user, now)) return yield* new TokenRejected({ reason: "account disabled" });
  if (user.epoch !== claims.epoch) return yield* new TokenRejected({ reason: "stale epoch" });
  const next = yield* ids.next;
  const expiresAt = now + settings.refreshTokenSeconds * 1000;
  const { decision, loaded } = yield* decideAndAppend(
    loadSession(claims.sid),
    sessionStream(claims.sid),
    (session) =>
      // A token naming a session of another user names no session of this one.
      session.status !== "none" && session.userId !== claims.sub
        ? reject(new SessionNotFound())
        : decideSession(
            {
              type: "RotateRefreshToken",
              presented: claims.jti,
              next,
              now,
              expiresAt,
              graceMs: settings.refreshGraceMs,
            },
            session,
          ),
    { metadata: { ...metadata, actor: claims.sub } },
  ).pipe(Effect.catchTag("ClaimTaken", (e) => Effect.die(e)));
  if (!decision.ok) return yield* new TokenRejected({ reason: decision.error._tag });
  const session = loaded.state as StartedSession;
  const [event] = decision.events;
  if (event?.type === "SessionRevoked") return yield* new RefreshTokenReused({});
  const current =
    event?.type === "RefreshTokenRotated"
      ? { id: session.id, refreshTokenId: next, refreshIssuedAt: now, expiresAt }
      : {
          id: session.id,
          refreshTokenId: session.current,
          refreshIssuedAt: session.rotatedAt,
          expiresAt: session.expiresAt,
        };
  return yield* issue(user, current, now);
});

/** `rotate`, a refusal carrying its cause, looked up once refused (decision 46). */
export const refresh = (refreshToken: string, metadata: Metadata) =>
  rotate(refreshToken, metadata).pipe(
    Effect.catchTags({
      TokenRejected: (error) =>
        explained(refreshToken).pipe(
          Effect.flatMap((explanation) =>
            Effect.fail(new TokenRejected({ reason: error.reason, explanation })),
          ),
        ),
      RefreshTokenReused: () =>
        explained(refreshToken).pipe(
          Effect.flatMap((explanation) => Effect.fail(new RefreshTokenReused({ explanation }))),
        ),
    }),
  );

const explained = (token: string) =>
  Effect.gen(function* () {
    const { explain } = yield* Explainer;
    return yield* Effect.promise(() => explain(token));
  });
