import { Clock, Effect, Layer } from "effect";
import type { Checkpoint } from "../../application/ports/EventStore.ts";
import {
  ProjectionLost,
  type ProjectionWrite,
  TokenState,
} from "../../application/ports/TokenState.ts";

export const makeMemoryTokenState = (
  now: () => number = Date.now,
): TokenState["Service"] & {
  readonly clear: () => void;
} => {
  const epochs = new Map<string, number>();
  const revoked = new Map<string, number>();
  let checkpoint: Checkpoint | null = null;
  let generation: string | null = null;

  const isRevoked = (key: string, nowMs: number) => {
    const until = revoked.get(key);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    revoked.delete(key);
    return false;
  };

  const sweep = (nowMs: number) => {
    for (const [key, until] of revoked) if (until <= nowMs) revoked.delete(key);
  };
  let writesSinceSweep = 0;

  const status = (userId: string, tokenId: string, sessionId: string) => {
    const at = now();
    return {
      epoch: epochs.get(userId) ?? null,
      tokenRevoked: isRevoked(`jti:${tokenId}`, at),
      sessionRevoked: isRevoked(`sid:${sessionId}`, at),
    };
  };
  const lookup: TokenState["Service"]["lookup"] = (userId, tokenId, sessionId) =>
    Effect.sync(() => status(userId, tokenId, sessionId));
  const lookupNow: TokenState["Service"]["lookupNow"] = (userId, tokenId, sessionId) =>
    Promise.resolve(status(userId, tokenId, sessionId));
  const apply = (writes: readonly ProjectionWrite[], nowMs: number) => {
    let written = 0;
    for (const entry of writes) {
      if (entry.kind === "epoch") {
        if ((epochs.get(entry.userId) ?? -1) < entry.epoch) epochs.set(entry.userId, entry.epoch);
        written++;
        continue;
      }
      if (entry.expiresAt <= nowMs) continue;
      const key = entry.kind === "revokeToken" ? `jti:${entry.tokenId}` : `sid:${entry.sessionId}`;
      revoked.set(key, Math.max(revoked.get(key) ?? 0, entry.expiresAt));
      written++;
    }
    writesSinceSweep += written;
    if (writesSinceSweep > 10_000) {
      writesSinceSweep = 0;
      sweep(nowMs);
    }
    return written;
  };

  return {
    lookup,
    lookupNow,
    apply: (writes, nowMs) => Effect.sync(() => apply(writes, nowMs)),
    applyIn: (expected, writes, nowMs) =>
      expected === generation
        ? Effect.sync(() => apply(writes, nowMs))
        : Effect.fail(new ProjectionLost({ generation: expected })),
    marker: Effect.sync(() => (generation === null ? null : { generation, checkpoint })),
    open: (candidate) =>
      Effect.sync(() => {
        if (generation === null) {
          generation = candidate;
          checkpoint = null;
        }
        return { generation, checkpoint };
      }),
    saveCheckpoint: (expected, next) =>
      expected === generation
        ? Effect.sync(() => {
            checkpoint = next;
          })
        : Effect.fail(new ProjectionLost({ generation: expected })),
    clear: () => {
      epochs.clear();
      revoked.clear();
      checkpoint = null;
      generation = null;
    },
  };
};

export const MemoryTokenStateLayer = Layer.effect(
  TokenState,
  Effect.map(Clock.Clock, (clock) => makeMemoryTokenState(() => clock.currentTimeMillisUnsafe())),
);
