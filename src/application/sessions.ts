import { Clock, Effect } from "effect";
import { decideSession } from "../domain/session/Session.ts";
import { sessionStream } from "../domain/session/SessionEvents.ts";
import type { ActiveUser } from "../domain/user/User.ts";
import { appendAndProject } from "./events.ts";
import { AuthSettings } from "./ports/AuthSettings.ts";
import type { Metadata } from "./ports/EventStore.ts";
import { Ids } from "./ports/Ids.ts";
import { Metrics } from "./ports/Metrics.ts";
import { Tokens } from "./ports/Tokens.ts";

export type TokenPair = {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken: string;
  readonly refreshExpiresAt: number;
};

export type IssuedSession = {
  readonly id: string;
  readonly refreshTokenId: string;
  /** When the refresh token was first minted: re-minting it yields the same token. */
  readonly refreshIssuedAt: number;
  readonly expiresAt: number;
};

const seconds = (ms: number) => Math.floor(ms / 1000);

export const issue = (user: ActiveUser, session: IssuedSession, now: number) =>
  Effect.gen(function* () {
    const tokens = yield* Tokens;
    const settings = yield* AuthSettings;
    const jti = yield* (yield* Ids).next;
    const iat = seconds(now);
    // Never past its session's expiry: a session's revocation is kept until then, no longer.
    const exp = Math.min(iat + settings.accessTokenSeconds, seconds(session.expiresAt));
    yield* (yield* Metrics).tokenIssued("access");
    const accessToken = yield* tokens.signAccess({
      sub: user.id,
      username: user.username,
      role: user.role,
      epoch: user.epoch,
      sid: session.id,
      jti,
      iat,
      exp,
    });
    const refreshToken = yield* tokens.signRefresh({
      sub: user.id,
      epoch: user.epoch,
      sid: session.id,
      jti: session.refreshTokenId,
      iat: seconds(session.refreshIssuedAt),
      exp: seconds(session.expiresAt),
    });
    return {
      accessToken,
      expiresIn: exp - iat,
      refreshToken,
      refreshExpiresAt: session.expiresAt,
    } satisfies TokenPair;
  });

export const startSession = (user: ActiveUser, metadata: Metadata) =>
  Effect.gen(function* () {
    const ids = yield* Ids;
    const settings = yield* AuthSettings;
    const now = yield* Clock.currentTimeMillis;
    const session = {
      id: yield* ids.next,
      refreshTokenId: yield* ids.next,
      refreshIssuedAt: now,
      expiresAt: now + settings.refreshTokenSeconds * 1000,
    };
    const decision = decideSession(
      {
        type: "StartSession",
        sessionId: session.id,
        userId: user.id,
        refreshTokenId: session.refreshTokenId,
        now,
        expiresAt: session.expiresAt,
        epoch: user.epoch,
        ip: metadata.clientIp ?? null,
        userAgent: metadata.userAgent ?? null,
      },
      { status: "none" },
    );
    if (!decision.ok) return yield* Effect.die(decision.error);
    yield* appendAndProject(sessionStream(session.id), decision.events, {
      expectedVersion: 0,
      metadata: { ...metadata, actor: user.id },
    }).pipe(Effect.catchTag(["VersionConflict", "ClaimTaken"], (e) => Effect.die(e)));
    return yield* issue(user, session, now);
  });
