import type { DirectoryWrite } from "../../application/ports/Directory.ts";
import type { Role } from "../../domain/Role.ts";

export type NewUser = {
  id: string;
  username: string;
  role: Role;
  createdAt: number;
  disabled: boolean;
  disabledUntil: number | null;
  lastLoginAt: number | null;
};

export type NewSession = {
  id: string;
  userId: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
  ended: boolean;
};

/**
 * A batch of writes as a few set-wise statements: rows it creates, folded to their final state,
 * and the changes left for rows written before it.
 */
export type Batch = {
  readonly users: NewUser[];
  readonly sessions: NewSession[];
  readonly roles: Map<string, Role>;
  readonly disables: Map<string, { disabled: boolean; until: number | null }>;
  readonly logins: Map<string, number>;
  readonly rotations: Map<string, { at: number; expiresAt: number }>;
  readonly endedSessions: Set<string>;
  /** Users whose earlier sessions all end. */
  readonly endedUsers: Set<string>;
  /** Users erased: their rows go, whatever this batch or earlier ones wrote. */
  readonly forgotten: Set<string>;
};

export const foldBatch = (writes: readonly DirectoryWrite[]): Batch => {
  const users = new Map<string, NewUser>();
  const sessions = new Map<string, NewSession>();
  const sessionsOf = new Map<string, NewSession[]>();
  const batch: Batch = {
    users: [],
    sessions: [],
    roles: new Map(),
    disables: new Map(),
    logins: new Map(),
    rotations: new Map(),
    endedSessions: new Set(),
    endedUsers: new Set(),
    forgotten: new Set(),
  };
  for (const w of writes) {
    switch (w.kind) {
      case "user": {
        if (users.has(w.id)) break;
        const row = { ...w, disabled: false, disabledUntil: null, lastLoginAt: null };
        users.set(w.id, row);
        batch.users.push(row);
        break;
      }
      case "role": {
        const row = users.get(w.userId);
        if (row) row.role = w.role;
        else batch.roles.set(w.userId, w.role);
        break;
      }
      case "disable":
      case "enable": {
        const disabled = w.kind === "disable";
        const until = w.kind === "disable" ? w.until : null;
        const row = users.get(w.userId);
        if (row) {
          row.disabled = disabled;
          row.disabledUntil = until;
        } else batch.disables.set(w.userId, { disabled, until });
        break;
      }
      case "endSessions":
        for (const session of sessionsOf.get(w.userId) ?? []) session.ended = true;
        batch.endedUsers.add(w.userId);
        break;
      case "session": {
        if (sessions.has(w.id)) break;
        const { kind: _, ...fields } = w;
        const row = { ...fields, lastUsedAt: null, ended: false };
        sessions.set(w.id, row);
        batch.sessions.push(row);
        sessionsOf.set(w.userId, [...(sessionsOf.get(w.userId) ?? []), row]);
        const user = users.get(w.userId);
        if (user) user.lastLoginAt = Math.max(user.lastLoginAt ?? 0, w.createdAt);
        else batch.logins.set(w.userId, Math.max(batch.logins.get(w.userId) ?? 0, w.createdAt));
        break;
      }
      case "rotate": {
        const row = sessions.get(w.sessionId);
        if (row) {
          row.lastUsedAt = w.at;
          row.expiresAt = w.expiresAt;
        } else batch.rotations.set(w.sessionId, { at: w.at, expiresAt: w.expiresAt });
        break;
      }
      case "endSession": {
        const row = sessions.get(w.sessionId);
        if (row) row.ended = true;
        else batch.endedSessions.add(w.sessionId);
        break;
      }
      case "forget":
        batch.forgotten.add(w.userId);
        break;
    }
  }
  if (batch.forgotten.size === 0) return batch;
  const kept = <T>(rows: T[], userOf: (row: T) => string) =>
    rows.filter((row) => !batch.forgotten.has(userOf(row)));
  return {
    ...batch,
    users: kept(batch.users, (user) => user.id),
    sessions: kept(batch.sessions, (session) => session.userId),
  };
};
