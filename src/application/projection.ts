import { Effect } from "effect";
import type { SessionEvent } from "../domain/session/SessionEvents.ts";
import { sessionEventTypes } from "../domain/session/SessionEvents.ts";
import type { UserEvent } from "../domain/user/UserEvents.ts";
import { userEventTypes } from "../domain/user/UserEvents.ts";
import type { EventData } from "./ports/EventStore.ts";
import { Metrics } from "./ports/Metrics.ts";
import type { ProjectionWrite } from "./ports/TokenState.ts";

export type DomainEvent = UserEvent | SessionEvent;

export const domainEvent = (record: EventData): DomainEvent | null =>
  userEventTypes.has(record.type) || sessionEventTypes.has(record.type)
    ? ({ type: record.type, data: record.data } as DomainEvent)
    : null;

/** A token or session id no token carries: looks up a user's epoch alone. */
export const noId = "\u0000none";

export const revocationTypes: readonly DomainEvent["type"][] = ["TokenRevoked", "SessionRevoked"];
export const epochTypes: readonly DomainEvent["type"][] = [
  "UserRegistered",
  "RoleChanged",
  "PasswordChanged",
  "AllSessionsRevoked",
  "UserDisabled",
  "UserErased",
];

/** Revocations outlive their token: instance and Redis clocks may disagree (decision 27). */
export const revocationGraceMs = 30_000;

export const projectEvent = (event: DomainEvent): readonly ProjectionWrite[] => {
  switch (event.type) {
    case "UserRegistered":
      return [{ kind: "epoch", userId: event.data.userId, epoch: 0 }];
    case "RoleChanged":
    case "PasswordChanged":
    case "AllSessionsRevoked":
    case "UserDisabled":
    case "UserErased":
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
    case "UserEnabled":
      return [];
  }
};

export const projectRecords = (records: readonly EventData[]): ProjectionWrite[] =>
  records.flatMap((record) => {
    const event = domainEvent(record);
    return event ? projectEvent(event) : [];
  });

/** Events that make some token stop working. */
/** The events whose commit-to-enforcement time is reported. */
export const revokingTypes: readonly string[] = [
  ...revocationTypes,
  ...epochTypes.filter((type) => type !== "UserRegistered"),
];
const revoking: ReadonlySet<string> = new Set(revokingTypes);

/** Reports how long after its commit each revoking event among `records` took effect. */
export const reportEnforced = (
  records: readonly EventData[],
  by: "inline" | "catch_up",
  nowMs: number,
) =>
  Effect.gen(function* () {
    const metrics = yield* Metrics;
    for (const record of records) {
      if (!revoking.has(record.type) || record.recordedAtMs === undefined) continue;
      const key = `${record.type}|${JSON.stringify(record.data)}`;
      yield* metrics.revocationEnforced(key, by, (nowMs - record.recordedAtMs) / 1000);
    }
  });
