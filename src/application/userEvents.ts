import { Effect } from "effect";
import { sessionStarted } from "../domain/session/SessionEvents.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import { RoleRequired, UserNotFound } from "./errors.ts";
import { EventStore } from "./ports/EventStore.ts";
import type { AccessClaims } from "./ports/Tokens.ts";

export type AuditEntry = {
  readonly stream: string;
  readonly position: number;
  readonly version: number;
  readonly type: string;
  readonly recordedAt: Date;
  readonly actor: string | null;
  readonly requestId: string | null;
  readonly clientIp: string | null;
  readonly data: unknown;
};

// Events carry hashes, never passwords; neither leaves through the audit trail.
const secretField = /hash|password|secret/i;

const strip = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(strip);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !secretField.test(key))
      .map(([key, inner]) => [key, strip(inner)]),
  );
};

export type Reader = { readonly principal: AccessClaims } | { readonly operator: string };

export const userEvents = Effect.fn("userEvents")(function* (userId: string, reader: Reader) {
  if ("principal" in reader && reader.principal.role !== "admin") {
    return yield* new RoleRequired({ role: "admin" });
  }
  const store = yield* EventStore;
  const sessions = yield* store.streamsStartedWith(sessionStarted, "userId", userId);
  const records = yield* store.readStreams([userStream(userId), ...sessions]);
  if (!records.some((record) => record.streamId === userStream(userId))) {
    return yield* new UserNotFound();
  }
  return records.map(
    (record): AuditEntry => ({
      stream: record.streamId,
      position: record.position,
      version: record.version,
      type: record.type,
      recordedAt: record.recordedAt,
      actor: record.metadata.actor ?? null,
      requestId: record.metadata.requestId ?? null,
      clientIp: record.metadata.clientIp ?? null,
      data: strip(record.data),
    }),
  );
});
