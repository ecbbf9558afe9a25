import { Context, Data, type Effect, type Scope } from "effect";
import type { LogSeal } from "../../domain/LogSeal.ts";

export type Metadata = {
  readonly requestId?: string;
  readonly actor?: string;
  readonly clientIp?: string;
  /** The request's User-Agent: recorded in SessionStarted only, never stored as metadata. */
  readonly userAgent?: string;
};

export type NewEvent = { readonly type: string; readonly data: unknown };

export type RecordedEvent = {
  readonly streamId: string;
  /** 1 for the first event of a stream, then 2, 3, ... without gaps. */
  readonly version: number;
  /** Unique across the log and increasing with time; for people, not for paging. */
  readonly position: number;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Metadata;
  readonly recordedAt: Date;
};

/** Where a reader of the whole log stands; opaque, understood only by the store that issued it. */
export type Checkpoint = string;

export const startOfLog: Checkpoint = "";

/** `0`: the stream must not exist yet; `n`: it must be at version n. */
export type ExpectedVersion = number;

export type AppendOptions = {
  readonly expectedVersion: ExpectedVersion;
  readonly metadata?: Metadata;
  /** Keys unique across the store (e.g. `username:alice`), claimed atomically with the events. */
  readonly claims?: readonly string[];
};

export type StreamAppend = {
  readonly streamId: string;
  readonly events: readonly NewEvent[];
  readonly expectedVersion: ExpectedVersion;
  readonly claims?: readonly string[];
};

export type AppendResult = {
  readonly nextVersion: number;
  readonly events: readonly RecordedEvent[];
};

export type Page = { readonly events: readonly RecordedEvent[]; readonly checkpoint: Checkpoint };

/** `recordedAtMs`: the commit time, for the types asked for (`ReadFilter.commitTimesOf`). */
export type EventData = Pick<RecordedEvent, "type" | "data"> & { readonly recordedAtMs?: number };

export type DataPage = { readonly events: readonly EventData[]; readonly checkpoint: Checkpoint };

/** Which events a read of the log returns; every event when empty. */
export type ReadFilter = {
  readonly types?: readonly string[];
  /** Leaves out events whose data has a numeric `expiresAt` (epoch ms) at or before this time. */
  readonly liveAt?: number;
  /** `readData` adds `recordedAtMs` to the events of these types; the rest get type and data. */
  readonly commitTimesOf?: readonly string[];
  /** Fields of `data` the reader does not use: `readData` may leave them out, to read less. */
  readonly unneeded?: readonly string[];
};

export type ScanFilter = ReadFilter & {
  /** Only the newest event of each stream among those of `types`. */
  readonly latestPerStream?: boolean;
};

/** An event as stored, for checking its hash chain. */
export type StoredLink = {
  readonly streamId: string;
  readonly version: number;
  readonly position: number;
  readonly type: string;
  /** Stream id, version, type, data, metadata, recorded_at: the canonical fields, as stored. */
  readonly fields: readonly [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  /** The hash stored with the event; empty when it has none. */
  readonly hash: Uint8Array;
};

/** An event's data and metadata as stored, for rewriting them in place. */
export type StoredEvent = {
  readonly streamId: string;
  readonly version: number;
  readonly position: number;
  readonly data: unknown;
  readonly metadata: Metadata;
};

/** What to store instead of `event`'s data and metadata. */
export type Rewrite = {
  readonly event: StoredEvent;
  readonly data: unknown;
  readonly metadata: Metadata;
};

/** Top-level fields of data and metadata, and the prefix of the values that are not plain. */
export type PlainFields = {
  readonly data: readonly string[];
  readonly metadata: readonly string[];
  readonly sealedPrefix: string;
};

/** What a new seal would cover, and where the seal stream stands. */
export type SealPoint = LogSeal & {
  readonly sealVersion: number;
  /** The position of the newest seal; 0 when there is none. */
  readonly sealPosition: number;
};

export class VersionConflict extends Data.TaggedError("VersionConflict")<{
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
}> {}

export class ClaimTaken extends Data.TaggedError("ClaimTaken")<{ readonly key: string }> {}

/** The store failed or did not answer in time; an append that timed out may still land. */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<{
  readonly cause: unknown;
}> {}

export class EventStore extends Context.Service<
  EventStore,
  {
    /**
     * Appends atomically with `claims`. VersionConflict: the stream moved; ClaimTaken: another
     * stream owns a claim (its own keys are fine). No events: only the version is checked.
     */
    readonly append: (
      streamId: string,
      events: readonly NewEvent[],
      options: AppendOptions,
    ) => Effect.Effect<AppendResult, VersionConflict | ClaimTaken | StoreUnavailable>;
    /**
     * All events land or none: errors as in `append`, VersionConflict naming the stream that moved.
     * A repeated stream or one without events is a defect. Results follow the order of `appends`.
     */
    readonly appendMany: (
      appends: readonly StreamAppend[],
      metadata?: Metadata,
    ) => Effect.Effect<readonly AppendResult[], VersionConflict | ClaimTaken | StoreUnavailable>;
    /** Every event of one stream in version order; empty when the stream does not exist. */
    readonly readStream: (
      streamId: string,
    ) => Effect.Effect<readonly RecordedEvent[], StoreUnavailable>;
    /**
     * The events of several streams merged in log order; unknown streams add nothing. `filter`
     * leaves events out as `readAll`'s does.
     */
    readonly readStreams: (
      streamIds: readonly string[],
      filter?: Pick<ReadFilter, "types" | "liveAt">,
    ) => Effect.Effect<readonly RecordedEvent[], StoreUnavailable>;
    /** Streams whose first event is a `type` with `value` at `data[field]`, in the order begun. */
    readonly streamsStartedWith: (
      type: string,
      field: string,
      value: string,
    ) => Effect.Effect<readonly string[], StoreUnavailable>;
    /** Up to `limit` events after `after`, in log order; paging on never skips a late commit. */
    readonly readAll: (
      after: Checkpoint,
      limit: number,
      filter?: ReadFilter,
    ) => Effect.Effect<Page, StoreUnavailable>;
    /** `readAll` for projections: the same events and checkpoints, only type and data. */
    readonly readData: (
      after: Checkpoint,
      limit: number,
      filter?: ReadFilter,
    ) => Effect.Effect<DataPage, StoreUnavailable>;
    /**
     * Every event committed so far that passes `filter`, unordered, a batch at a time in constant
     * memory. Returns the checkpoint from which `readAll` goes on after them.
     */
    readonly scan: <E, R>(
      filter: ScanFilter,
      onBatch: (events: readonly EventData[]) => Effect.Effect<void, E, R>,
    ) => Effect.Effect<Checkpoint, StoreUnavailable | E, R>;
    /** The newest event of a stream, or null. */
    readonly lastOf: (streamId: string) => Effect.Effect<RecordedEvent | null, StoreUnavailable>;
    /** Every event as stored, in stream id then version order, a batch at a time in constant memory. */
    readonly links: <E, R>(
      onBatch: (links: readonly StoredLink[]) => Effect.Effect<void, E, R>,
    ) => Effect.Effect<void, StoreUnavailable | E, R>;
    /**
     * Every event committed so far has a position at or below `upTo`, and no later append will
     * (appends wait a moment for it); the root covers each stream's head as of `upTo`.
     */
    readonly sealPoint: Effect.Effect<SealPoint, StoreUnavailable>;
    /**
     * Up to `limit` events after position `after`, in position order, holding a string that
     * does not start with `fields.sealedPrefix` at one of `fields`' names.
     */
    readonly holdingPlain: (
      fields: PlainFields,
      after: number,
      limit: number,
    ) => Effect.Effect<readonly StoredEvent[], StoreUnavailable>;
    /**
     * Stores the rewrites of the events still as they were read, and recomputes the hashes of
     * each rewritten stream from its first rewritten version on, in one transaction that
     * appends wait for. Returns how many events were rewritten.
     */
    readonly rewrite: (rewrites: readonly Rewrite[]) => Effect.Effect<number, StoreUnavailable>;
    /** How many events the log holds; for progress reports, not for paging. */
    readonly size: Effect.Effect<number, StoreUnavailable>;
    /** The stream that owns a claim, or null. */
    readonly findClaim: (key: string) => Effect.Effect<string | null, StoreUnavailable>;
    /** Calls `onAppend` after any process appends, until the scope closes; calls may coalesce. */
    readonly subscribe: (
      onAppend: () => void,
    ) => Effect.Effect<void, StoreUnavailable, Scope.Scope>;
  }
>()("app/EventStore") {}
