import { Effect } from "effect";
import { userStream } from "../domain/user/UserEvents.ts";
import { NotFound, Unavailable } from "./errors.ts";
import { EventStore } from "./ports/EventStore.ts";

export type AuditEntry = {
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

/** A user's history, oldest first, with who did each change and from where. */
export const userEvents = (userId: string) =>
  Effect.gen(function* () {
    const records = yield* (yield* EventStore)
      .readStream(userStream(userId))
      .pipe(Effect.mapError(() => new Unavailable({ dependency: "event-store" })));
    if (records.length === 0) return yield* Effect.fail(new NotFound({ what: "user" }));
    return records.map(
      (record): AuditEntry => ({
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
