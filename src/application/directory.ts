import type { DirectoryWrite } from "./ports/Directory.ts";
import type { EventData, ReadFilter } from "./ports/EventStore.ts";
import { type DomainEvent, domainEvent } from "./projection.ts";

/** What one event changes in the directory; an epoch move ends every session of the user. */
export const directoryWrites = (
  event: DomainEvent,
  recordedAt: number,
): readonly DirectoryWrite[] => {
  switch (event.type) {
    case "UserRegistered": {
      const { userId: id, username, role } = event.data;
      return [{ kind: "user", id, username, role, createdAt: recordedAt }];
    }
    case "RoleChanged":
      return [
        { kind: "role", userId: event.data.userId, role: event.data.to },
        { kind: "endSessions", userId: event.data.userId },
      ];
    case "PasswordChanged":
    case "AllSessionsRevoked":
      return [{ kind: "endSessions", userId: event.data.userId }];
    case "UserDisabled":
      return [
        { kind: "disable", userId: event.data.userId, until: event.data.until },
        { kind: "endSessions", userId: event.data.userId },
      ];
    case "UserEnabled":
      return [{ kind: "enable", userId: event.data.userId }];
    case "UserErased":
      return [{ kind: "forget", userId: event.data.userId }];
    case "SessionStarted": {
      const { sessionId: id, userId, startedAt, expiresAt } = event.data;
      const ip = event.data.ip ?? null;
      const userAgent = event.data.userAgent ?? null;
      return [{ kind: "session", id, userId, createdAt: startedAt, expiresAt, ip, userAgent }];
    }
    case "RefreshTokenRotated":
      return [
        {
          kind: "rotate",
          sessionId: event.data.sessionId,
          at: event.data.rotatedAt,
          expiresAt: event.data.expiresAt,
        },
      ];
    case "SessionRevoked":
      return [{ kind: "endSession", sessionId: event.data.sessionId }];
    case "TokenRevoked":
      return [];
  }
};

// Which events change the directory: a new event type must be placed here to compile.
const changes: Record<DomainEvent["type"], boolean> = {
  UserRegistered: true,
  RoleChanged: true,
  PasswordChanged: true,
  AllSessionsRevoked: true,
  UserDisabled: true,
  UserEnabled: true,
  UserErased: true,
  SessionStarted: true,
  RefreshTokenRotated: true,
  SessionRevoked: true,
  TokenRevoked: false,
};

/** The directory's read of the log: its events only, and the commit time where it is used. */
export const directoryFilter = {
  types: Object.keys(changes).filter((type) => changes[type as DomainEvent["type"]]),
  commitTimesOf: ["UserRegistered"],
  unneeded: [
    "passwordHash",
    "refreshTokenId",
    "previousRefreshTokenId",
    "nextRefreshTokenId",
    "tokenId",
    "epoch",
    "reason",
  ],
} satisfies ReadFilter;

/** `records` as `readData` gives them with commit times; whole milliseconds, as a Date holds. */
export const directoryRecords = (records: readonly EventData[]): DirectoryWrite[] =>
  records.flatMap((record) => {
    const event = domainEvent(record);
    return event ? directoryWrites(event, Math.floor(record.recordedAtMs ?? 0)) : [];
  });
