import type { SessionEvent } from "../domain/session/SessionEvents.ts";
import { sessionEventTypes } from "../domain/session/SessionEvents.ts";
import type { UserEvent } from "../domain/user/UserEvents.ts";
import { userEventTypes } from "../domain/user/UserEvents.ts";
import type { EventData } from "./ports/EventStore.ts";
import type { ProjectionWrite } from "./ports/TokenState.ts";

export type DomainEvent = UserEvent | SessionEvent;

/** The domain event a record holds, or null for a type this version does not know. */
export const domainEvent = (record: EventData): DomainEvent | null =>
  userEventTypes.has(record.type) || sessionEventTypes.has(record.type)
    ? ({ type: record.type, data: record.data } as DomainEvent)
    : null;

/** A token or session id no token carries: looks up a user's epoch alone. */
export const noId = "\u0000none";

/** Events that revoke tokens or sessions, and events that set a user's epoch. */
export const revocationTypes: readonly DomainEvent["type"][] = ["TokenRevoked", "SessionRevoked"];
export const epochTypes: readonly DomainEvent["type"][] = [
  "UserRegistered",
  "RoleChanged",
  "PasswordChanged",
  "AllSessionsRevoked",
];

/**
 * How long a revocation outlives its token. Each instance checks `exp` by its own clock, Redis
 * drops the entry by its own: an instance running behind would otherwise accept a revoked token
 * between the two.
 */
export const revocationGraceMs = 30_000;

/** What one event changes in the token projection. Pure: inline, catch-up and replay share it. */
export const projectEvent = (event: DomainEvent): readonly ProjectionWrite[] => {
  switch (event.type) {
    case "UserRegistered":
      return [{ kind: "epoch", userId: event.data.userId, epoch: 0 }];
    case "RoleChanged":
    case "PasswordChanged":
    case "AllSessionsRevoked":
      return [{ kind: "epoch", userId: event.data.userId, epoch: event.data.epoch }];
    case "TokenRevoked":
      return [
        {
          kind: "revokeToken",
          userId: event.data.userId,
          tokenId: event.data.tokenId,
          expiresAt: event.data.expiresAt + revocationGraceMs,
        },
      ];
    case "SessionRevoked":
      return [
        {
          kind: "revokeSession",
          userId: event.data.userId,
          sessionId: event.data.sessionId,
          expiresAt: event.data.expiresAt + revocationGraceMs,
        },
      ];
    case "SessionStarted":
    case "RefreshTokenRotated":
      return [];
  }
};

export const projectRecords = (records: readonly EventData[]): ProjectionWrite[] =>
  records.flatMap((record) => {
    const event = domainEvent(record);
    return event ? projectEvent(event) : [];
  });
