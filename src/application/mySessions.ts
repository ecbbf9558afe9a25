import { Clock, Effect } from "effect";
import { foldSession, isLiveSession, type Session } from "../domain/session/Session.ts";
import type { SessionEvent } from "../domain/session/SessionEvents.ts";
import { sessionStarted, sessionStream } from "../domain/session/SessionEvents.ts";
import { SessionNotFound, TokenRejected } from "./errors.ts";
import {
  appendManyAndProject,
  decideAndAppend,
  loadSession,
  loadUser,
  retryOnConflict,
} from "./events.ts";
import { Directory } from "./ports/Directory.ts";
import { EventStore, type Metadata, type RecordedEvent } from "./ports/EventStore.ts";
import type { AccessClaims } from "./ports/Tokens.ts";

/** The caller's live sessions from the directory, newest first; `current` marks the caller's. */
export const listSessions = Effect.fn("listSessions")(function* (principal: AccessClaims) {
  const now = yield* Clock.currentTimeMillis;
  const sessions = yield* (yield* Directory).sessions(principal.sub, now);
  return sessions.map((session) => ({ ...session, current: session.id === principal.sid }));
});

const userEpoch = (userId: string) =>
  Effect.gen(function* () {
    const { state } = yield* loadUser(userId);
    if (state.status !== "active") return yield* new TokenRejected({ reason: "unknown user" });
    return state.epoch;
  });

/** Decided on the log, not the directory: a session started a moment ago can be ended too. */
export const endOwnSession = Effect.fn("endOwnSession")(function* (
  principal: AccessClaims,
  sessionId: string,
  metadata: Metadata,
) {
  const epoch = yield* userEpoch(principal.sub);
  const now = yield* Clock.currentTimeMillis;
  yield* decideAndAppend(
    loadSession(sessionId),
    sessionStream(sessionId),
    (session) =>
      // Another user's session gets the answer an unknown id gets.
      session.status === "active" &&
      session.userId === principal.sub &&
      isLiveSession(session, epoch, now)
        ? ({
            ok: true,
            events: [
              {
                type: "SessionRevoked",
                data: {
                  sessionId,
                  userId: session.userId,
                  expiresAt: session.expiresAt,
                  reason: "ended-by-user",
                },
              },
            ],
          } as const)
        : ({ ok: false, error: new SessionNotFound() } as const),
    { metadata: { ...metadata, actor: principal.sub } },
  ).pipe(
    Effect.catchTag("ClaimTaken", (e) => Effect.die(e)),
    Effect.flatMap(({ decision }) => (decision.ok ? Effect.void : Effect.fail(decision.error))),
  );
});

/** Every other live session of the caller ends in one atomic append; the caller's stays. */
export const logoutOthers = Effect.fn("logoutOthers")(function* (
  principal: AccessClaims,
  metadata: Metadata,
) {
  const store = yield* EventStore;
  yield* retryOnConflict(
    Effect.gen(function* () {
      const epoch = yield* userEpoch(principal.sub);
      const now = yield* Clock.currentTimeMillis;
      const streams = yield* store.streamsStartedWith(sessionStarted, "userId", principal.sub);
      const others = streams.filter((id) => id !== sessionStream(principal.sid));
      const records = yield* store.readStreams(others);
      const byStream = new Map<string, RecordedEvent[]>();
      for (const record of records) {
        byStream.set(record.streamId, [...(byStream.get(record.streamId) ?? []), record]);
      }
      const appends = [...byStream].flatMap(([streamId, events]) => {
        const session: Session = foldSession(
          events.map((r) => ({ type: r.type, data: r.data }) as SessionEvent),
        );
        if (session.status !== "active" || !isLiveSession(session, epoch, now)) return [];
        return [
          {
            streamId,
            expectedVersion: events.length,
            events: [
              {
                type: "SessionRevoked",
                data: {
                  sessionId: session.id,
                  userId: session.userId,
                  expiresAt: session.expiresAt,
                  reason: "logout-others",
                },
              },
            ],
          },
        ];
      });
      if (appends.length === 0) return;
      yield* appendManyAndProject(appends, { ...metadata, actor: principal.sub }).pipe(
        Effect.catchTag("ClaimTaken", (e) => Effect.die(e)),
      );
    }),
  );
});
