import { accept, type Decision, fold, reject } from "../Decision.ts";
import {
  SessionAlreadyStarted,
  SessionEnded,
  type SessionError,
  SessionNotFound,
} from "./SessionErrors.ts";
import { type SessionEvent, userAgentMaxLength } from "./SessionEvents.ts";

export type Session =
  | { readonly status: "none" }
  | {
      readonly status: "active" | "revoked";
      readonly id: string;
      readonly userId: string;
      readonly current: string;
      /** The token `current` replaced, honoured only inside the grace window. */
      readonly previous: string | null;
      readonly rotatedAt: number;
      readonly expiresAt: number;
      /** The user's epoch at login; null for a session started before logins recorded it. */
      readonly epoch: number | null;
    };

export type StartedSession = Extract<Session, { status: "active" | "revoked" }>;

export const initialSession: Session = { status: "none" };

export const evolveSession = (state: Session, event: SessionEvent): Session => {
  switch (event.type) {
    case "SessionStarted":
      return {
        status: "active",
        id: event.data.sessionId,
        userId: event.data.userId,
        current: event.data.refreshTokenId,
        previous: null,
        rotatedAt: event.data.startedAt,
        expiresAt: event.data.expiresAt,
        epoch: event.data.epoch ?? null,
      };
    case "RefreshTokenRotated":
      return state.status === "none"
        ? state
        : {
            ...state,
            current: event.data.nextRefreshTokenId,
            previous: event.data.previousRefreshTokenId,
            rotatedAt: event.data.rotatedAt,
            expiresAt: event.data.expiresAt,
          };
    case "SessionRevoked":
      return state.status === "none" ? state : { ...state, status: "revoked" };
  }
};

export const foldSession = fold(evolveSession, initialSession);

export type SessionCommand =
  | {
      readonly type: "StartSession";
      readonly sessionId: string;
      readonly userId: string;
      readonly refreshTokenId: string;
      readonly now: number;
      readonly expiresAt: number;
      readonly epoch: number;
      readonly ip: string | null;
      readonly userAgent: string | null;
    }
  | {
      readonly type: "RotateRefreshToken";
      readonly presented: string;
      readonly next: string;
      readonly now: number;
      readonly expiresAt: number;
      readonly graceMs: number;
    }
  | { readonly type: "RevokeSession"; readonly reason: string };

export type Presented = "current" | "grace" | "stale";

export const classifyRefreshToken = (
  state: StartedSession,
  presented: string,
  now: number,
  graceMs: number,
): Presented => {
  if (presented === state.current) return "current";
  const withinGrace = graceMs > 0 && now - state.rotatedAt <= graceMs;
  return presented === state.previous && withinGrace ? "grace" : "stale";
};

export const decideSession = (
  command: SessionCommand,
  state: Session,
): Decision<SessionEvent, SessionError> => {
  if (command.type === "StartSession") {
    if (state.status !== "none") return reject(new SessionAlreadyStarted());
    const { sessionId, userId, refreshTokenId, now, expiresAt, epoch, ip } = command;
    const userAgent = command.userAgent?.slice(0, userAgentMaxLength) ?? null;
    return accept({
      type: "SessionStarted",
      data: { sessionId, userId, refreshTokenId, startedAt: now, expiresAt, epoch, ip, userAgent },
    });
  }
  if (state.status === "none") return reject(new SessionNotFound());
  const revoke = (reason: string): SessionEvent => ({
    type: "SessionRevoked",
    data: { sessionId: state.id, userId: state.userId, expiresAt: state.expiresAt, reason },
  });
  switch (command.type) {
    case "RevokeSession":
      return state.status === "revoked" ? accept() : accept(revoke(command.reason));
    case "RotateRefreshToken": {
      if (state.status === "revoked" || command.now >= state.expiresAt) {
        return reject(new SessionEnded());
      }
      switch (classifyRefreshToken(state, command.presented, command.now, command.graceMs)) {
        case "current":
          return accept({
            type: "RefreshTokenRotated",
            data: {
              sessionId: state.id,
              previousRefreshTokenId: state.current,
              nextRefreshTokenId: command.next,
              rotatedAt: command.now,
              expiresAt: command.expiresAt,
            },
          });
        case "grace":
          return accept();
        // A token already rotated away came back: assume theft, end the session.
        case "stale":
          return accept(revoke("refresh-reuse"));
      }
    }
  }
};

/**
 * Live: not revoked, not expired, and started in the user's current epoch. A session whose
 * epoch was never recorded counts as live, so that it can still be listed and ended.
 */
export const isLiveSession = (session: Session, userEpoch: number, now: number): boolean =>
  session.status === "active" &&
  session.expiresAt > now &&
  (session.epoch === null || session.epoch === userEpoch);
