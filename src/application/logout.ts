import { Clock, Effect } from "effect";
import { decideSession } from "../domain/session/Session.ts";
import { sessionStream } from "../domain/session/SessionEvents.ts";
import { TokenRejected } from "./errors.ts";
import { decideAndAppend, loadSession } from "./events.ts";
import type { Metadata } from "./ports/EventStore.ts";
import { Tokens } from "./ports/Tokens.ts";

export type Presented = { readonly accessToken?: string; readonly refreshToken?: string };

/** Ends the session if it is the user's; nothing when it already ended, or is another user's. */
export const endSession = (userId: string, sessionId: string, reason: string, metadata: Metadata) =>
  decideAndAppend(
    loadSession(sessionId),
    sessionStream(sessionId),
    (session) =>
      session.status !== "none" && session.userId !== userId
        ? ({ ok: true, events: [] } as const)
        : decideSession({ type: "RevokeSession", reason }, session),
    { metadata },
  ).pipe(
    Effect.catchTag("ClaimTaken", (e) => Effect.die(e)),
    Effect.asVoid,
  );

/** Ends the presented tokens' sessions; signatures are checked, revocation is not (idempotent). */
export const logout = Effect.fn("logout")(function* (presented: Presented, metadata: Metadata) {
  const tokens = yield* Tokens;
  const now = yield* Clock.currentTimeMillis;
  const sessions = new Map<string, string>();
  if (presented.accessToken) {
    const claims = yield* Effect.option(tokens.verifyAccess(presented.accessToken, now));
    if (claims._tag === "Some") sessions.set(claims.value.sid, claims.value.sub);
  }
  if (presented.refreshToken) {
    const claims = yield* Effect.option(tokens.verifyRefresh(presented.refreshToken, now));
    if (claims._tag === "Some") sessions.set(claims.value.sid, claims.value.sub);
  }
  if (sessions.size === 0) return yield* new TokenRejected({ reason: "no valid token" });
  for (const [sessionId, userId] of sessions) {
    yield* endSession(userId, sessionId, "logout", { ...metadata, actor: userId });
  }
});
