import { Clock, Effect } from "effect";
import { directoryFilter, directoryRecords } from "./directory.ts";
import { Directory, type DirectoryUser } from "./ports/Directory.ts";
import { EventStore, startOfLog } from "./ports/EventStore.ts";

export type DirectoryDifference = {
  readonly userId: string;
  readonly expected: Omit<DirectoryUser, "createdAt"> | null;
  readonly actual: Omit<DirectoryUser, "createdAt"> | null;
};

const pageSize = 5_000;

type Folded = {
  id: string;
  username: string;
  role: DirectoryUser["role"];
  disabled: { until: number | null } | null;
  lastLoginAt: number | null;
};

/** Folds the log as the directory would and compares every user and live-session count. */
export const verifyDirectory = Effect.gen(function* () {
  const store = yield* EventStore;
  const directory = yield* Directory;
  const users = new Map<string, Folded>();
  const sessions = new Map<string, { userId: string; ended: boolean; expiresAt: number }>();
  // Each user's sessions: an epoch end or an erasure touches only those.
  const ofUser = new Map<string, string[]>();
  let checkpoint = startOfLog;
  for (;;) {
    const page = yield* store.readData(checkpoint, pageSize, directoryFilter);
    if (page.events.length === 0) break;
    checkpoint = page.checkpoint;
    for (const write of directoryRecords(page.events)) {
      switch (write.kind) {
        case "user":
          if (!users.has(write.id))
            users.set(write.id, { ...write, disabled: null, lastLoginAt: null });
          break;
        case "role":
        case "disable":
        case "enable": {
          const user = users.get(write.userId);
          if (!user) break;
          if (write.kind === "role") user.role = write.role;
          else user.disabled = write.kind === "disable" ? { until: write.until } : null;
          break;
        }
        case "forget":
          users.delete(write.userId);
          for (const id of ofUser.get(write.userId) ?? []) sessions.delete(id);
          ofUser.delete(write.userId);
          break;
        case "endSessions":
          for (const id of ofUser.get(write.userId) ?? []) {
            const session = sessions.get(id);
            if (session) session.ended = true;
          }
          break;
        case "session": {
          sessions.set(write.id, {
            userId: write.userId,
            ended: false,
            expiresAt: write.expiresAt,
          });
          const mine = ofUser.get(write.userId) ?? [];
          if (mine.length === 0) ofUser.set(write.userId, mine);
          mine.push(write.id);
          const user = users.get(write.userId);
          if (user) user.lastLoginAt = Math.max(user.lastLoginAt ?? 0, write.createdAt);
          break;
        }
        case "rotate": {
          const session = sessions.get(write.sessionId);
          if (session) session.expiresAt = write.expiresAt;
          break;
        }
        case "endSession": {
          const session = sessions.get(write.sessionId);
          if (session) session.ended = true;
          break;
        }
      }
    }
  }
  const now = yield* Clock.currentTimeMillis;
  const live = new Map<string, number>();
  for (const session of sessions.values()) {
    if (!session.ended && session.expiresAt > now) {
      live.set(session.userId, (live.get(session.userId) ?? 0) + 1);
    }
  }
  const expected = new Map(
    [...users.values()].map((user): [string, Omit<DirectoryUser, "createdAt">] => [
      user.id,
      {
        id: user.id,
        username: user.username,
        role: user.role,
        status:
          user.disabled !== null && (user.disabled.until === null || user.disabled.until > now)
            ? "disabled"
            : "active",
        lastLoginAt: user.lastLoginAt,
        sessions: live.get(user.id) ?? 0,
      },
    ]),
  );
  const differences: DirectoryDifference[] = [];
  const seen = new Set<string>();
  let after = 0;
  for (;;) {
    const page = yield* directory.users({ limit: 100, after }, now);
    for (const { createdAt: _, ...actual } of page.items) {
      seen.add(actual.id);
      const wanted = expected.get(actual.id) ?? null;
      if (JSON.stringify(wanted) !== JSON.stringify(actual)) {
        differences.push({ userId: actual.id, expected: wanted, actual });
      }
    }
    if (page.next === null) break;
    after = page.next;
  }
  for (const [userId, wanted] of expected) {
    if (!seen.has(userId)) differences.push({ userId, expected: wanted, actual: null });
  }
  return { users: expected.size, differences };
});
