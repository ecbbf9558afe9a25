import { Clock, Effect } from "effect";
import { EventStore, startOfLog } from "./ports/EventStore.ts";
import { TokenState } from "./ports/TokenState.ts";
import { noId, projectRecords } from "./projection.ts";

export type Difference =
  | {
      readonly kind: "epoch";
      readonly userId: string;
      readonly expected: number;
      readonly actual: number | null;
    }
  | { readonly kind: "token"; readonly userId: string; readonly tokenId: string }
  | { readonly kind: "session"; readonly userId: string; readonly sessionId: string };

export type Verification = {
  readonly users: number;
  readonly revocations: number;
  readonly differences: readonly Difference[];
};

const pageSize = 5_000;

/** Checks the live projection against the log; memory grows with users and live revocations. */
export const verifyProjection = Effect.gen(function* () {
  const store = yield* EventStore;
  const state = yield* TokenState;
  const now = yield* Clock.currentTimeMillis;
  const epochs = new Map<string, number>();
  const revoked: { userId: string; tokenId?: string; sessionId?: string }[] = [];
  let checkpoint = startOfLog;
  for (;;) {
    const page = yield* store.readData(checkpoint, pageSize);
    if (page.events.length === 0) break;
    checkpoint = page.checkpoint;
    for (const write of projectRecords(page.events)) {
      if (write.kind === "epoch") {
        epochs.set(write.userId, Math.max(epochs.get(write.userId) ?? -1, write.epoch));
      } else if (write.expiresAt > now + 1000) {
        revoked.push(
          write.kind === "revokeToken"
            ? { userId: write.userId, tokenId: write.tokenId }
            : { userId: write.userId, sessionId: write.sessionId },
        );
      }
    }
  }
  const epochDifferences = yield* Effect.forEach(
    epochs,
    ([userId, expected]) =>
      state
        .lookup(userId, noId, noId)
        .pipe(
          Effect.map(({ epoch }): Difference | null =>
            epoch === expected ? null : { kind: "epoch", userId, expected, actual: epoch },
          ),
        ),
    { concurrency: 256 },
  );
  const revocationDifferences = yield* Effect.forEach(
    revoked,
    (entry) =>
      state.lookup(entry.userId, entry.tokenId ?? noId, entry.sessionId ?? noId).pipe(
        Effect.map((status): Difference | null => {
          if (entry.tokenId !== undefined && !status.tokenRevoked) {
            return { kind: "token", userId: entry.userId, tokenId: entry.tokenId };
          }
          if (entry.sessionId !== undefined && !status.sessionRevoked) {
            return { kind: "session", userId: entry.userId, sessionId: entry.sessionId };
          }
          return null;
        }),
      ),
    { concurrency: 256 },
  );
  const differences = [...epochDifferences, ...revocationDifferences].filter(
    (difference): difference is Difference => difference !== null,
  );
  return { users: epochs.size, revocations: revoked.length, differences } satisfies Verification;
});
