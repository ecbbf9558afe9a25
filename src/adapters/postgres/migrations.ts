import { Effect } from "effect";
import { createSql, type PostgresOptions, quoteIdentifier, type Sql } from "./client.ts";

export type Migration = { readonly version: number; readonly name: string; readonly sql: string };

/** Append-only: a released migration is never edited, a change is a new version. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "events and claims",
    sql: `
      create table events (
        position bigserial not null,
        transaction_id xid8 not null default pg_current_xact_id(),
        stream_id text not null,
        version int not null,
        type text not null,
        data jsonb not null,
        metadata jsonb not null default '{}',
        recorded_at timestamptz not null default now(),
        constraint events_pkey primary key (position),
        constraint events_stream_version_key unique (stream_id, version)
      );
      create index events_transaction_position_idx on events (transaction_id, position);
      create table claims (
        key text not null,
        stream_id text not null,
        claimed_at timestamptz not null default now(),
        constraint claims_pkey primary key (key)
      );
    `,
  },
  {
    version: 2,
    name: "streams by their first event's data",
    sql: `
      create index events_first_data_idx on events using gin (data jsonb_path_ops)
      where version = 1;
    `,
  },
  {
    version: 3,
    name: "hash chains",
    // Stable, not immutable, so the planner inlines them (convert_to is stable): a call costs
    // what the expression does. The existing events get their hashes here, stream by stream in version order. A row
    // written around the store has none, which verify-log reports as a break.
    sql: `
      create function authlog_field(value bytea) returns bytea
        language sql immutable parallel safe
        as $$ select int4send(length(value)) || value $$;
      create function authlog_link_hash(
        previous bytea, stream_id text, version int, type text, data jsonb, metadata jsonb,
        recorded_at timestamptz
      ) returns bytea
        language sql stable parallel safe
        as $$ select sha256(previous
          || authlog_field(convert_to(stream_id, 'UTF8'))
          || authlog_field(convert_to(version::text, 'UTF8'))
          || authlog_field(convert_to(type, 'UTF8'))
          || authlog_field(convert_to(data::text, 'UTF8'))
          || authlog_field(convert_to(metadata::text, 'UTF8'))
          || authlog_field(convert_to(((extract(epoch from recorded_at) * 1000000)::bigint)::text, 'UTF8'))) $$;
      alter table events add column hash bytea;
      with recursive chain as (
        select position, stream_id, version,
          authlog_link_hash(decode(repeat('00', 32), 'hex'), stream_id, version, type, data, metadata, recorded_at) as hash
        from events where version = 1
        union all
        select e.position, e.stream_id, e.version,
          authlog_link_hash(chain.hash, e.stream_id, e.version, e.type, e.data, e.metadata, e.recorded_at)
        from chain join events e on e.stream_id = chain.stream_id and e.version = chain.version + 1
      )
      update events set hash = chain.hash from chain where events.position = chain.position;
    `,
  },
  {
    version: 4,
    name: "the directory read model",
    sql: `
      create table directory_state (
        id int primary key check (id = 1),
        generation text not null,
        checkpoint text not null
      );
      create table directory_users (
        generation text not null,
        id text not null,
        seq bigint not null,
        username text not null,
        role text not null,
        disabled boolean not null default false,
        disabled_until bigint,
        created_at bigint not null,
        last_login_at bigint,
        constraint directory_users_pkey primary key (generation, id)
      );
      create unique index directory_users_seq_idx on directory_users (generation, seq);
      create table directory_sessions (
        generation text not null,
        id text not null,
        user_id text not null,
        created_at bigint not null,
        last_used_at bigint,
        expires_at bigint not null,
        ip text,
        user_agent text,
        ended boolean not null default false,
        constraint directory_sessions_pkey primary key (generation, id)
      );
      create index directory_sessions_user_idx on directory_sessions (generation, user_id);
    `,
  },
  {
    version: 5,
    name: "username search by trigrams",
    // pg_trgm is the operator's to install, database-wide (created from a schema's migration,
    // some of its objects could land in that schema and go with it); without it, a scan.
    sql: `
      do $$
      declare
        home name;
      begin
        select n.nspname into home from pg_opclass c
          join pg_namespace n on n.oid = c.opcnamespace where c.opcname = 'gin_trgm_ops';
        if home is not null then
          execute format(
            'create index directory_users_username_idx on directory_users
             using gin (lower(username) %I.gin_trgm_ops)', home);
        end if;
      end $$;
    `,
  },
  {
    version: 6,
    name: "per-user data keys",
    sql: `
      create table user_keys (
        subject text primary key,
        key bytea,
        created_at timestamptz not null default now(),
        erased_at timestamptz
      );
    `,
  },
  {
    version: 7,
    name: "username search without extensions",
    // Searches scan the seq index in order and stop at a page: with the lowered username and
    // the filtered columns in it, the scan reads the index alone. The trigram index goes: its
    // plans were slower (decision 50).
    sql: `
      alter table directory_users
        add column username_lower text generated always as (lower(username)) stored;
      drop index directory_users_seq_idx;
      create unique index directory_users_seq_idx on directory_users (generation, seq)
        include (username_lower, role, disabled, disabled_until);
      drop index if exists directory_users_username_idx;
    `,
  },
  {
    version: 8,
    name: "hash chain links in PL/pgSQL",
    // The same bytes as version 3's function. A SQL function whose argument is used twice is not
    // inlined when that argument is costly, and then every one-row append planned the helper
    // six times; a PL/pgSQL function keeps its plan for the session (decision 44).
    sql: `
      create or replace function authlog_link_hash(
        previous bytea, stream_id text, version int, type text, data jsonb, metadata jsonb,
        recorded_at timestamptz
      ) returns bytea
        language plpgsql stable parallel safe
        as $$
        declare
          s bytea := convert_to(stream_id, 'UTF8');
          v bytea := convert_to(version::text, 'UTF8');
          t bytea := convert_to(type, 'UTF8');
          d bytea := convert_to(data::text, 'UTF8');
          m bytea := convert_to(metadata::text, 'UTF8');
          r bytea := convert_to(((extract(epoch from recorded_at) * 1000000)::bigint)::text, 'UTF8');
        begin
          return sha256(previous || int4send(length(s)) || s || int4send(length(v)) || v
            || int4send(length(t)) || t || int4send(length(d)) || d
            || int4send(length(m)) || m || int4send(length(r)) || r);
        end $$;
    `,
  },
];

/**
 * `create schema if not exists` is not safe to run from two sessions at once (both may try to
 * insert the schema's row), so instances starting together take turns on a lock first.
 */
export const ensureSchema = (sql: Sql, schema: string) =>
  sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('authlog.schema.' || ${schema}))`;
    await tx.unsafe(`create schema if not exists ${quoteIdentifier(schema)}`);
  });

/** An advisory lock per schema lets instances start together: the first migrates, others wait. */
export const migrate = (sql: Sql): Promise<readonly number[]> =>
  sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('authlog.migrations.' || current_schema()))`;
    await tx`
      create table if not exists schema_migrations (
        version int primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`;
    const rows = await tx<{ version: number }[]>`select version from schema_migrations`;
    const applied = new Set(rows.map((row) => row.version));
    const pending = migrations.filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await tx.unsafe(migration.sql);
      await tx`insert into schema_migrations (version, name)
               values (${migration.version}, ${migration.name})`;
    }
    return pending.map((m) => m.version);
  });

/** A pool for a layer's lifetime, on its schema, which is made first when missing. */
export const scopedSql = <E>(options: PostgresOptions, unavailable: (cause: unknown) => E) =>
  Effect.gen(function* () {
    const sql = yield* Effect.acquireRelease(
      Effect.sync(() => createSql(options)),
      (sql) => Effect.promise(() => sql.end({ timeout: 5 })),
    );
    const schema = options.schema;
    if (schema !== undefined) {
      yield* Effect.tryPromise({ try: () => ensureSchema(sql, schema), catch: unavailable });
    }
    return sql;
  });
