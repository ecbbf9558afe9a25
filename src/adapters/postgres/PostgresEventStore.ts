import { Effect, Fiber, Layer } from "effect";
import type postgres from "postgres";
import {
  type AppendOptions,
  type AppendResult,
  type Checkpoint,
  ClaimTaken,
  type EventData,
  EventStore,
  type Metadata,
  type NewEvent,
  type ReadFilter,
  type RecordedEvent,
  type StoredEvent,
  type StoredLink,
  type StoreUnavailable,
  type StreamAppend,
  VersionConflict,
} from "../../application/ports/EventStore.ts";
import { sealStream } from "../../domain/LogSeal.ts";
import { genesis, merkle } from "../chain/hashChain.ts";
import type { PostgresOptions, Sql } from "./client.ts";
import { migrate, scopedSql } from "./migrations.ts";
import { defaultQueryTimeoutMs, queryBounds, unavailable } from "./queries.ts";

type EventRow = {
  readonly transaction_id: string;
  readonly position: string;
  readonly stream_id: string;
  readonly version: number;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Metadata;
  readonly recorded_at: Date;
};

type AppendedRow = {
  readonly position: string;
  readonly version: number;
  readonly recorded_at: Date;
};

const isUniqueViolation = (error: unknown, constraint: string): error is postgres.PostgresError =>
  typeof error === "object" &&
  error !== null &&
  "code" in error &&
  error.code === "23505" &&
  "constraint_name" in error &&
  error.constraint_name === constraint;

const toRecorded = (row: EventRow): RecordedEvent => ({
  streamId: row.stream_id,
  version: row.version,
  position: Number(row.position),
  type: row.type,
  data: row.data,
  metadata: row.metadata,
  recordedAt: row.recorded_at,
});

/**
 * A snapshot (`xmin:xmax:xip,...`) all of whose events were read, or mid-read
 * `base|target|xid:position`: all of `base`, plus `target`'s up to that row (decision 28).
 */
type Cursor = {
  readonly base: string;
  readonly target: string | null;
  readonly after: readonly [bigint, bigint];
};

const startSnapshot = "1:1:";
const snapshotPattern = /^(\d+):(\d+):([\d,]*)$/;

const parseCheckpoint = (checkpoint: Checkpoint): Effect.Effect<Cursor> => {
  const [base = "", target, row] = (checkpoint === "" ? startSnapshot : checkpoint).split("|");
  const at = row === undefined ? null : /^(\d+):(\d+)$/.exec(row);
  const valid =
    snapshotPattern.test(base) &&
    (target === undefined || (snapshotPattern.test(target) && at?.[1] && at[2]));
  if (!valid) {
    return Effect.die(new Error(`not a PostgreSQL event store checkpoint: ${checkpoint}`));
  }
  return Effect.succeed({
    base,
    target: target ?? null,
    after: at?.[1] && at[2] ? [BigInt(at[1]), BigInt(at[2])] : [0n, 0n],
  });
};

const snapshotParts = (snapshot: string) => {
  const [xmin = "1", xmax = "1", xip = ""] = snapshot.split(":");
  return { xmin: BigInt(xmin), xmax: BigInt(xmax), xip: xip === "" ? [] : xip.split(",") };
};

const laterRow = (a: readonly [bigint, bigint], b: readonly [bigint, bigint]) =>
  a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]) ? a : b;

const nul = Buffer.from([0]);
const empty = Buffer.alloc(0);
const comma = Buffer.from(",");
const open = Buffer.from("[");
const close = Buffer.from("]");
const jsonNull = Buffer.from("null");

type RawRow = readonly Uint8Array[];

/** A column of raw rows decoded in one step: text joined on NUL (which text never holds). */
const texts = (rows: readonly RawRow[], column: number): string[] =>
  Buffer.concat(rows.flatMap((row) => [row[column] ?? empty, nul]))
    .toString()
    .split("\0", rows.length);

const jsons = (rows: readonly RawRow[], column: number): unknown[] => {
  const parts: Uint8Array[] = [open];
  for (const row of rows) parts.push(row[column] ?? jsonNull, comma);
  parts[parts.length - 1] = close;
  return rows.length === 0 ? [] : (JSON.parse(Buffer.concat(parts).toString()) as unknown[]);
};

const rawEventData = (rows: readonly RawRow[]): EventData[] => {
  const types = texts(rows, 0);
  const data = jsons(rows, 1);
  return types.map((type, i) => ({ type, data: data[i] }));
};

type DataAggregate = {
  readonly count: number;
  readonly xid: string;
  readonly position: string;
  readonly types: string;
  readonly data: string;
  readonly times: string | null;
};

/** A page as read: its events and the key of its last row, if any. */
type Fetched<A> = {
  readonly events: readonly A[];
  readonly last: readonly [string, string] | null;
};

const eventData = (page: DataAggregate, timed: ReadonlySet<string>): EventData[] => {
  const types = JSON.parse(page.types) as string[];
  const data = JSON.parse(page.data) as unknown[];
  // The commit times of the timed types, in order.
  const times = page.times === null ? [] : (JSON.parse(page.times) as number[]);
  let next = 0;
  return types.map((type, i) =>
    timed.has(type)
      ? { type, data: data[i], recordedAtMs: times[next++] ?? 0 }
      : { type, data: data[i] },
  );
};

const scanBatch = 1_000;
const linkBatch = 2_000;
const genesisBytes = Buffer.from(genesis);
const utf8 = new TextEncoder();
const claimTakenKey = (error: postgres.PostgresError): string | undefined =>
  /^Key \(key\)=\((.*)\) already exists\.$/s.exec(error.detail ?? "")?.[1];

/** One statement per append, no lock: unique (stream_id, version) and claim keys settle races. */
export const makePostgresEventStore = (
  sql: Sql,
  queryTimeoutMs = defaultQueryTimeoutMs,
): Effect.Effect<EventStore["Service"], StoreUnavailable> =>
  Effect.gen(function* () {
    const { bounded, read } = queryBounds(queryTimeoutMs);
    yield* Effect.tryPromise({ try: () => migrate(sql), catch: unavailable });
    const [{ schema } = { schema: "public" }] = yield* Effect.tryPromise({
      try: () => sql<{ schema: string }[]>`select current_schema() as schema`,
      catch: unavailable,
    });
    const channel = `events_${schema}`.slice(0, 63);

    // After commit, one in flight: a NOTIFY inside the append serialises commits (decision 9).
    let notifying = false;
    let notifyAgain = false;
    const notify = (): void => {
      if (notifying) {
        notifyAgain = true;
        return;
      }
      notifying = true;
      sql
        .notify(channel, "")
        .catch(() => {})
        .finally(() => {
          notifying = false;
          if (notifyAgain) {
            notifyAgain = false;
            notify();
          }
        });
    };

    const currentVersion = (streamId: string) =>
      sql<{ version: number }[]>`
        select coalesce(max(version), 0)::int as version from events where stream_id = ${streamId}`.then(
        (rows) => rows[0]?.version ?? 0,
      );

    // One event links to the head; several chain through a recursive query, one after another.
    const single = (streamId: string) => sql`appended as (
          insert into events (stream_id, version, type, data, metadata, recorded_at, hash)
          select ${streamId}, guard.version + 1, input.type, input.data, meta.value, now(),
            authlog_link_hash(guard.hash, ${streamId}, guard.version + 1, input.type, input.data,
              meta.value, now())
          from guard, input, meta`;
    const chained = (streamId: string) => sql`chain as (
          select 0 as ord, version, hash from guard
          union all
          select input.ord, chain.version + 1, authlog_link_hash(chain.hash, ${streamId},
            chain.version + 1, input.type, input.data, meta.value, now())
          from chain join input on input.ord = chain.ord + 1, meta
        ), appended as (
          insert into events (stream_id, version, type, data, metadata, recorded_at, hash)
          select ${streamId}, chain.version, input.type, input.data, meta.value, now(), chain.hash
          from chain join input on input.ord = chain.ord, meta`;

    // `start` yields no row unless the stream is at `expected`, so a stale append inserts nothing;
    // a claim key owned by another stream fails the whole statement with 23505. `chain` links
    // each new event to the one before it, starting from the head this statement read.
    const insert = (
      streamId: string,
      events: readonly NewEvent[],
      expected: number,
      metadata: Metadata,
      claims: readonly string[],
      query: Sql | postgres.TransactionSql = sql,
    ) =>
      query<AppendedRow[]>`
        with recursive head as (
          select version, hash from events where stream_id = ${streamId} order by version desc limit 1
        ), start as (
          select coalesce((select version from head), 0) as version,
            coalesce((select hash from head), ${genesisBytes}::bytea) as hash
        ), guard as (
          select version, hash from start where version = ${expected}::int
        ), meta as (
          select ${sql.json(metadata)}::jsonb as value
        ), input as (
          select e.value->>'type' as type, e.value->'data' as data, e.ord::int as ord
          from jsonb_array_elements(${sql.json(
            events.map((event) => ({
              type: event.type,
              data: event.data ?? null,
            })) as postgres.JSONValue,
          )}) with ordinality as e(value, ord)
        ), ${events.length === 1 ? single(streamId) : chained(streamId)}
          returning position, version, recorded_at
        ), claimed as (
          insert into claims (key, stream_id)
          select c.key, ${streamId}
          from jsonb_array_elements_text(${sql.json(claims as string[])}) as c(key)
          where exists (select from appended)
            and not exists (select from claims owned where owned.key = c.key and owned.stream_id = ${streamId})
        )
        select position, version, recorded_at from appended order by version`;

    const takenKey = async (
      error: postgres.PostgresError,
      streamId: string,
      claims: readonly string[],
    ): Promise<string> => {
      if (claims.length === 1 && claims[0] !== undefined) return claims[0];
      const fromDetail = claimTakenKey(error);
      if (fromDetail !== undefined && claims.includes(fromDetail)) return fromDetail;
      const rows = await sql<{ key: string }[]>`
        select key from claims
        where key in ${sql(claims as string[])} and stream_id <> ${streamId}
        order by key limit 1`;
      return rows[0]?.key ?? claims[0] ?? "";
    };

    type Outcome =
      | { readonly ok: AppendResult }
      | { readonly conflict: true }
      | { readonly taken: string };

    const toResult = (
      streamId: string,
      events: readonly NewEvent[],
      metadata: Metadata,
      rows: readonly AppendedRow[],
    ): AppendResult => ({
      nextVersion: rows[rows.length - 1]?.version ?? 0,
      events: rows.map((row, i) => ({
        streamId,
        version: row.version,
        position: Number(row.position),
        type: events[i]?.type ?? "",
        data: events[i]?.data ?? null,
        metadata,
        recordedAt: row.recorded_at,
      })),
    });

    const attempt = async (
      streamId: string,
      events: readonly NewEvent[],
      options: AppendOptions,
      claims: readonly string[],
    ): Promise<Outcome> => {
      const metadata = options.metadata ?? {};
      try {
        const rows = await insert(streamId, events, options.expectedVersion, metadata, claims);
        if (rows.length === 0) return { conflict: true };
        return { ok: toResult(streamId, events, metadata, rows) };
      } catch (error) {
        if (isUniqueViolation(error, "events_stream_version_key")) return { conflict: true };
        if (isUniqueViolation(error, "claims_pkey")) {
          return { taken: await takenKey(error, streamId, claims) };
        }
        throw error;
      }
    };

    const append: EventStore["Service"]["append"] = (streamId, events, options) =>
      Effect.gen(function* () {
        const conflict = new VersionConflict({
          streamId,
          expectedVersion: options.expectedVersion,
        });
        if (events.length === 0) {
          const version = yield* read(() => currentVersion(streamId));
          if (options.expectedVersion !== version) {
            return yield* conflict;
          }
          return { nextVersion: version, events: [] };
        }
        const claims = [...new Set(options.claims ?? [])];
        const outcome = yield* bounded(() => attempt(streamId, events, options, claims));
        if ("taken" in outcome) return yield* new ClaimTaken({ key: outcome.taken });
        if (!("ok" in outcome)) return yield* conflict;
        notify();
        return outcome.ok;
      });

    class Moved {
      constructor(readonly streamId: string) {}
    }

    type ManyOutcome =
      | { readonly ok: ReadonlyMap<string, AppendResult> }
      | { readonly conflict: string }
      | { readonly taken: string };

    // One transaction, streams in id order, so two multi-stream appends never deadlock.
    const attemptMany = async (
      appends: readonly StreamAppend[],
      metadata: Metadata,
    ): Promise<ManyOutcome> => {
      const ordered = [...appends].sort((a, b) => (a.streamId < b.streamId ? -1 : 1));
      let current: StreamAppend | undefined;
      try {
        const results = await sql.begin(async (tx) => {
          const done = new Map<string, AppendResult>();
          for (const entry of ordered) {
            current = entry;
            const claims = [...new Set(entry.claims ?? [])];
            const rows = await insert(
              entry.streamId,
              entry.events,
              entry.expectedVersion,
              metadata,
              claims,
              tx,
            );
            if (rows.length === 0) throw new Moved(entry.streamId);
            done.set(entry.streamId, toResult(entry.streamId, entry.events, metadata, rows));
          }
          return done;
        });
        return { ok: results };
      } catch (error) {
        if (error instanceof Moved) return { conflict: error.streamId };
        if (current && isUniqueViolation(error, "events_stream_version_key")) {
          return { conflict: current.streamId };
        }
        if (current && isUniqueViolation(error, "claims_pkey")) {
          const claims = [...new Set(current.claims ?? [])];
          return { taken: await takenKey(error, current.streamId, claims) };
        }
        throw error;
      }
    };

    const appendMany: EventStore["Service"]["appendMany"] = (appends, metadata = {}) =>
      Effect.gen(function* () {
        const ids = new Set(appends.map((entry) => entry.streamId));
        if (ids.size !== appends.length || appends.some((entry) => entry.events.length === 0)) {
          return yield* Effect.die(
            new Error("appendMany needs distinct streams, each with events"),
          );
        }
        const outcome = yield* bounded(() => attemptMany(appends, metadata));
        if ("taken" in outcome) return yield* new ClaimTaken({ key: outcome.taken });
        if ("conflict" in outcome) {
          const moved = outcome.conflict;
          const entry = appends.find((candidate) => candidate.streamId === moved);
          return yield* new VersionConflict({
            streamId: moved,
            expectedVersion: entry?.expectedVersion ?? 0,
          });
        }
        notify();
        return appends.map(
          (entry) => outcome.ok.get(entry.streamId) ?? { nextVersion: 0, events: [] },
        );
      });

    const filtered = (filter: ReadFilter) => sql`
      ${filter.types ? sql`and type = any(${sql.array([...filter.types])})` : sql``}
      ${
        filter.liveAt === undefined
          ? sql``
          : sql`and case jsonb_typeof(data->'expiresAt')
              when 'number' then (data->'expiresAt')::numeric > ${filter.liveAt}
              else true end`
      }`;

    const currentSnapshot = read(
      () => sql<{ snapshot: string }[]>`select pg_current_snapshot()::text as snapshot`,
    ).pipe(Effect.map((rows) => rows[0]?.snapshot ?? startSnapshot));

    // Visible in `target`, not in `base`: the transactions `base` saw running, then every later
    // one, merged in (transaction id, position) order; both branches are ordered index scans.
    const delta = (
      cursor: Cursor,
      target: string,
      columns: postgres.PendingQuery<postgres.Row[]>,
      limit: number,
      filter: ReadFilter = {},
    ) => {
      const base = snapshotParts(cursor.base);
      const visible = sql`pg_visible_in_snapshot(transaction_id, ${target}::pg_snapshot)`;
      const branch = (
        where: postgres.PendingQuery<postgres.Row[]>,
        after: readonly [bigint, bigint],
      ) => sql`
        select transaction_id as xid, position as pos, stream_id, version, type, data, metadata, recorded_at
        from events
        where ${where} and (transaction_id, position) > (${String(after[0])}::xid8, ${String(after[1])}::bigint)
          and ${visible} ${filtered(filter)}`;
      const running =
        base.xip.length === 0
          ? sql``
          : sql`${branch(sql`transaction_id = any(${sql.array(base.xip)}::xid8[])`, cursor.after)} union all`;
      return sql`
        select xid::text as transaction_id, pos as position, ${columns}
        from (${running} ${branch(sql`true`, laterRow(cursor.after, [base.xmax, 0n]))}) page
        order by xid, pos
        limit ${limit}`;
    };

    const readPage = <A>(
      after: Checkpoint,
      limit: number,
      query: (cursor: Cursor, target: string) => Promise<Fetched<A>>,
    ): Effect.Effect<{ events: readonly A[]; checkpoint: Checkpoint }, StoreUnavailable> =>
      Effect.gen(function* () {
        const cursor = yield* parseCheckpoint(after);
        const target = cursor.target ?? (yield* currentSnapshot);
        const { events, last } = yield* read(() => query(cursor, target));
        // A full page's target read to its end: what committed since is read from it at once,
        // so a caller that keeps the checkpoint of its last non-empty page never stops there.
        if (events.length === 0 && cursor.target !== null) {
          return yield* readPage(cursor.target, limit, query);
        }
        const checkpoint =
          events.length < limit || last === null
            ? target
            : `${cursor.base}|${target}|${last.join(":")}`;
        return { events, checkpoint };
      });

    // Ordered index scans, streamed: the log is never held in memory.
    const walk = <Row extends object, E, R>(
      query: postgres.PendingQuery<Row[]>,
      onBatch: (rows: readonly Row[]) => Effect.Effect<void, E, R>,
    ) =>
      Effect.gen(function* () {
        const batches = query.cursor(linkBatch)[Symbol.asyncIterator]();
        const next = bounded(() => batches.next());
        yield* Effect.gen(function* () {
          let pending = yield* Effect.forkChild(next);
          for (;;) {
            const batch = yield* Fiber.join(pending);
            if (batch.done) return;
            pending = yield* Effect.forkChild(next);
            yield* onBatch(batch.value);
          }
        }).pipe(
          Effect.ensuring(
            Effect.tryPromise(async () => {
              await batches.return?.();
            }).pipe(Effect.ignore),
          ),
        );
      });

    type LinkRow = {
      readonly stream_id: string;
      readonly version: number;
      readonly position: string;
      readonly type: string;
      readonly data: string;
      readonly metadata: string;
      readonly micros: string;
      readonly hash: Buffer | null;
    };

    const toLink = (row: LinkRow): StoredLink => ({
      streamId: row.stream_id,
      version: row.version,
      position: Number(row.position),
      type: row.type,
      fields: [
        utf8.encode(row.stream_id),
        utf8.encode(String(row.version)),
        utf8.encode(row.type),
        utf8.encode(row.data),
        utf8.encode(row.metadata),
        utf8.encode(row.micros),
      ],
      hash: row.hash ?? empty,
    });

    const links: EventStore["Service"]["links"] = (onBatch) =>
      walk(
        sql<LinkRow[]>`
          select stream_id, version, position, type, data::text as data, metadata::text as metadata,
            ((extract(epoch from recorded_at) * 1000000)::bigint)::text as micros, hash
          from events order by stream_id, version`,
        (rows) => onBatch(rows.map(toLink)),
      );

    // While the share lock waits for every append in flight and holds new ones back, the
    // highest position is one below which nothing can commit later.
    const sealPoint = Effect.gen(function* () {
      const upTo = yield* bounded(() =>
        sql.begin(async (tx) => {
          await tx`set local lock_timeout = '2s'`;
          await tx`lock table events in share mode`;
          const rows = await tx<{ up_to: string }[]>`
            select coalesce(max(position), 0)::text as up_to from events`;
          return Number(rows[0]?.up_to ?? 0);
        }),
      );
      const tree = merkle();
      // Each stream's head only: the server skips the rest of the stream's rows.
      yield* walk(
        sql<{ stream_id: string; hash: Buffer }[]>`
          select distinct on (stream_id) stream_id, hash from events where position <= ${upTo}
          order by stream_id, version desc`,
        (rows) =>
          Effect.sync(() => {
            for (const row of rows) tree.add(utf8.encode(row.stream_id), row.hash);
          }),
      );
      const [seals] = yield* read(
        () => sql<{ version: number; position: string }[]>`
          select coalesce(max(version), 0)::int as version, coalesce(max(position), 0)::text as position
          from events where stream_id = ${sealStream}`,
      );
      return {
        upTo,
        streams: tree.count,
        root: tree.root(),
        sealVersion: seals?.version ?? 0,
        sealPosition: Number(seals?.position ?? 0),
      };
    });

    const plainAt = (column: "data" | "metadata", name: string, prefix: string) =>
      sql`(jsonb_typeof(${sql(column)}->${name}) = 'string'
        and not starts_with(${sql(column)}->>${name}, ${prefix}))`;

    const holdingPlain: EventStore["Service"]["holdingPlain"] = (fields, after, limit) => {
      const tests = [
        ...fields.data.map((name) => plainAt("data", name, fields.sealedPrefix)),
        ...fields.metadata.map((name) => plainAt("metadata", name, fields.sealedPrefix)),
      ];
      const any = tests.reduce((all, test) => sql`${all} or ${test}`, sql`false`);
      return read(
        () => sql<
          {
            position: string;
            stream_id: string;
            version: number;
            data: unknown;
            metadata: Metadata;
          }[]
        >`
          select position, stream_id, version, data, metadata from events
          where position > ${after} and (${any})
          order by position limit ${limit}`,
      ).pipe(
        Effect.map((rows) =>
          rows.map(
            (row): StoredEvent => ({
              streamId: row.stream_id,
              version: row.version,
              position: Number(row.position),
              data: row.data,
              metadata: row.metadata,
            }),
          ),
        ),
      );
    };

    // Appends read the head without a lock, so only a table lock keeps one from chaining onto
    // a hash this transaction is replacing; reads go on, appends wait for the commit.
    const rewrite: EventStore["Service"]["rewrite"] = (rewrites) =>
      rewrites.length === 0
        ? Effect.succeed(0)
        : bounded(() =>
            sql.begin(async (tx) => {
              await tx`set local lock_timeout = '2s'`;
              await tx`lock table events in share row exclusive mode`;
              const changes = rewrites.map(({ event, data, metadata }) => ({
                stream_id: event.streamId,
                version: event.version,
                data,
                metadata,
                before_data: event.data,
                before_metadata: event.metadata,
              }));
              const changed = await tx<{ stream_id: string; version: number }[]>`
                update events e set data = c.data, metadata = c.metadata
                from jsonb_to_recordset(${sql.json(changes as postgres.JSONValue)}) as c(
                  stream_id text, version int, data jsonb, metadata jsonb,
                  before_data jsonb, before_metadata jsonb)
                where e.stream_id = c.stream_id and e.version = c.version
                  and e.data = c.before_data and e.metadata = c.before_metadata
                returning e.stream_id, e.version`;
              const starts = new Map<string, number>();
              for (const row of changed) {
                starts.set(
                  row.stream_id,
                  Math.min(starts.get(row.stream_id) ?? row.version, row.version),
                );
              }
              if (starts.size === 0) return 0;
              const from = [...starts].map(([stream_id, version]) => ({ stream_id, version }));
              await tx`
                with recursive start as (
                  select s.stream_id, s.version, coalesce(
                    (select hash from events p where p.stream_id = s.stream_id and p.version = s.version - 1),
                    ${genesisBytes}::bytea) as previous
                  from jsonb_to_recordset(${sql.json(from)}) as s(stream_id text, version int)
                ), chain as (
                  select e.position, e.stream_id, e.version, authlog_link_hash(start.previous,
                    e.stream_id, e.version, e.type, e.data, e.metadata, e.recorded_at) as hash
                  from start join events e on e.stream_id = start.stream_id and e.version = start.version
                  union all
                  select e.position, e.stream_id, e.version, authlog_link_hash(chain.hash,
                    e.stream_id, e.version, e.type, e.data, e.metadata, e.recorded_at)
                  from chain join events e on e.stream_id = chain.stream_id and e.version = chain.version + 1
                )
                update events set hash = chain.hash from chain where events.position = chain.position`;
              return changed.length;
            }),
          );

    return EventStore.of({
      append,
      holdingPlain,
      rewrite,
      appendMany,
      lastOf: (streamId) =>
        read(
          () => sql<EventRow[]>`
            select transaction_id::text, position, stream_id, version, type, data, metadata, recorded_at
            from events where stream_id = ${streamId} order by version desc limit 1`,
        ).pipe(Effect.map((rows) => (rows[0] ? toRecorded(rows[0]) : null))),
      links,
      sealPoint,
      readStream: (streamId) =>
        read(
          () => sql<EventRow[]>`
            select transaction_id::text, position, stream_id, version, type, data, metadata, recorded_at
            from events where stream_id = ${streamId} order by version`,
        ).pipe(Effect.map((rows) => rows.map(toRecorded))),
      readStreams: (streamIds, filter = {}) =>
        read(
          () => sql<EventRow[]>`
            select transaction_id::text, position, stream_id, version, type, data, metadata, recorded_at
            from events where stream_id = any(${streamIds as string[]}) ${filtered(filter)}
            order by position`,
        ).pipe(Effect.map((rows) => rows.map(toRecorded))),
      streamsStartedWith: (type, field, value) =>
        read(
          () => sql<{ stream_id: string }[]>`
            select stream_id from events
            where version = 1 and type = ${type} and data @> ${sql.json({ [field]: value })}
            order by position`,
        ).pipe(Effect.map((rows) => rows.map((row) => row.stream_id))),
      readAll: (after, limit, filter) =>
        readPage(after, limit, async (cursor, target) => {
          const rows = (await delta(
            cursor,
            target,
            sql`stream_id, version, type, data, metadata, recorded_at`,
            limit,
            filter,
          )) as unknown as EventRow[];
          const tail = rows[rows.length - 1];
          return {
            events: rows.map(toRecorded),
            last: tail ? [tail.transaction_id, tail.position] : null,
          };
        }),
      // The page as one row of JSON arrays, in the page's order: decoding a row at a time costs
      // the client more than the whole read costs the server (decision 51).
      readData: (after, limit, filter) =>
        readPage(after, limit, async (cursor, target) => {
          const timed = filter?.commitTimesOf ?? [];
          const [page] = await sql<DataAggregate[]>`
            select count(*)::int as count, max(xid)::text as xid,
              (array_agg(position))[count(*)]::text as position,
              json_agg(type)::text as types,
              json_agg(${
                filter?.unneeded?.length
                  ? sql`case jsonb_typeof(data) when 'object'
                      then data - ${sql.array([...filter.unneeded])}::text[] else data end`
                  : sql`data`
              })::text as data,
              ${
                timed.length === 0
                  ? sql`null`
                  : sql`json_agg((extract(epoch from recorded_at) * 1000)::float8)
                      filter (where type = any(${sql.array([...timed])}))::text`
              } as times
            from (${delta(cursor, target, sql`xid, type, data, recorded_at`, limit, filter)}) page`;
          return page === undefined || page.count === 0
            ? { events: [], last: null }
            : { events: eventData(page, new Set(timed)), last: [page.xid, page.position] };
        }),
      // Unordered, over everything one snapshot shows; ordered reads go on from that snapshot.
      scan: (filter, onBatch) =>
        Effect.gen(function* () {
          const snapshot = yield* currentSnapshot;
          const visible = (alias: string) =>
            sql`pg_visible_in_snapshot(${sql(alias)}.transaction_id, ${snapshot}::pg_snapshot)`;
          const batches = sql`
            select type, data from events
            where ${visible("events")} ${filtered(filter)}
            ${
              filter.latestPerStream
                ? sql`and not exists (
                    select from events later
                    where later.stream_id = events.stream_id and later.version > events.version
                      and ${visible("later")}
                      ${filter.types ? sql`and later.type = any(${sql.array([...filter.types])})` : sql``})`
                : sql``
            }`
            .raw()
            .cursor(scanBatch)
            [Symbol.asyncIterator]();
          const next = bounded(() => batches.next());
          yield* Effect.gen(function* () {
            let pending = yield* Effect.forkChild(next);
            for (;;) {
              const batch = yield* Fiber.join(pending);
              if (batch.done) return;
              pending = yield* Effect.forkChild(next);
              yield* onBatch(rawEventData(batch.value));
            }
          }).pipe(
            Effect.ensuring(
              Effect.tryPromise(async () => {
                await batches.return?.();
              }).pipe(Effect.ignore),
            ),
          );
          return snapshot;
        }),
      size: read(() => sql<{ count: string }[]>`select count(*) as count from events`).pipe(
        Effect.map((rows) => Number(rows[0]?.count ?? 0)),
      ),
      findClaim: (key) =>
        read(
          () => sql<{ stream_id: string }[]>`select stream_id from claims where key = ${key}`,
        ).pipe(Effect.map((rows) => rows[0]?.stream_id ?? null)),
      subscribe: (onAppend) =>
        Effect.acquireRelease(
          bounded(() => sql.listen(channel, () => onAppend())),
          (listening) => Effect.promise(() => listening.unlisten().catch(() => {})),
        ).pipe(Effect.asVoid),
    });
  });

export const PostgresEventStoreLayer = (sql: Sql) =>
  Layer.effect(EventStore, makePostgresEventStore(sql));

export const PostgresEventStoreFromUrl = (options: PostgresOptions) =>
  Layer.effect(
    EventStore,
    Effect.flatMap(scopedSql(options, unavailable), (sql) => makePostgresEventStore(sql)),
  );
