import { Clock, Effect } from "effect";
import { ValidationFailed } from "./errors.ts";
import { judgeAt, judgedEvents, type RefusalCode, streamsOf } from "./explain.ts";
import { EventStore } from "./ports/EventStore.ts";
import { Tokens } from "./ports/Tokens.ts";

export type Inspection = {
  readonly genuine: boolean;
  readonly kid: string | null;
  readonly claims: Readonly<Record<string, unknown>> | null;
  readonly valid: boolean;
  readonly at: Date;
  readonly code: RefusalCode | null;
  readonly causedBy: {
    readonly type: string;
    readonly position: number;
    readonly recordedAt: Date;
    readonly actor: string | null;
  } | null;
};

/**
 * Would this access token have been accepted at `atMs`? Decided by folding the events of its
 * user, its session and the key ring recorded up to then, not by the projection (decision 47).
 */
export const inspectToken = Effect.fn("inspectToken")(function* (token: string, when?: number) {
  const atMs = when ?? (yield* Clock.currentTimeMillis);
  const at = new Date(atMs);
  const examined = (yield* Tokens).examine(token);
  if (examined === null) {
    return {
      genuine: false,
      kid: null,
      claims: null,
      valid: false,
      at,
      code: "invalid_token",
      causedBy: null,
    } satisfies Inspection;
  }
  if (examined.type === "refresh") {
    return yield* new ValidationFailed({ fields: [{ name: "token", rule: "an access token" }] });
  }
  const events = yield* (yield* EventStore).readStreams(streamsOf(examined), judgedEvents(atMs));
  const { valid, code, cause } = judgeAt(examined, events, atMs);
  return {
    genuine: true,
    kid: examined.kid,
    claims: examined.claims,
    valid,
    at,
    code,
    causedBy:
      cause === null
        ? null
        : {
            type: cause.type,
            position: cause.position,
            recordedAt: cause.recordedAt,
            actor: cause.metadata.actor ?? null,
          },
  } satisfies Inspection;
});
