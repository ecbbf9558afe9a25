import { Effect } from "effect";
import { within } from "./health.ts";
import { Projector } from "./Projector.ts";
import { Directory } from "./ports/Directory.ts";
import { EventStore, type RecordedEvent } from "./ports/EventStore.ts";
import { FibonacciComputer } from "./ports/FibonacciComputer.ts";
import { Metrics, type RevocationScope, type TokenKind } from "./ports/Metrics.ts";
import { TokenState } from "./ports/TokenState.ts";
import { domainEvent } from "./projection.ts";

type Count =
  | { readonly metric: "issued"; readonly kind: TokenKind }
  | { readonly metric: "revoked"; readonly scope: RevocationScope };

const countOf = (record: RecordedEvent): Count | null => {
  const event = domainEvent(record);
  switch (event?.type) {
    case "SessionStarted":
    case "RefreshTokenRotated":
      return { metric: "issued", kind: "refresh" };
    case "TokenRevoked":
      return { metric: "revoked", scope: "token" };
    case "SessionRevoked":
      return { metric: "revoked", scope: "session" };
    case "AllSessionsRevoked":
    case "UserDisabled":
    case "PasswordChanged":
    case "RoleChanged":
      return { metric: "revoked", scope: "user" };
    default:
      return null;
  }
};

export const countAppended = (records: readonly RecordedEvent[]) =>
  Effect.gen(function* () {
    const metrics = yield* Metrics;
    for (const record of records) {
      const count = countOf(record);
      if (count?.metric === "issued") yield* metrics.tokenIssued(count.kind);
      if (count?.metric === "revoked") yield* metrics.tokensRevoked(count.scope);
    }
  });

/** Beyond this many unapplied events the lag reads as this many: a scrape stays cheap. */
export const projectionLagCap = 10_000;

export type Gauges = {
  readonly projectionLag: number | null;
  readonly projectionReady: boolean;
  readonly directoryLag: number | null;
  readonly heavyTaskQueued: number;
  readonly heavyTaskRunning: number;
  readonly heavyTaskRejected: number;
};

const lag = Effect.gen(function* () {
  const store = yield* EventStore;
  const checkpoint = (yield* (yield* TokenState).marker)?.checkpoint ?? null;
  if (checkpoint === null) return Math.min(yield* store.size, projectionLagCap);
  return (yield* store.readAll(checkpoint, projectionLagCap)).events.length;
});

const lagOfDirectory = Effect.gen(function* () {
  const store = yield* EventStore;
  const checkpoint = yield* (yield* Directory).checkpoint;
  if (checkpoint === null) return Math.min(yield* store.size, projectionLagCap);
  return (yield* store.readAll(checkpoint, projectionLagCap)).events.length;
});

export const gauges = Effect.gen(function* () {
  const probe = <E, R>(count: Effect.Effect<number, E, R>) =>
    count.pipe(
      Effect.orElseSucceed(() => null),
      within(null),
    );
  // Side by side: a scrape waits for one probe's deadline at most.
  const [projectionLag, directoryLag] = yield* Effect.all([probe(lag), probe(lagOfDirectory)], {
    concurrency: 2,
  });
  const status = yield* (yield* Projector).status;
  const pool = yield* (yield* FibonacciComputer).stats;
  return {
    projectionLag,
    projectionReady: status.ready,
    directoryLag,
    heavyTaskQueued: pool.queued,
    heavyTaskRunning: pool.running,
    heavyTaskRejected: pool.rejected,
  } satisfies Gauges;
});
