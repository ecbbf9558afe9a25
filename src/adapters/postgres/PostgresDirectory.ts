import { Effect, Layer } from "effect";
import type postgres from "postgres";
import {
  Directory,
  type DirectorySession,
  DirectoryUnavailable,
  type DirectoryUser,
  type DirectoryWrite,
} from "../../application/ports/Directory.ts";
import type { Role } from "../../domain/Role.ts";
import { createSql, type PostgresOptions, quoteIdentifier, type Sql } from "./client.ts";
import { migrate } from "./migrations.ts";

type UserRow = {
  readonly seq: string;
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly created_at: string;
  readonly last_login_at: string | null;
  readonly sessions: number;
};

type SessionRow = {
  readonly id: string;
  readonly user_id: string;
  readonly created_at: string;
  readonly last_used_at: string | null;
  readonly expires_at: string;
  readonly ip: string | null;
  readonly user_agent: string | null;
};

const unavailable = (cause: unknown) => new DirectoryUnavailable({ cause });

const timeOf = (value: string | null) => (value === null ? null : Number(value));

const toUser = (row: UserRow): DirectoryUser => ({
  id: row.id,
  username: row.username,
  role: row.role,
  status: row.disabled ? "disabled" : "active",
  createdAt: Number(row.created_at),
  lastLoginAt: timeOf(row.last_login_at),
  sessions: row.sessions,
});

const toSession = (row: SessionRow): DirectorySession => ({
  id: row.id,
  userId: row.user_id,
  createdAt: Number(row.created_at),
  lastUsedAt: timeOf(row.last_used_at),
  expiresAt: Number(row.expires_at),
  ip: row.ip,
  userAgent: row.user_agent,
});

const queryTimeoutMs = 3_000;

/** Rows carry their generation: a rebuild fills a new one and publishes it in one transaction. */
export const makePostgresDirectory = (
  sql: Sql,
): Effect.Effect<Directory["Service"], DirectoryUnavailable> =>
  Effect.gen(function* () {
    const attempt = <A>(query: () => PromiseLike<A>) =>
      Effect.tryPromise({ try: () => Promise.resolve(query()), catch: unavailable }).pipe(
        Effect.timeoutOrElse({
          duration: queryTimeoutMs,
          orElse: () =>
            Effect.fail(unavailable(new Error(`no answer within ${queryTimeoutMs} ms`))),
        }),
      );
    yield* Effect.tryPromise({ try: () => migrate(sql), catch: unavailable });

    const write = (tx: postgres.TransactionSql, g: string, w: DirectoryWrite) => {
      switch (w.kind) {
        case "user":
          return tx`
            insert into directory_users (generation, id, seq, username, role, created_at)
            values (${g}, ${w.id},
              (select coalesce(max(seq), 0) + 1 from directory_users where generation = ${g}),
              ${w.username}, ${w.role}, ${w.createdAt})
            on conflict do nothing`;
        case "role":
          return tx`update directory_users set role = ${w.role} where generation = ${g} and id = ${w.userId}`;
        case "disable":
          return tx`
            update directory_users set disabled = true, disabled_until = ${w.until}
            where generation = ${g} and id = ${w.userId}`;
        case "enable":
          return tx`
            update directory_users set disabled = false, disabled_until = null
            where generation = ${g} and id = ${w.userId}`;
        case "endSessions":
          return tx`
            update directory_sessions set ended = true
            where generation = ${g} and user_id = ${w.userId} and not ended`;
        case "forget":
          return tx`
            with sessions as (
              delete from directory_sessions where generation = ${g} and user_id = ${w.userId}
            )
            delete from directory_users where generation = ${g} and id = ${w.userId}`;
        case "session":
          return tx`
            with started as (
              insert into directory_sessions (generation, id, user_id, created_at, expires_at, ip, user_agent)
              values (${g}, ${w.id}, ${w.userId}, ${w.createdAt}, ${w.expiresAt}, ${w.ip}, ${w.userAgent})
              on conflict do nothing
            )
            update directory_users set last_login_at = greatest(last_login_at, ${w.createdAt})
            where generation = ${g} and id = ${w.userId}`;
        case "rotate":
          return tx`
            update directory_sessions set last_used_at = ${w.at}, expires_at = ${w.expiresAt}
            where generation = ${g} and id = ${w.sessionId}`;
        case "endSession":
          return tx`update directory_sessions set ended = true where generation = ${g} and id = ${w.sessionId}`;
      }
    };

    // Sent without waiting for each answer: postgres.js pipelines them on the one connection.
    const writeAll = (tx: postgres.TransactionSql, g: string, writes: readonly DirectoryWrite[]) =>
      Promise.all(writes.map((w) => write(tx, g, w)));

    const current = sql`(select generation from directory_state where id = 1)`;
    const live = (now: number) => sql`s.ended = false and s.expires_at > ${now}`;
    const userColumns = (now: number) => sql`
      u.seq, u.id, u.username, u.role, u.created_at, u.last_login_at,
      (u.disabled and (u.disabled_until is null or u.disabled_until > ${now})) as disabled,
      (select count(*)::int from directory_sessions s
        where s.generation = u.generation and s.user_id = u.id and ${live(now)}) as sessions`;

    return Directory.of({
      checkpoint: attempt(
        () => sql<{ checkpoint: string }[]>`select checkpoint from directory_state where id = 1`,
      ).pipe(Effect.map((rows) => rows[0]?.checkpoint ?? null)),
      advance: (from, to, writes) =>
        attempt(() =>
          sql.begin(async (tx) => {
            const [state] = await tx<{ generation: string; checkpoint: string }[]>`
              select generation, checkpoint from directory_state where id = 1 for update`;
            if (!state || state.checkpoint !== from) return false;
            await writeAll(tx, state.generation, writes);
            await tx`update directory_state set checkpoint = ${to} where id = 1`;
            return true;
          }),
        ),
      build: Effect.sync(() => {
        const generation = crypto.randomUUID();
        return {
          write: (writes: readonly DirectoryWrite[]) =>
            attempt(() => sql.begin((tx) => writeAll(tx, generation, writes))).pipe(Effect.asVoid),
          publish: (checkpoint: string) =>
            attempt(() =>
              sql.begin(async (tx) => {
                const [old] = await tx<{ generation: string }[]>`
                  select generation from directory_state where id = 1 for update`;
                await tx`
                  insert into directory_state (id, generation, checkpoint)
                  values (1, ${generation}, ${checkpoint})
                  on conflict (id) do update
                  set generation = excluded.generation, checkpoint = excluded.checkpoint`;
                if (old && old.generation !== generation) {
                  await tx`delete from directory_users where generation = ${old.generation}`;
                  await tx`delete from directory_sessions where generation = ${old.generation}`;
                }
              }),
            ).pipe(Effect.asVoid),
        };
      }),
      users: (query, now) =>
        attempt(
          () => sql<UserRow[]>`
            select ${userColumns(now)} from directory_users u
            where u.generation = ${current} and u.seq > ${query.after ?? 0}
              ${query.q === undefined ? sql`` : sql`and strpos(lower(u.username), lower(${query.q})) > 0`}
              ${query.role === undefined ? sql`` : sql`and u.role = ${query.role}`}
              ${
                query.status === undefined
                  ? sql``
                  : sql`and (u.disabled and (u.disabled_until is null or u.disabled_until > ${now}))
                      = ${query.status === "disabled"}`
              }
            order by u.seq limit ${query.limit + 1}`,
        ).pipe(
          Effect.map((rows) => {
            const items = rows.slice(0, query.limit);
            const last = items[items.length - 1];
            return {
              items: items.map(toUser),
              next: rows.length > query.limit && last ? Number(last.seq) : null,
            };
          }),
        ),
      user: (id, now) =>
        attempt(
          () => sql<UserRow[]>`
            select ${userColumns(now)} from directory_users u
            where u.generation = ${current} and u.id = ${id}`,
        ).pipe(Effect.map((rows) => (rows[0] ? toUser(rows[0]) : null))),
      sessions: (userId, now) =>
        attempt(
          () => sql<SessionRow[]>`
            select s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.ip, s.user_agent
            from directory_sessions s
            where s.generation = ${current} and s.user_id = ${userId} and ${live(now)}
            order by s.created_at desc, s.id desc`,
        ).pipe(Effect.map((rows) => rows.map(toSession))),
    });
  });

export const PostgresDirectoryFromUrl = (options: PostgresOptions) =>
  Layer.effect(
    Directory,
    Effect.gen(function* () {
      const sql = yield* Effect.acquireRelease(
        Effect.sync(() => createSql({ ...options, max: options.max ?? 4 })),
        (sql) => Effect.promise(() => sql.end({ timeout: 5 })),
      );
      const schema = options.schema;
      if (schema !== undefined) {
        yield* Effect.tryPromise({
          try: () => sql.unsafe(`create schema if not exists ${quoteIdentifier(schema)}`),
          catch: unavailable,
        });
      }
      return yield* makePostgresDirectory(sql);
    }),
  );

export const PostgresDirectoryLayer = (sql: Sql) =>
  Layer.effect(Directory, makePostgresDirectory(sql));
