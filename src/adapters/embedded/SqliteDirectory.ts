import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Effect, Layer } from "effect";
import {
  Directory,
  type DirectoryBuild,
  DirectoryRebuilding,
  type DirectorySession,
  DirectoryUnavailable,
  type DirectoryUser,
  type DirectoryWrite,
} from "../../application/ports/Directory.ts";
import type { Role } from "../../domain/Role.ts";

type UserRow = {
  readonly seq: number;
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly disabled: number;
  readonly disabled_until: number | null;
  readonly created_at: number;
  readonly last_login_at: number | null;
  readonly sessions: number;
};

type SessionRow = {
  readonly id: string;
  readonly user_id: string;
  readonly created_at: number;
  readonly last_used_at: number | null;
  readonly expires_at: number;
  readonly ip: string | null;
  readonly user_agent: string | null;
};

const schema = `
  create table if not exists directory_state (
    id integer primary key check (id = 1),
    generation text not null,
    checkpoint text not null
  );
  create table if not exists directory_users (
    generation text not null,
    id text not null,
    seq integer not null,
    username text not null,
    role text not null,
    disabled integer not null default 0,
    disabled_until integer,
    created_at integer not null,
    last_login_at integer,
    primary key (generation, id)
  );
  create table if not exists directory_sessions (
    generation text not null,
    id text not null,
    user_id text not null,
    created_at integer not null,
    last_used_at integer,
    expires_at integer not null,
    ip text,
    user_agent text,
    ended integer not null default 0,
    primary key (generation, id)
  );
  create index if not exists directory_sessions_user_idx on directory_sessions (generation, user_id);
`;

const unavailable = (cause: unknown) => new DirectoryUnavailable({ cause });

/** Files with a build under way in this process; another process is not excluded. */
const building = new Set<string>();

// A disable with an `until` lapses by itself: the status is decided at query time.
const disabledAt = "(u.disabled = 1 and (u.disabled_until is null or u.disabled_until > $now))";
const liveSession = "s.ended = 0 and s.expires_at > $now";

const toUser = (row: UserRow, now: number): DirectoryUser => ({
  id: row.id,
  username: row.username,
  role: row.role,
  status:
    row.disabled === 1 && (row.disabled_until === null || row.disabled_until > now)
      ? "disabled"
      : "active",
  createdAt: row.created_at,
  lastLoginAt: row.last_login_at,
  sessions: row.sessions,
});

const toSession = (row: SessionRow): DirectorySession => ({
  id: row.id,
  userId: row.user_id,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  expiresAt: row.expires_at,
  ip: row.ip,
  userAgent: row.user_agent,
});

export const openSqliteDirectory = (path: string) => {
  const lock = path === ":memory:" ? `:memory:${crypto.randomUUID()}` : resolve(path);
  const db = new Database(path, { create: true, strict: true });
  db.run("pragma journal_mode = wal");
  db.run("pragma synchronous = normal");
  // A forgotten user's rows are overwritten in place, not left in free pages.
  db.run("pragma secure_delete = on");
  db.run(schema);
  // Searches walk this index in seq order and test the lowered username in it, reading a
  // table row only for a match; files made before it get the column and the index here.
  const columns = db.query<{ name: string }, []>("pragma table_xinfo(directory_users)").all();
  if (!columns.some((column) => column.name === "username_lower"))
    db.run(`alter table directory_users
      add column username_lower text generated always as (lower(username)) virtual`);
  db.run(`drop index if exists directory_users_seq_idx;
    create index if not exists directory_users_search_idx
      on directory_users (generation, seq, username_lower)`);

  const abandoned = ["directory_sessions", "directory_users"].map((table) =>
    db.query(
      `delete from ${table} where generation is not (select generation from directory_state where id = 1)`,
    ),
  );
  const state = db.query<{ generation: string; checkpoint: string }, []>(
    "select generation, checkpoint from directory_state where id = 1",
  );
  const statements = {
    user: db.query(
      `insert into directory_users (generation, id, seq, username, role, created_at)
       values ($g, $id, (select coalesce(max(seq), 0) + 1 from directory_users where generation = $g),
         $username, $role, $createdAt)
       on conflict do nothing`,
    ),
    role: db.query("update directory_users set role = $role where generation = $g and id = $id"),
    disable: db.query(
      `update directory_users set disabled = 1, disabled_until = $until
       where generation = $g and id = $id`,
    ),
    enable: db.query(
      `update directory_users set disabled = 0, disabled_until = null
       where generation = $g and id = $id`,
    ),
    endSessions: db.query(
      "update directory_sessions set ended = 1 where generation = $g and user_id = $id",
    ),
    session: db.query(
      `insert into directory_sessions (generation, id, user_id, created_at, expires_at, ip, user_agent)
       values ($g, $id, $userId, $createdAt, $expiresAt, $ip, $userAgent) on conflict do nothing`,
    ),
    login: db.query(
      `update directory_users set last_login_at = max(coalesce(last_login_at, 0), $at)
       where generation = $g and id = $id`,
    ),
    rotate: db.query(
      `update directory_sessions set last_used_at = $at, expires_at = $expiresAt
       where generation = $g and id = $id`,
    ),
    endSession: db.query(
      "update directory_sessions set ended = 1 where generation = $g and id = $id",
    ),
    forgetSessions: db.query(
      "delete from directory_sessions where generation = $g and user_id = $id",
    ),
    forgetUser: db.query("delete from directory_users where generation = $g and id = $id"),
  };

  const applyWrites = (g: string, writes: readonly DirectoryWrite[]) => {
    for (const w of writes) {
      switch (w.kind) {
        case "user":
          statements.user.run({
            g,
            id: w.id,
            username: w.username,
            role: w.role,
            createdAt: w.createdAt,
          });
          break;
        case "role":
          statements.role.run({ g, id: w.userId, role: w.role });
          break;
        case "disable":
          statements.disable.run({ g, id: w.userId, until: w.until });
          break;
        case "enable":
          statements.enable.run({ g, id: w.userId });
          break;
        case "endSessions":
          statements.endSessions.run({ g, id: w.userId });
          break;
        case "forget":
          statements.forgetSessions.run({ g, id: w.userId });
          statements.forgetUser.run({ g, id: w.userId });
          break;
        case "session":
          statements.session.run({
            g,
            id: w.id,
            userId: w.userId,
            createdAt: w.createdAt,
            expiresAt: w.expiresAt,
            ip: w.ip,
            userAgent: w.userAgent,
          });
          statements.login.run({ g, id: w.userId, at: w.createdAt });
          break;
        case "rotate":
          statements.rotate.run({ g, id: w.sessionId, at: w.at, expiresAt: w.expiresAt });
          break;
        case "endSession":
          statements.endSession.run({ g, id: w.sessionId });
          break;
      }
    }
  };

  const advance = db.transaction((from: string, to: string, writes: readonly DirectoryWrite[]) => {
    const current = state.get();
    if (!current || current.checkpoint !== from) return false;
    applyWrites(current.generation, writes);
    db.query("update directory_state set checkpoint = $to where id = 1").run({ to });
    return true;
  });

  const publish = db.transaction((generation: string, checkpoint: string) => {
    const old = state.get()?.generation;
    db.query(
      `insert into directory_state (id, generation, checkpoint) values (1, $generation, $checkpoint)
       on conflict (id) do update set generation = excluded.generation, checkpoint = excluded.checkpoint`,
    ).run({ generation, checkpoint });
    if (old !== undefined && old !== generation) {
      db.query("delete from directory_users where generation = $old").run({ old });
      db.query("delete from directory_sessions where generation = $old").run({ old });
    }
  });

  const userColumns = `u.seq, u.id, u.username, u.role, u.disabled, u.disabled_until, u.created_at,
    u.last_login_at, (select count(*) from directory_sessions s
      where s.generation = u.generation and s.user_id = u.id and ${liveSession}) as sessions`;
  const current = "(select generation from directory_state where id = 1)";
  const usersPage = db.query<UserRow, Record<string, string | number | null>>(
    `select ${userColumns} from directory_users u
     where u.generation = ${current} and u.seq > $after
       and ($q is null or instr(u.username_lower, lower($q)) > 0)
       and ($role is null or u.role = $role)
       and ($status is null or ($status = 'disabled') = ${disabledAt})
     order by u.seq limit $limit`,
  );
  const oneUser = db.query<UserRow, Record<string, string | number>>(
    `select ${userColumns} from directory_users u where u.generation = ${current} and u.id = $id`,
  );
  const liveSessions = db.query<SessionRow, Record<string, string | number>>(
    `select s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.ip, s.user_agent
     from directory_sessions s
     where s.generation = ${current} and s.user_id = $id and ${liveSession}
     order by s.created_at desc, s.id desc`,
  );

  const attempt = <A>(run: () => A) => Effect.try({ try: run, catch: unavailable });

  const directory = Directory.of({
    checkpoint: attempt(() => state.get()?.checkpoint ?? null),
    advance: (from, to, writes) =>
      attempt(() => {
        const moved = advance.immediate(from, to, writes);
        // Older copies of the forgotten rows may still sit in the write-ahead log.
        if (writes.some((w) => w.kind === "forget")) db.run("pragma wal_checkpoint(truncate)");
        return moved;
      }),
    build: Effect.gen(function* () {
      yield* Effect.acquireRelease(
        Effect.suspend(() => {
          if (building.has(lock)) return Effect.fail(new DirectoryRebuilding());
          building.add(lock);
          return Effect.void;
        }),
        () => Effect.sync(() => building.delete(lock)),
      );
      // What builds that never published left (a crash, a failure) goes first.
      yield* attempt(() =>
        db.transaction(() => {
          for (const query of abandoned) query.run();
        })(),
      );
      const generation = crypto.randomUUID();
      return {
        write: (writes: readonly DirectoryWrite[]) =>
          attempt(() => db.transaction(() => applyWrites(generation, writes)).immediate()),
        publish: (checkpoint: string) => attempt(() => publish.immediate(generation, checkpoint)),
      } satisfies DirectoryBuild;
    }),
    users: (query, now) =>
      attempt(() => {
        const rows = usersPage.all({
          after: query.after ?? 0,
          q: query.q ?? null,
          role: query.role ?? null,
          status: query.status ?? null,
          limit: query.limit + 1,
          now,
        });
        const items = rows.slice(0, query.limit);
        const last = items[items.length - 1];
        return {
          items: items.map((row) => toUser(row, now)),
          next: rows.length > query.limit && last ? last.seq : null,
        };
      }),
    user: (id, now) =>
      attempt(() => {
        const row = oneUser.get({ id, now });
        return row ? toUser(row, now) : null;
      }),
    sessions: (userId, now) => attempt(() => liveSessions.all({ id: userId, now }).map(toSession)),
  });
  return { directory, close: () => db.close() };
};

const layer = (open: () => ReturnType<typeof openSqliteDirectory>) =>
  Layer.effect(
    Directory,
    Effect.acquireRelease(Effect.try({ try: open, catch: unavailable }), (opened) =>
      Effect.sync(() => opened.close()),
    ).pipe(Effect.map((opened) => opened.directory)),
  );

export const SqliteDirectoryLayer = (dataDir: string) =>
  layer(() => {
    mkdirSync(dataDir, { recursive: true });
    return openSqliteDirectory(join(dataDir, "directory.sqlite"));
  });

export const MemoryDirectoryLayer = layer(() => openSqliteDirectory(":memory:"));
