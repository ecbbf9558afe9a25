import { Clock, Effect } from "effect";
import { reject } from "../domain/Decision.ts";
import type { Role } from "../domain/Role.ts";
import { decideSession, type StartedSession } from "../domain/session/Session.ts";
import { SessionNotFound } from "../domain/session/SessionErrors.ts";
import { sessionStream } from "../domain/session/SessionEvents.ts";
import { isValidPassword, passwordRule } from "../domain/user/Password.ts";
import { type ActiveUser, decideUser } from "../domain/user/User.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import { isValidUsername, usernameKey, usernameRule } from "../domain/user/Username.ts";
import { InvalidCredentials, Unauthorized, UsernameTaken, ValidationFailed } from "./errors.ts";
import { appendAndProject, decideAndAppend, loadSession, loadUser } from "./events.ts";
import { AuthSettings } from "./ports/AuthSettings.ts";
import type { Metadata } from "./ports/EventStore.ts";
import { Ids } from "./ports/Ids.ts";
import { Metrics } from "./ports/Metrics.ts";
import { PasswordHasher } from "./ports/PasswordHasher.ts";
import { type AccessClaims, Tokens } from "./ports/Tokens.ts";
import { appendRegistration, findUserId } from "./roles.ts";
import { limitPasswordChecks, limitRegistrations } from "./throttle.ts";

export type Credentials = { readonly username: string; readonly password: string };

export type UserView = {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly createdAt: Date;
};

export type TokenPair = {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken: string;
  /** Epoch milliseconds. */
  readonly refreshExpiresAt: number;
};

const seconds = (ms: number) => Math.floor(ms / 1000);

const validate = ({ username, password }: Credentials) => {
  const fields = [
    ...(isValidUsername(username) ? [] : [{ name: "username", rule: usernameRule }]),
    ...(isValidPassword(password) ? [] : [{ name: "password", rule: passwordRule }]),
  ];
  return fields.length === 0 ? Effect.void : Effect.fail(new ValidationFailed({ fields }));
};

const view = (user: ActiveUser, createdAt: Date): UserView => ({
  id: user.id,
  username: user.username,
  role: user.role,
  createdAt,
});

export const register = (input: Credentials & { readonly role?: Role }, metadata: Metadata) =>
  Effect.gen(function* () {
    yield* validate(input);
    yield* limitRegistrations(metadata.clientIp);
    const hasher = yield* PasswordHasher;
    const userId = yield* (yield* Ids).next;
    const passwordHash = yield* hasher.hash(input.password);
    const decision = decideUser(
      {
        type: "RegisterUser",
        userId,
        username: input.username,
        passwordHash,
        role: input.role ?? "user",
      },
      { status: "unregistered" },
    );
    if (!decision.ok)
      return yield* Effect.fail(
        new ValidationFailed({ fields: [{ name: "username", rule: usernameRule }] }),
      );
    const recorded = yield* appendRegistration(userId, decision.events, input.role ?? "user", {
      metadata: { ...metadata, actor: metadata.actor ?? userId },
      claims: [usernameKey(input.username)],
    }).pipe(Effect.catchTag("ClaimTaken", () => Effect.fail(new UsernameTaken())));
    const recordedAt = recorded[0]?.recordedAt ?? new Date();
    return {
      id: userId,
      username: input.username,
      role: input.role ?? "user",
      createdAt: recordedAt,
    } satisfies UserView;
  });

/** The active user a username names, or null; never says which part was wrong. */
const findUser = (username: string) =>
  Effect.gen(function* () {
    const userId = yield* findUserId(username);
    if (userId === null) return null;
    const { state } = yield* loadUser(userId);
    return state.status === "active" ? state : null;
  });

type IssuedSession = {
  readonly id: string;
  readonly refreshTokenId: string;
  /** When the refresh token was first minted: re-minting it yields the same token. */
  readonly refreshIssuedAt: number;
  readonly expiresAt: number;
};

const issue = (user: ActiveUser, session: IssuedSession, now: number) =>
  Effect.gen(function* () {
    const tokens = yield* Tokens;
    const settings = yield* AuthSettings;
    const jti = yield* (yield* Ids).next;
    const iat = seconds(now);
    yield* (yield* Metrics).tokenIssued("access");
    const accessToken = yield* tokens.signAccess({
      sub: user.id,
      username: user.username,
      role: user.role,
      epoch: user.epoch,
      sid: session.id,
      jti,
      iat,
      exp: iat + settings.accessTokenSeconds,
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
      expiresIn: settings.accessTokenSeconds,
      refreshToken,
      refreshExpiresAt: session.expiresAt,
    } satisfies TokenPair;
  });

/** The user the credentials name; the same failure, in about the same time, whatever was wrong. */
const checkCredentials = (input: Credentials) =>
  Effect.gen(function* () {
    const hasher = yield* PasswordHasher;
    // Refused before any hashing: a 1 MB password never reaches argon2.
    if (!isValidPassword(input.password)) return yield* Effect.fail(new InvalidCredentials());
    const user = yield* findUser(input.username);
    if (user === null) {
      yield* hasher.verifyDummy(input.password);
      return yield* Effect.fail(new InvalidCredentials());
    }
    if (!(yield* hasher.verify(input.password, user.passwordHash))) {
      return yield* Effect.fail(new InvalidCredentials());
    }
    return user;
  });

export const login = (input: Credentials, metadata: Metadata) =>
  limitPasswordChecks(input.username, metadata.clientIp, checkCredentials(input)).pipe(
    Effect.tapError((error) =>
      Effect.gen(function* () {
        if (error._tag === "InvalidCredentials" || error._tag === "RateLimited") {
          const reason = error._tag === "RateLimited" ? "rate_limited" : "invalid_credentials";
          yield* (yield* Metrics).loginFailed(reason);
        }
      }),
    ),
    Effect.flatMap((user) => startSession(user, metadata)),
  );

/** Starts a session (one login) for `user` and mints its first token pair. */
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

export const refresh = (refreshToken: string, metadata: Metadata) =>
  Effect.gen(function* () {
    const tokens = yield* Tokens;
    const settings = yield* AuthSettings;
    const ids = yield* Ids;
    const now = yield* Clock.currentTimeMillis;
    const claims = yield* tokens
      .verifyRefresh(refreshToken, now)
      .pipe(Effect.mapError((e) => new Unauthorized({ reason: e.reason })));
    const { state: user } = yield* loadUser(claims.sub);
    if (user.status !== "active")
      return yield* Effect.fail(new Unauthorized({ reason: "unknown user" }));
    if (user.epoch !== claims.epoch)
      return yield* Effect.fail(new Unauthorized({ reason: "stale epoch" }));
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
    if (!decision.ok) return yield* Effect.fail(new Unauthorized({ reason: decision.error._tag }));
    const session = loaded.state as StartedSession;
    const [event] = decision.events;
    if (event?.type === "SessionRevoked") {
      return yield* Effect.fail(new Unauthorized({ reason: "refresh token reused" }));
    }
    // Rotated: the new token. Within the grace window: the session's current token again.
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

const revokeSession = (userId: string, sessionId: string, reason: string, metadata: Metadata) =>
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

/**
 * Ends the sessions the presented tokens belong to: every access and refresh token of those
 * logins. Signatures are checked, revocation is not, so logging out twice is fine.
 */
export const logout = (
  presented: { readonly accessToken?: string; readonly refreshToken?: string },
  metadata: Metadata,
) =>
  Effect.gen(function* () {
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
    if (sessions.size === 0)
      return yield* Effect.fail(new Unauthorized({ reason: "no valid token" }));
    for (const [sessionId, userId] of sessions) {
      yield* revokeSession(userId, sessionId, "logout", { ...metadata, actor: userId });
    }
  });

export const logoutAll = (principal: AccessClaims, metadata: Metadata) =>
  decideAndAppend(
    loadUser(principal.sub),
    userStream(principal.sub),
    // Once the epoch has moved past the caller's token, a racing request already did this.
    (user) =>
      user.status === "active" && user.epoch > principal.epoch
        ? ({ ok: true, events: [] } as const)
        : decideUser({ type: "RevokeAllSessions", reason: "logout-all" }, user),
    { metadata: { ...metadata, actor: principal.sub } },
  ).pipe(
    Effect.catchTag("ClaimTaken", (e) => Effect.die(e)),
    Effect.flatMap(({ decision }) =>
      decision.ok ? Effect.void : Effect.fail(new Unauthorized({ reason: decision.error._tag })),
    ),
  );

export const me = (principal: AccessClaims) =>
  Effect.gen(function* () {
    const { state, records } = yield* loadUser(principal.sub);
    if (state.status !== "active")
      return yield* Effect.fail(new Unauthorized({ reason: "unknown user" }));
    return view(state, records[0]?.recordedAt ?? new Date(0));
  });
