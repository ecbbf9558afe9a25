import { Context, Data, type Effect, type Scope } from "effect";

/** Who caused an event and from where: the audit trail's answer to "who did this?". */
export type Metadata = {
  readonly requestId?: string;
  readonly actor?: string;
  readonly clientIp?: string;
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

/**
 * Where a reader of the whole log stands. Opaque: only the store that issued it compares it.
 * `startOfLog` reads from the first event.
 */
export type Checkpoint = string;

export const startOfLog: Checkpoint = "";

/** `0`: the stream must not exist yet. `n`: the stream must be at version n. */
export type ExpectedVersion = number | "any";

export type AppendOptions = {
  readonly expectedVersion: ExpectedVersion;
  readonly metadata?: Metadata;
  /**
   * Keys that must be unique across the store (e.g. `username:alice`), claimed for this stream
   * in the same atomic step as the append: either the events and every claim land, or nothing.
   */
  readonly claims?: readonly string[];
};

/** One stream's part of an atomic append to several streams. */
export type StreamAppend = {
  readonly streamId: string;
  /** At least one: a stream with nothing to write is left out of the step. */
  readonly events: readonly NewEvent[];
  readonly expectedVersion: ExpectedVersion;
  readonly claims?: readonly string[];
};

export type AppendResult = {
  readonly nextVersion: number;
  readonly events: readonly RecordedEvent[];
};

export type Page = { readonly events: readonly RecordedEvent[]; readonly checkpoint: Checkpoint };

/** What projections read of an event. */
export type EventData = Pick<RecordedEvent, "type" | "data">;

export type DataPage = { readonly events: readonly EventData[]; readonly checkpoint: Checkpoint };

/** Which events a read of the log returns; every event when empty. */
export type ReadFilter = {
  readonly types?: readonly string[];
  /**
   * Leaves out events whose data holds a numeric `expiresAt` (epoch milliseconds) at or before
   * this time: such an event stops mattering to projections when it expires.
   */
  readonly liveAt?: number;
};

export type ScanFilter = ReadFilter & {
  /** Only the newest event of each stream among those of `types`. */
  readonly latestPerStream?: boolean;
};

export class VersionConflict extends Data.TaggedError("VersionConflict")<{
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
}> {}

export class ClaimTaken extends Data.TaggedError("ClaimTaken")<{ readonly key: string }> {}

/** The store could not be reached or failed; nothing was written unless said otherwise. */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<{
  readonly cause: unknown;
}> {}

export class EventStore extends Context.Service<
  EventStore,
  {
    /**
     * Appends events to one stream if it is at `expectedVersion`, atomically with `claims`.
     * Fails with VersionConflict when the stream moved, ClaimTaken when a claim belongs to
     * another stream (claiming a key the stream already owns succeeds). Appending no events
     * is a no-op that still checks the version.
     */
    readonly append: (
      streamId: string,
      events: readonly NewEvent[],
      options: AppendOptions,
    ) => Effect.Effect<AppendResult, VersionConflict | ClaimTaken | StoreUnavailable>;
    /**
     * Appends to several distinct streams as one atomic step: every stream is at its expected
     * version and every claim is free, and all the events land, or nothing is written. Fails as
     * `append` does (VersionConflict names the stream that moved); repeating a stream or giving
     * one no events is a defect. Results follow the order of `appends`. For rules that span
     * aggregates, such as "at least one admin".
     */
    readonly appendMany: (
      appends: readonly StreamAppend[],
      metadata?: Metadata,
    ) => Effect.Effect<readonly AppendResult[], VersionConflict | ClaimTaken | StoreUnavailable>;
    /** Every event of one stream in version order; empty when the stream does not exist. */
    readonly readStream: (
      streamId: string,
    ) => Effect.Effect<readonly RecordedEvent[], StoreUnavailable>;
    /** The events of several streams merged in log order; unknown streams add nothing. */
    readonly readStreams: (
      streamIds: readonly string[],
    ) => Effect.Effect<readonly RecordedEvent[], StoreUnavailable>;
    /**
     * The streams whose first event is of `type` with the string `value` at `data[field]`, in
     * the order they began: e.g. the sessions a user started.
     */
    readonly streamsStartedWith: (
      type: string,
      field: string,
      value: string,
    ) => Effect.Effect<readonly string[], StoreUnavailable>;
    /**
     * Up to `limit` events after `after` that pass `filter`, in the log's total order. An event
     * whose transaction commits late is never skipped: a reader that pages on from the returned
     * checkpoint sees every committed event exactly once.
     */
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
     * Every event committed so far that passes `filter`, in no particular order, handed to
     * `onBatch` a batch at a time (constant memory; the next batch is read while one is being
     * handled). Returns the checkpoint from which `readAll` goes on after them. The fast way to
     * rebuild a projection whose writes do not depend on their order.
     */
    readonly scan: <E, R>(
      filter: ScanFilter,
      onBatch: (events: readonly EventData[]) => Effect.Effect<void, E, R>,
    ) => Effect.Effect<Checkpoint, StoreUnavailable | E, R>;
    /** How many events the log holds; for progress reports, not for paging. */
    readonly size: Effect.Effect<number, StoreUnavailable>;
    /** The stream that owns a claim, or null. */
    readonly findClaim: (key: string) => Effect.Effect<string | null, StoreUnavailable>;
    /**
     * Calls `onAppend` after events were appended by this or any other process sharing the
     * store, until the scope closes. Wake-ups may be coalesced; read the log to see what came.
     */
    readonly subscribe: (
      onAppend: () => void,
    ) => Effect.Effect<void, StoreUnavailable, Scope.Scope>;
  }
>()("app/EventStore") {}
