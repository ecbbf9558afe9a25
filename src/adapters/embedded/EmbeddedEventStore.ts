import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Context, Effect, Layer } from "effect";
import { DataKeys, type StoredKey } from "../../application/ports/DataKeys.ts";
import {
  type AppendResult,
  type Checkpoint,
  ClaimTaken,
  EventStore,
  type Metadata,
  type ReadFilter,
  type RecordedEvent,
  type Rewrite,
  type StoredEvent,
  type StoredLink,
  StoreUnavailable,
  type StreamAppend,
  VersionConflict,
} from "../../application/ports/EventStore.ts";
import { sealStream } from "../../domain/LogSeal.ts";
import { genesis, linkHash, merkle, textFields } from "../chain/hashChain.ts";

const utf8 = new TextEncoder();
const empty = new Uint8Array(0);

type EventRow = {
  readonly position: number;
  readonly stream_id: string;
  readonly version: number;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
  readonly recorded_at: number;
  readonly hash: Uint8Array | null;
};

const migrations: readonly string[] = [
  `create table events (
     position integer primary key autoincrement,
     stream_id text not null,
     version integer not null,
     type text not null,
     data text not null,
     metadata text not null,
     recorded_at integer not null,
     unique (stream_id, version)
   );
   create table claims (
     key text primary key,
     stream_id text not null,
     claimed_at integer not null
   );`,
  "alter table events add column hash blob",
  "create table user_keys (subject text primary key, key blob, erased_at integer)",
];

const micros = (recordedAtMs: number) => BigInt(recordedAtMs) * 1000n;

const fieldsOf = (row: EventRow) =>
  textFields(row.stream_id, row.version, row.type, row.data, row.metadata, micros(row.recorded_at));

/** Events stored before hash chains get theirs, stream by stream in version order. */
const chainExisting = (db: Database) => {
  const update = db.query<never, [Uint8Array, number]>(
    "update events set hash = ? where position = ?",
  );
  let previous: { stream: string; hash: Uint8Array } | undefined;
  for (const row of db
    .query<EventRow, []>("select * from events order by stream_id, version")
    .iterate()) {
    const before = previous?.stream === row.stream_id ? previous.hash : genesis;
    const hash = linkHash(before, fieldsOf(row));
    update.run(hash, row.position);
    previous = { stream: row.stream_id, hash };
  }
};

const migrate = (db: Database) => {
  const { user_version } = db.query<{ user_version: number }, []>("pragma user_version").get() ?? {
    user_version: 0,
  };
  db.transaction(() => {
    migrations.slice(user_version).forEach((sql, i) => {
      db.run(sql);
      if (sql.includes("add column hash")) chainExisting(db);
      db.run(`pragma user_version = ${user_version + i + 1}`);
    });
  }).immediate();
};

const toRecorded = (row: EventRow): RecordedEvent => ({
  streamId: row.stream_id,
  version: row.version,
  position: row.position,
  type: row.type,
  data: JSON.parse(row.data),
  metadata: JSON.parse(row.metadata) as Metadata,
  recordedAt: new Date(row.recorded_at),
});

const unavailable = (cause: unknown) => new StoreUnavailable({ cause });

type Outcome =
  | { readonly ok: AppendResult }
  | { readonly conflict: true }
  | { readonly taken: string };

export type EmbeddedEventStore = {
  readonly store: EventStore["Service"];
  readonly dataKeys: DataKeys["Service"];
  readonly close: () => void;
};

/** Appends run in an immediate transaction, so positions follow commit order. */
export const openEmbeddedEventStore = (path: string): EmbeddedEventStore => {
  const db = new Database(path, { create: true, strict: true });
  try {
    // One process per file: a second would never see the revocations held in this one's memory.
    db.run("pragma locking_mode = exclusive");
    db.run("pragma busy_timeout = 1000");
    db.run("pragma journal_mode = wal");
    // FULL: an acknowledged revocation survives a power cut, not only a crash of the process.
    db.run("pragma synchronous = full");
    // A destroyed data key is overwritten in place, not left in a free page.
    db.run("pragma secure_delete = on");
    migrate(db);
  } catch (error) {
    db.close();
    throw String(error).includes("locked")
      ? new Error(`${path} is in use by another process`)
      : error;
  }

  const headOf = db.query<{ version: number; hash: Uint8Array }, [string]>(
    "select version, hash from events where stream_id = ? order by version desc limit 1",
  );
  const ownerOf = db.query<{ stream_id: string }, [string]>(
    "select stream_id from claims where key = ?",
  );
  const insertEvent = db.query<
    { position: number },
    [string, number, string, string, string, number, Uint8Array]
  >(
    `insert into events (stream_id, version, type, data, metadata, recorded_at, hash)
     values (?, ?, ?, ?, ?, ?, ?) returning position`,
  );
  const insertClaim = db.query<never, [string, string, number]>(
    "insert into claims (key, stream_id, claimed_at) values (?, ?, ?) on conflict (key) do nothing",
  );
  const byStream = db.query<EventRow, [string]>(
    "select * from events where stream_id = ? order by version",
  );
  // ?2 and ?3 as in `after`.
  const ofStreams = db.query<EventRow, [string, string | null, number | null]>(
    `select * from events
     where stream_id in (select value from json_each(?1))
       and (?2 is null or type in (select value from json_each(?2)))
       and (?3 is null
         or coalesce(json_type(data, '$.expiresAt'), '') not in ('integer', 'real')
         or json_extract(data, '$.expiresAt') > ?3)
     order by position`,
  );
  const startedWith = db.query<{ stream_id: string }, [string, string, string]>(
    `select stream_id from events
     where version = 1 and type = ?1 and json_extract(data, '$.' || json_quote(?2)) = ?3
     order by position`,
  );
  const count = db.query<{ count: number }, []>("select count(*) as count from events");
  // ?2: the types as a JSON array, or null for all; ?3: ReadFilter.liveAt, or null.
  const after = db.query<EventRow, [number, string | null, number | null, number]>(
    `select * from events
     where position > ?1
       and (?2 is null or type in (select value from json_each(?2)))
       and (?3 is null
         or coalesce(json_type(data, '$.expiresAt'), '') not in ('integer', 'real')
         or json_extract(data, '$.expiresAt') > ?3)
     order by position limit ?4`,
  );

  const readPage = <A>(
    checkpoint: Checkpoint,
    limit: number,
    filter: ReadFilter = {},
    decode: (rows: EventRow[]) => readonly A[],
  ) =>
    Effect.gen(function* () {
      const from = checkpoint === "" ? 0 : Number(checkpoint);
      if (!Number.isSafeInteger(from)) {
        return yield* Effect.die(
          new Error(`not an embedded event store checkpoint: ${checkpoint}`),
        );
      }
      return yield* Effect.try({
        try: () => {
          const types = filter.types ? JSON.stringify(filter.types) : null;
          const rows = after.all(from, types, filter.liveAt ?? null, limit);
          const last = rows[rows.length - 1];
          return { events: decode(rows), checkpoint: last ? String(last.position) : checkpoint };
        },
        catch: unavailable,
      });
    });

  const newest = db.query<{ position: number }, []>(
    "select coalesce(max(position), 0) as position from events",
  );
  // ?2 and ?3 as in `after`; ?4: only the newest of each stream among the types; ?5: the end.
  const scanPage = db.query<
    Pick<EventRow, "position" | "type" | "data">,
    [number, string | null, number | null, number, number, number]
  >(
    `select position, type, data from events
     where position > ?1 and position <= ?5
       and (?2 is null or type in (select value from json_each(?2)))
       and (?3 is null
         or coalesce(json_type(data, '$.expiresAt'), '') not in ('integer', 'real')
         or json_extract(data, '$.expiresAt') > ?3)
       and (?4 = 0 or not exists (
         select 1 from events later
         where later.stream_id = events.stream_id and later.version > events.version
           and later.position <= ?5
           and (?2 is null or later.type in (select value from json_each(?2)))))
     order by position limit ?6`,
  );

  const listeners = new Set<() => void>();

  const lastOf = db.query<EventRow, [string]>(
    "select * from events where stream_id = ? order by version desc limit 1",
  );
  const allInOrder = db.query<EventRow, []>("select * from events order by stream_id, version");
  // SQLite takes the other columns of an aggregate query from the row holding the max.
  const headsUpTo = db.query<{ stream_id: string; hash: Uint8Array | null }, [number]>(
    `select stream_id, hash, max(version) from events where position <= ?
     group by stream_id order by stream_id`,
  );
  const sealHead = db.query<{ version: number; position: number }, [string]>(
    `select coalesce(max(version), 0) as version, coalesce(max(position), 0) as position
     from events where stream_id = ?`,
  );
  const linkBatch = 2_000;

  const appendTransaction = db.transaction(
    (
      streamId: string,
      events: readonly { type: string; data: unknown }[],
      options: {
        expectedVersion: number;
        metadata: Metadata;
        claims: readonly string[];
      },
    ): Outcome => {
      const head = headOf.get(streamId);
      const current = head?.version ?? 0;
      if (options.expectedVersion !== current) {
        return { conflict: true };
      }
      if (events.length === 0) return { ok: { nextVersion: current, events: [] } };
      for (const key of options.claims) {
        const owner = ownerOf.get(key)?.stream_id;
        if (owner !== undefined && owner !== streamId) return { taken: key };
      }
      const now = Date.now();
      const metadata = JSON.stringify(options.metadata);
      let previous = head?.hash ?? genesis;
      const recorded = events.map((event, i): RecordedEvent => {
        const version = current + i + 1;
        const data = JSON.stringify(event.data ?? null);
        const fields = textFields(streamId, version, event.type, data, metadata, micros(now));
        previous = linkHash(previous, fields);
        const row = insertEvent.get(streamId, version, event.type, data, metadata, now, previous);
        return {
          streamId,
          version,
          position: row?.position ?? 0,
          type: event.type,
          data: event.data ?? null,
          metadata: options.metadata,
          recordedAt: new Date(now),
        };
      });
      for (const key of options.claims) insertClaim.run(key, streamId, now);
      return { ok: { nextVersion: current + events.length, events: recorded } };
    },
  );

  class Refused {
    constructor(
      readonly entry: StreamAppend,
      readonly outcome: Exclude<Outcome, { ok: AppendResult }>,
    ) {}
  }

  const appendManyTransaction = db.transaction(
    (appends: readonly StreamAppend[], metadata: Metadata): AppendResult[] =>
      appends.map((entry) => {
        const outcome = appendTransaction(entry.streamId, entry.events, {
          expectedVersion: entry.expectedVersion,
          metadata,
          claims: entry.claims ?? [],
        });
        if (!("ok" in outcome)) throw new Refused(entry, outcome);
        return outcome.ok;
      }),
  );

  const pathOf = (name: string) => `$.${JSON.stringify(name)}`;
  const holdingPlain: EventStore["Service"]["holdingPlain"] = (fields, after, limit) =>
    Effect.try({
      try: () => {
        const names = [
          ...fields.data.map((name) => ["data", name] as const),
          ...fields.metadata.map((name) => ["metadata", name] as const),
        ];
        const tests = names.map(
          ([column]) =>
            `(json_type(${column}, ?) = 'text' and substr(json_extract(${column}, ?), 1, ?) <> ?)`,
        );
        const params = names.flatMap(([, name]) => [
          pathOf(name),
          pathOf(name),
          fields.sealedPrefix.length,
          fields.sealedPrefix,
        ]);
        const rows = db
          .query<EventRow, (string | number)[]>(
            `select * from events where position > ? and (${["0", ...tests].join(" or ")})
             order by position limit ?`,
          )
          .all(after, ...params, limit);
        return rows.map(
          (row): StoredEvent => ({
            streamId: row.stream_id,
            version: row.version,
            position: row.position,
            data: JSON.parse(row.data),
            metadata: JSON.parse(row.metadata) as Metadata,
          }),
        );
      },
      catch: unavailable,
    });

  const replaceEvent = db.query<never, [string, string, string, number, string, string]>(
    `update events set data = ?, metadata = ?
     where stream_id = ? and version = ? and data = ? and metadata = ?`,
  );
  const hashAt = db.query<{ hash: Uint8Array | null }, [string, number]>(
    "select hash from events where stream_id = ? and version = ?",
  );
  const tailOf = db.query<EventRow, [string, number]>(
    "select * from events where stream_id = ? and version >= ? order by version",
  );
  const setHash = db.query<never, [Uint8Array, number]>(
    "update events set hash = ? where position = ?",
  );
  const rewriteTransaction = db.transaction((rewrites: readonly Rewrite[]) => {
    const starts = new Map<string, number>();
    let rewritten = 0;
    for (const { event, data, metadata } of rewrites) {
      const { changes } = replaceEvent.run(
        JSON.stringify(data ?? null),
        JSON.stringify(metadata),
        event.streamId,
        event.version,
        JSON.stringify(event.data ?? null),
        JSON.stringify(event.metadata),
      );
      if (changes > 0) {
        rewritten++;
        starts.set(
          event.streamId,
          Math.min(starts.get(event.streamId) ?? event.version, event.version),
        );
      }
    }
    for (const [streamId, from] of starts) {
      let previous = (from > 1 ? hashAt.get(streamId, from - 1)?.hash : null) ?? genesis;
      for (const row of tailOf.all(streamId, from)) {
        previous = linkHash(previous, fieldsOf(row));
        setHash.run(previous, row.position);
      }
    }
    return rewritten;
  });

  const store = EventStore.of({
    holdingPlain,
    rewrite: (rewrites) =>
      Effect.try({
        try: () => {
          const count = rewriteTransaction.immediate(rewrites);
          // The plain values' pages leave the write-ahead log too.
          db.run("pragma wal_checkpoint(truncate)");
          return count;
        },
        catch: unavailable,
      }),
    append: (streamId, events, options) =>
      Effect.gen(function* () {
        const outcome = yield* Effect.try({
          try: () =>
            appendTransaction.immediate(streamId, events, {
              expectedVersion: options.expectedVersion,
              metadata: options.metadata ?? {},
              claims: options.claims ?? [],
            }),
          catch: unavailable,
        });
        if ("taken" in outcome) return yield* new ClaimTaken({ key: outcome.taken });
        if ("conflict" in outcome) {
          return yield* new VersionConflict({ streamId, expectedVersion: options.expectedVersion });
        }
        if (outcome.ok.events.length > 0) {
          for (const listener of listeners) queueMicrotask(listener);
        }
        return outcome.ok;
      }),
    appendMany: (appends, metadata = {}) =>
      Effect.gen(function* () {
        const ids = new Set(appends.map((entry) => entry.streamId));
        if (ids.size !== appends.length || appends.some((entry) => entry.events.length === 0)) {
          return yield* Effect.die(
            new Error("appendMany needs distinct streams, each with events"),
          );
        }
        const outcome = yield* Effect.try({
          try: () => {
            try {
              return appendManyTransaction.immediate(appends, metadata);
            } catch (error) {
              if (error instanceof Refused) return error;
              throw error;
            }
          },
          catch: unavailable,
        });
        if (outcome instanceof Refused) {
          const { entry } = outcome;
          if ("taken" in outcome.outcome)
            return yield* new ClaimTaken({ key: outcome.outcome.taken });
          return yield* new VersionConflict({
            streamId: entry.streamId,
            expectedVersion: entry.expectedVersion,
          });
        }
        for (const listener of listeners) queueMicrotask(listener);
        return outcome;
      }),
    readStream: (streamId) =>
      Effect.try({
        try: () => byStream.all(streamId).map(toRecorded),
        catch: unavailable,
      }),
    readStreams: (streamIds, filter = {}) =>
      Effect.try({
        try: () =>
          ofStreams
            .all(
              JSON.stringify(streamIds),
              filter.types ? JSON.stringify(filter.types) : null,
              filter.liveAt ?? null,
            )
            .map(toRecorded),
        catch: unavailable,
      }),
    streamsStartedWith: (type, field, value) =>
      Effect.try({
        try: () => startedWith.all(type, field, value).map((row) => row.stream_id),
        catch: unavailable,
      }),
    readAll: (checkpoint, limit, filter) =>
      readPage(checkpoint, limit, filter, (rows) => rows.map(toRecorded)),
    readData: (checkpoint, limit, filter) => {
      const timed = new Set(filter?.commitTimesOf);
      return readPage(checkpoint, limit, filter, (rows) =>
        rows.map((row) =>
          timed.has(row.type)
            ? { type: row.type, data: JSON.parse(row.data), recordedAtMs: row.recorded_at }
            : { type: row.type, data: JSON.parse(row.data) },
        ),
      );
    },
    scan: (filter, onBatch) =>
      Effect.gen(function* () {
        const end = yield* Effect.try({
          try: () => newest.get()?.position ?? 0,
          catch: unavailable,
        });
        const types = filter.types ? JSON.stringify(filter.types) : null;
        let from = 0;
        for (;;) {
          const rows = yield* Effect.try({
            try: () =>
              scanPage.all(
                from,
                types,
                filter.liveAt ?? null,
                filter.latestPerStream ? 1 : 0,
                end,
                5_000,
              ),
            catch: unavailable,
          });
          const last = rows[rows.length - 1];
          if (!last) return String(end);
          from = last.position;
          yield* onBatch(rows.map((row) => ({ type: row.type, data: JSON.parse(row.data) })));
        }
      }),
    lastOf: (streamId) =>
      Effect.try({
        try: () => {
          const row = lastOf.get(streamId);
          return row ? toRecorded(row) : null;
        },
        catch: unavailable,
      }),
    links: (onBatch) =>
      Effect.gen(function* () {
        const rows = allInOrder.iterate();
        for (;;) {
          const batch = yield* Effect.try({
            try: () => {
              const links: StoredLink[] = [];
              for (let next = rows.next(); !next.done; next = rows.next()) {
                const row = next.value;
                links.push({
                  streamId: row.stream_id,
                  version: row.version,
                  position: row.position,
                  type: row.type,
                  fields: fieldsOf(row),
                  hash: row.hash ?? empty,
                });
                if (links.length === linkBatch) break;
              }
              return links;
            },
            catch: unavailable,
          });
          if (batch.length === 0) return;
          yield* onBatch(batch);
        }
      }),
    sealPoint: Effect.try({
      try: () => {
        // One process, appends synchronous: nothing can commit between these reads.
        const upTo = newest.get()?.position ?? 0;
        const tree = merkle();
        for (const head of headsUpTo.iterate(upTo)) {
          tree.add(utf8.encode(head.stream_id), head.hash ?? empty);
        }
        const seals = sealHead.get(sealStream);
        return {
          upTo,
          streams: tree.count,
          root: tree.root(),
          sealVersion: seals?.version ?? 0,
          sealPosition: seals?.position ?? 0,
        };
      },
      catch: unavailable,
    }),
    size: Effect.try({
      try: () => count.get()?.count ?? 0,
      catch: unavailable,
    }),
    findClaim: (key) =>
      Effect.try({
        try: () => ownerOf.get(key)?.stream_id ?? null,
        catch: unavailable,
      }),
    subscribe: (onAppend) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const listener = () => onAppend();
          listeners.add(listener);
          return listener;
        }),
        (listener) => Effect.sync(() => listeners.delete(listener)),
      ).pipe(Effect.asVoid),
  });

  const attempt = <A>(run: () => A) => Effect.try({ try: run, catch: unavailable });
  const keyOf = db.query<{ key: Uint8Array | null }, [string]>(
    "select key from user_keys where subject = ?",
  );
  const insertKey = db.query<never, [string, Uint8Array]>(
    "insert into user_keys (subject, key) values (?, ?) on conflict (subject) do nothing",
  );
  const eraseKey = db.query<never, [string, number]>(
    `insert into user_keys (subject, key, erased_at) values (?1, null, ?2)
     on conflict (subject) do update set key = null, erased_at = coalesce(erased_at, ?2)`,
  );
  const releaseClaims = db.query<never, [string]>("delete from claims where stream_id = ?");
  const claimsWith = db.query<{ key: string }, [string]>(
    "select key from claims where substr(key, 1, length(?1)) = ?1",
  );
  const renameClaim = db.query<never, [string, string]>("update claims set key = ? where key = ?");
  const keysOf = db.transaction(
    (subjects: readonly string[], fresh?: (subject: string) => Uint8Array) => {
      const keys = new Map<string, StoredKey>();
      for (const subject of new Set(subjects)) {
        let row = keyOf.get(subject);
        if (row === null && fresh !== undefined) {
          insertKey.run(subject, fresh(subject));
          row = keyOf.get(subject);
        }
        if (row !== null) keys.set(subject, row.key);
      }
      return keys;
    },
  );
  const forget = db.transaction((subject: string, streamId: string) => {
    eraseKey.run(subject, Date.now());
    releaseClaims.run(streamId);
  });
  const dataKeys = DataKeys.of({
    keysOf: (subjects, fresh) => attempt(() => keysOf.immediate(subjects, fresh)),
    forget: (subject, streamId) =>
      attempt(() => {
        forget.immediate(subject, streamId);
        // The log's older pages may still sit in the write-ahead log: it goes too.
        db.run("pragma wal_checkpoint(truncate)");
      }),
    renameClaims: (prefix, rename) =>
      attempt(() =>
        db.transaction(() => {
          const rows = claimsWith.all(prefix);
          for (const { key } of rows) renameClaim.run(rename(key), key);
          return rows.length;
        })(),
      ),
  });

  return {
    store,
    dataKeys,
    close: () => {
      listeners.clear();
      db.close();
    },
  };
};

const services = (embedded: EmbeddedEventStore) =>
  Context.make(EventStore, embedded.store).pipe(Context.add(DataKeys, embedded.dataKeys));

/** The event store and the data keys, in one SQLite file of `dataDir`. */
export const EmbeddedEventStoreLayer = (dataDir: string) =>
  Layer.effectContext(
    Effect.acquireRelease(
      Effect.try({
        try: () => {
          mkdirSync(dataDir, { recursive: true });
          return openEmbeddedEventStore(join(dataDir, "events.sqlite"));
        },
        catch: unavailable,
      }),
      (embedded) => Effect.sync(() => embedded.close()),
    ).pipe(Effect.map(services)),
  );

export const MemoryEventStoreLayer = Layer.effectContext(
  Effect.acquireRelease(
    Effect.sync(() => openEmbeddedEventStore(":memory:")),
    (embedded) => Effect.sync(() => embedded.close()),
  ).pipe(Effect.map(services)),
);
