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
  /** Creation order in the fold, from 1: a build numbers its users with it. */
  order: number;
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

/** Changes to rows the fold already gave out to be written. */
type Changes = {
  readonly roles: Map<string, Role>;
  readonly disables: Map<string, { disabled: boolean; until: number | null }>;
  readonly logins: Map<string, number>;
  readonly rotations: Map<string, { at: number; expiresAt: number }>;
  readonly endedSessions: Set<string>;
  /** Users whose written sessions all end. */
  readonly endedUsers: Set<string>;
  /** Users erased: their written rows go. */
  readonly forgotten: Set<string>;
};

/** What to write now, as a few set-wise statements: new rows, then changes to written ones. */
export type Batch = Changes & {
  /** In creation order. */
  readonly users: NewUser[];
  readonly sessions: NewSession[];
};

const noChanges = (): Changes => ({
  roles: new Map(),
  disables: new Map(),
  logins: new Map(),
  rotations: new Map(),
  endedSessions: new Set(),
  endedUsers: new Set(),
  forgotten: new Set(),
});

type Held<T> = { row: T; touched: number };

/**
 * How long rows are held back while the log may still touch them: idle for `writes` writes, or
 * beyond `rows` held, a row is given out. While writes keep reaching rows given out (more than
 * one for every ten given), `writes` doubles: the log's rows are touched far apart.
 */
export type Holding = { readonly writes: number; readonly rows: number };

const holdNothing: Holding = { writes: 0, rows: 0 };

/**
 * Writes folded into rows held in memory, each taking its later events in place until it is
 * given out to be written; events for rows given out before become set-wise changes. Held rows
 * are kept in the order they were last touched, so the idle ones are found first.
 */
export const makeFold = (holding: Holding = holdNothing) => {
  const users = new Map<string, Held<NewUser>>();
  const sessions = new Map<string, Held<NewSession>>();
  const sessionsOf = new Map<string, Set<string>>();
  const gone = new Set<string>();
  let changes = noChanges();
  let clock = 0;
  let created = 0;
  let idle = holding.writes;
  let given = 0;
  let missed = 0;

  const touch = <T>(held: Map<string, Held<T>>, id: string, entry: Held<T>) => {
    held.delete(id);
    held.set(id, entry);
    entry.touched = clock;
    return entry.row;
  };
  const heldUser = (id: string) => {
    const entry = users.get(id);
    return entry ? touch(users, id, entry) : undefined;
  };
  const heldSession = (id: string) => {
    const entry = sessions.get(id);
    return entry ? touch(sessions, id, entry) : undefined;
  };
  const miss = (_: unknown) => {
    missed++;
  };
  const release = (session: NewSession) => {
    sessions.delete(session.id);
    const ids = sessionsOf.get(session.userId);
    ids?.delete(session.id);
    if (ids?.size === 0) sessionsOf.delete(session.userId);
  };

  const apply = (w: DirectoryWrite) => {
    switch (w.kind) {
      case "user": {
        if (users.has(w.id) || gone.has(w.id)) break;
        const row = { ...w, disabled: false, disabledUntil: null, lastLoginAt: null };
        users.set(w.id, { row: { ...row, order: ++created }, touched: clock });
        break;
      }
      case "role": {
        const row = heldUser(w.userId);
        if (row) row.role = w.role;
        else miss(changes.roles.set(w.userId, w.role));
        break;
      }
      case "disable":
      case "enable": {
        const disabled = w.kind === "disable";
        const until = w.kind === "disable" ? w.until : null;
        const row = heldUser(w.userId);
        if (row) {
          row.disabled = disabled;
          row.disabledUntil = until;
        } else miss(changes.disables.set(w.userId, { disabled, until }));
        break;
      }
      case "endSessions":
        for (const id of sessionsOf.get(w.userId) ?? []) {
          const row = heldSession(id);
          if (row) row.ended = true;
        }
        changes.endedUsers.add(w.userId);
        break;
      case "session": {
        if (sessions.has(w.id) || gone.has(w.userId)) break;
        const { kind: _, ...fields } = w;
        sessions.set(w.id, { row: { ...fields, lastUsedAt: null, ended: false }, touched: clock });
        const ids = sessionsOf.get(w.userId) ?? new Set();
        sessionsOf.set(w.userId, ids.add(w.id));
        const user = heldUser(w.userId);
        if (user) user.lastLoginAt = Math.max(user.lastLoginAt ?? 0, w.createdAt);
        else
          miss(
            changes.logins.set(w.userId, Math.max(changes.logins.get(w.userId) ?? 0, w.createdAt)),
          );
        break;
      }
      case "rotate": {
        const row = heldSession(w.sessionId);
        if (row) {
          row.lastUsedAt = w.at;
          row.expiresAt = w.expiresAt;
        } else miss(changes.rotations.set(w.sessionId, { at: w.at, expiresAt: w.expiresAt }));
        break;
      }
      case "endSession": {
        const row = heldSession(w.sessionId);
        if (row) row.ended = true;
        else miss(changes.endedSessions.add(w.sessionId));
        break;
      }
      case "forget": {
        gone.add(w.userId);
        users.delete(w.userId);
        for (const id of sessionsOf.get(w.userId) ?? []) sessions.delete(id);
        sessionsOf.delete(w.userId);
        changes.forgotten.add(w.userId);
        break;
      }
    }
  };

  // Users and sessions in one order of last touch, the least recent first: idle rows, then
  // as many more as keep at most `keep` held.
  const giveOut = (idleWrites: number, keep: number): Batch => {
    const out = { users: [] as NewUser[], sessions: [] as NewSession[] };
    const userRows = users.values();
    const sessionRows = sessions.values();
    let user = userRows.next();
    let session = sessionRows.next();
    let held = users.size + sessions.size;
    for (;;) {
      const u = user.done ? null : user.value;
      const s = session.done ? null : session.value;
      const isUser = u !== null && (s === null || u.touched <= s.touched);
      const touched = isUser ? u.touched : s?.touched;
      if (touched === undefined || (touched > clock - idleWrites && held <= keep)) break;
      held--;
      if (isUser) {
        out.users.push(u.row);
        user = userRows.next();
      } else if (s !== null) {
        out.sessions.push(s.row);
        session = sessionRows.next();
      }
    }
    const batch: Batch = {
      ...changes,
      users: out.users.sort((a, b) => a.order - b.order),
      sessions: out.sessions,
    };
    for (const user of batch.users) users.delete(user.id);
    for (const session of batch.sessions) release(session);
    given += batch.users.length + batch.sessions.length;
    changes = noChanges();
    return batch;
  };

  return {
    /** Folds `writes` in, in order. */
    add: (writes: readonly DirectoryWrite[]) => {
      for (const w of writes) {
        clock++;
        apply(w);
      }
    },
    /** The changes so far and the rows to write now, as `holding` says. */
    take: (): Batch => {
      if (missed * 10 > given && given > 0) {
        idle *= 2;
        given = 0;
        missed = 0;
      }
      return giveOut(idle, holding.rows);
    },
    /** The changes so far and every row held. */
    drain: (): Batch => giveOut(0, 0),
  };
};

/** `writes` folded into one batch that holds nothing back. */
export const foldBatch = (writes: readonly DirectoryWrite[]): Batch => {
  const fold = makeFold();
  fold.add(writes);
  return fold.drain();
};
