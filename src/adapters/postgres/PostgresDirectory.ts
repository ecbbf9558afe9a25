import { Effect, Fiber, Layer } from "effect";
import type postgres from "postgres";
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
import type { PostgresOptions, Sql } from "./client.ts";
import { type Batch, foldBatch, type Holding, makeFold } from "./directoryBatch.ts";
import { migrate, scopedSql } from "./migrations.ts";

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

// A build holds a row back while the log may still touch it: a session rotated pages after it
// started is then written once, not written and updated.
const holding: Holding = { writes: 40_000, rows: 200_000 };

/** A build's rows are written this many to a transaction, each well within a query's time. */
const partRows = 20_000;

/** `batch` as transactions of at most `partRows` new rows, its changes in the first. */
const parts = (batch: Batch): Batch[] => {
  const none = foldBatch([]);
  const out: Batch[] = [];
  let u = 0;
  let s = 0;
  do {
    const users = batch.users.slice(u, u + partRows);
    const sessions = batch.sessions.slice(s, s + partRows - users.length);
    out.push({ ...(out.length === 0 ? batch : none), users, sessions });
    u += users.length;
    s += sessions.length;
  } while (u < batch.users.length || s < batch.sessions.length);
  return out;
};

const copyEscapes: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };
const copySpecial = /[\\\t\n\r]/;
const copySpecials = /[\\\t\n\r]/g;

/** A value in COPY's text format; a row's values are joined by tabs. */
const field = (value: string | number | boolean | null) =>
  value === null
    ? "\\N"
    : typeof value !== "string"
      ? String(value)
      : copySpecial.test(value)
        ? value.replace(copySpecials, (c) => copyEscapes[c] ?? c)
        : value;

/** Rows carry their generation: a rebuild fills a new one and publishes it in one transaction. */
export const makePostgresDirectory = (
  sql: Sql,
  held = holding,
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

    // postgres.js sends a boolean array as one boolean.
    const flags = (values: readonly boolean[]) =>
      sql`${values.map((value) => (value ? "t" : "f"))}::text[]::boolean[]`;

    // A build's own generation, which only it writes: its new rows go in with COPY, numbered by
    // the build's fold (a log holds each user's and session's first event once).
    const copyNew = async (tx: postgres.TransactionSql, g: string, batch: Batch) => {
      const copy = async (statement: string, lines: string[]) => {
        if (lines.length === 0) return;
        const into = await tx.unsafe(statement).writable();
        await new Promise<void>((resolve, reject) => {
          into.on("error", reject);
          into.on("finish", resolve);
          into.end(`${lines.join("\n")}\n`);
        });
      };
      await copy(
        `copy directory_users (generation, id, seq, username, role, disabled, disabled_until,
           created_at, last_login_at) from stdin`,
        batch.users.map(
          (u) =>
            `${g}\t${field(u.id)}\t${u.order}\t${field(u.username)}\t${field(u.role)}\t${u.disabled}` +
            `\t${field(u.disabledUntil)}\t${u.createdAt}\t${field(u.lastLoginAt)}`,
        ),
      );
      await copy(
        `copy directory_sessions (generation, id, user_id, created_at, last_used_at, expires_at,
           ip, user_agent, ended) from stdin`,
        batch.sessions.map(
          (s) =>
            `${g}\t${field(s.id)}\t${field(s.userId)}\t${s.createdAt}\t${field(s.lastUsedAt)}` +
            `\t${s.expiresAt}\t${field(s.ip)}\t${field(s.userAgent)}\t${s.ended}`,
        ),
      );
    };

    // Changes to earlier rows first, so that they never touch the rows this batch creates.
    const writeAll = async (
      tx: postgres.TransactionSql,
      g: string,
      batch: Batch,
      building = false,
    ) => {
      const pending: PromiseLike<unknown>[] = [];
      if (batch.roles.size > 0)
        pending.push(tx`
          update directory_users u set role = p.role
          from unnest(${[...batch.roles.keys()]}::text[], ${[...batch.roles.values()]}::text[])
            as p(id, role)
          where u.generation = ${g} and u.id = p.id`);
      if (batch.disables.size > 0) {
        const changes = [...batch.disables.values()];
        pending.push(tx`
          update directory_users u set disabled = p.disabled, disabled_until = p.until
          from unnest(${[...batch.disables.keys()]}::text[],
            ${flags(changes.map((c) => c.disabled))}, ${changes.map((c) => c.until)}::bigint[])
            as p(id, disabled, until)
          where u.generation = ${g} and u.id = p.id`);
      }
      if (batch.logins.size > 0)
        pending.push(tx`
          update directory_users u set last_login_at = greatest(u.last_login_at, p.at)
          from unnest(${[...batch.logins.keys()]}::text[], ${[...batch.logins.values()]}::bigint[])
            as p(id, at)
          where u.generation = ${g} and u.id = p.id`);
      if (batch.endedUsers.size > 0)
        pending.push(tx`
          update directory_sessions set ended = true
          where generation = ${g} and user_id = any(${[...batch.endedUsers]}::text[]) and not ended`);
      if (batch.rotations.size > 0) {
        const rotations = [...batch.rotations.values()];
        pending.push(tx`
          update directory_sessions s set last_used_at = p.at, expires_at = p.expires_at
          from unnest(${[...batch.rotations.keys()]}::text[], ${rotations.map((r) => r.at)}::bigint[],
            ${rotations.map((r) => r.expiresAt)}::bigint[]) as p(id, at, expires_at)
          where s.generation = ${g} and s.id = p.id`);
      }
      if (batch.endedSessions.size > 0)
        pending.push(tx`
          update directory_sessions set ended = true
          where generation = ${g} and id = any(${[...batch.endedSessions]}::text[])`);
      // Sent without waiting for each answer: postgres.js pipelines them on the one connection.
      await Promise.all(pending);
      if (building) await copyNew(tx, g, batch);
      else await insertNew(tx, g, batch);
      if (batch.forgotten.size > 0) {
        const gone = [...batch.forgotten];
        await tx`delete from directory_sessions where generation = ${g} and user_id = any(${gone}::text[])`;
        await tx`delete from directory_users where generation = ${g} and id = any(${gone}::text[])`;
      }
    };

    const insertNew = async (tx: postgres.TransactionSql, g: string, batch: Batch) => {
      const { users, sessions } = batch;
      if (users.length > 0)
        await tx`
          insert into directory_users
            (generation, id, seq, username, role, disabled, disabled_until, created_at, last_login_at)
          select ${g}, p.id,
            (select coalesce(max(seq), 0) from directory_users where generation = ${g}) + p.n,
            p.username, p.role, p.disabled, p.disabled_until, p.created_at, p.last_login_at
          from unnest(${users.map((u) => u.id)}::text[], ${users.map((u) => u.username)}::text[],
            ${users.map((u) => u.role)}::text[], ${flags(users.map((u) => u.disabled))},
            ${users.map((u) => u.disabledUntil)}::bigint[], ${users.map((u) => u.createdAt)}::bigint[],
            ${users.map((u) => u.lastLoginAt)}::bigint[])
            with ordinality as p(id, username, role, disabled, disabled_until, created_at, last_login_at, n)
          on conflict do nothing`;
      if (sessions.length > 0)
        await tx`
          insert into directory_sessions
            (generation, id, user_id, created_at, last_used_at, expires_at, ip, user_agent, ended)
          select ${g}, p.* from unnest(${sessions.map((s) => s.id)}::text[],
            ${sessions.map((s) => s.userId)}::text[], ${sessions.map((s) => s.createdAt)}::bigint[],
            ${sessions.map((s) => s.lastUsedAt)}::bigint[], ${sessions.map((s) => s.expiresAt)}::bigint[],
            ${sessions.map((s) => s.ip)}::text[], ${sessions.map((s) => s.userAgent)}::text[],
            ${flags(sessions.map((s) => s.ended))}) as p
          on conflict do nothing`;
    };

    // The generations `table` holds besides the published one, one index probe each.
    const generationsIn = (table: string) =>
      sql.unsafe<{ generation: string }[]>(`
        with recursive held as (
          (select generation from ${table} order by generation limit 1)
          union all
          select (select t.generation from ${table} t where t.generation > held.generation
            order by t.generation limit 1)
          from held where held.generation is not null)
        select generation from held where generation is not null
        except select generation from directory_state`);

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
            await writeAll(tx, state.generation, foldBatch(writes));
            await tx`update directory_state set checkpoint = ${to} where id = 1`;
            return true;
          }),
        ),
      build: Effect.gen(function* () {
        // A session lock, one per schema, on a connection of its own: it ends with the build or with
        // the connection.
        yield* Effect.acquireRelease(
          attempt(async () => {
            const reserved = await sql.reserve();
            const [row] = await reserved<{ locked: boolean }[]>`
              select pg_try_advisory_lock(hashtext('authlog.directory.' || current_schema())) as locked`.catch(
              (cause) => {
                reserved.release();
                throw cause;
              },
            );
            if (!row?.locked) reserved.release();
            return row?.locked ? reserved : null;
          }).pipe(
            Effect.flatMap((reserved) =>
              reserved === null ? Effect.fail(new DirectoryRebuilding()) : Effect.succeed(reserved),
            ),
          ),
          (reserved) =>
            Effect.promise(async () => {
              await reserved`select pg_advisory_unlock(hashtext('authlog.directory.' || current_schema()))`.catch(
                () => undefined,
              );
              reserved.release();
            }),
        );
        // What builds that never published left (a crash, a failure) goes first, a part at a
        // time: it may be more than one statement deletes within its time bound.
        for (const table of ["directory_sessions", "directory_users"]) {
          const left = yield* attempt(() => generationsIn(table));
          for (const { generation } of left) {
            // In key order from the last part: the rows already deleted are not walked again.
            let after: string | null = "";
            while (after !== null) {
              const from: string = after;
              const [part] = yield* attempt(() =>
                sql.unsafe<{ last: string | null }[]>(
                  `with part as (
                     select id from ${table} where generation = $1 and id > $2
                     order by id limit ${partRows}),
                   gone as (delete from ${table} where generation = $1 and id in (select id from part))
                   select max(id) as last from part`,
                  [generation, from],
                ),
              );
              after = part?.last ?? null;
            }
          }
        }
        const generation = crypto.randomUUID();
        const fold = makeFold(held);
        const unseen = new Set(["directory_users", "directory_sessions"]);
        // A generation the statistics have not seen is planned as a few rows, and the changes
        // to written rows then scan all of it; seen once, its share is known. A vacuum holding
        // the table defers it to the next write.
        const analyze = (table: string) =>
          attempt(() =>
            sql.begin(async (tx) => {
              await tx`set local lock_timeout = '200ms'`;
              await tx.unsafe(`analyze ${table}`);
            }),
          ).pipe(Effect.andThen(Effect.sync(() => unseen.delete(table))), Effect.ignore);
        const flush = (batch: Batch) =>
          Effect.gen(function* () {
            for (const part of parts(batch)) {
              yield* attempt(() =>
                sql.begin(async (tx) => {
                  // Lost in a crash, a build is unpublished and made again; its publish is durable.
                  await tx`set local synchronous_commit = off; set local enable_seqscan = off`.simple();
                  await writeAll(tx, generation, part, true);
                }),
              );
            }
            if (batch.users.length > 0 && unseen.has("directory_users"))
              yield* analyze("directory_users");
            if (batch.sessions.length > 0 && unseen.has("directory_sessions"))
              yield* analyze("directory_sessions");
          });
        // Each flush starts once the one before has committed (its changes may be to rows that
        // one wrote), and runs while the next writes are folded.
        const scope = yield* Effect.scope;
        let flushing: Fiber.Fiber<void, DirectoryUnavailable> | null = null;
        const flushed = Effect.suspend(() => (flushing ? Fiber.join(flushing) : Effect.void));
        const behind = (batch: Batch) =>
          Effect.gen(function* () {
            yield* flushed;
            // Uninterruptible: a build ending early waits for it before giving up its lock.
            flushing = yield* Effect.forkIn(Effect.uninterruptible(flush(batch)), scope);
          });
        return {
          write: (writes: readonly DirectoryWrite[]) =>
            Effect.suspend(() => {
              fold.add(writes);
              return behind(fold.take());
            }),
          publish: (checkpoint: string) =>
            flushed.pipe(
              Effect.andThen(Effect.suspend(() => flush(fold.drain()))),
              Effect.andThen(
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
                ).pipe(
                  // Statistics for the new rows, and the visibility map that lets a search read
                  // the index alone, once published: autovacuum would get there, later.
                  Effect.andThen(
                    // Skipped where another vacuum holds a table: queued behind it, a burst of
                    // rebuilds held the pool's connections.
                    attempt(
                      () => sql`vacuum (analyze, skip_locked) directory_users, directory_sessions`,
                    ).pipe(Effect.ignore, Effect.forkDetach),
                  ),
                  Effect.asVoid,
                ),
              ),
            ),
        } satisfies DirectoryBuild;
      }),
      users: (query, now) =>
        attempt(
          // The page is chosen from the seq index alone (its columns cover every filter), then
          // its rows are read: a search that matches few users reads no table row for the rest.
          () => sql<UserRow[]>`
            select ${userColumns(now)} from (
              select u.generation, u.seq from directory_users u
              where u.generation = ${current} and u.seq > ${query.after ?? 0}
              ${query.q === undefined ? sql`` : sql`and strpos(u.username_lower, lower(${query.q})) > 0`}
              ${query.role === undefined ? sql`` : sql`and u.role = ${query.role}`}
              ${
                query.status === undefined
                  ? sql``
                  : sql`and (u.disabled and (u.disabled_until is null or u.disabled_until > ${now}))
                      = ${query.status === "disabled"}`
              }
              order by u.seq limit ${query.limit + 1}
            ) page cross join lateral (
              select * from directory_users u where u.generation = page.generation and u.seq = page.seq
            ) u
            order by u.seq`,
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
    Effect.flatMap(scopedSql({ ...options, max: options.max ?? 4 }, unavailable), (sql) =>
      makePostgresDirectory(sql),
    ),
  );
