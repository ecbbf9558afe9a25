import { Context, type Effect } from "effect";
import type { StoreUnavailable } from "./EventStore.ts";

/** A subject's data key as stored (wrapped or not); null once the subject is erased. */
export type StoredKey = Uint8Array | null;

/** Per-user keys for the personal fields of the log, kept beside it, never in it. */
export class DataKeys extends Context.Service<
  DataKeys,
  {
    /**
     * The stored keys of these subjects; a subject that never had one is absent, unless `fresh`
     * is given: then it gets `fresh(subject)` first (an erased subject never gets a new one).
     */
    readonly keysOf: (
      subjects: readonly string[],
      fresh?: (subject: string) => Uint8Array,
    ) => Effect.Effect<ReadonlyMap<string, StoredKey>, StoreUnavailable>;
    /**
     * Destroys the subject's key for good and releases every claim `streamId` owns, in one
     * step; forgetting again does nothing more.
     */
    readonly forget: (subject: string, streamId: string) => Effect.Effect<void, StoreUnavailable>;
    /** Claims whose key starts with `prefix`, for re-keying them; `rename` maps old to new. */
    readonly renameClaims: (
      prefix: string,
      rename: (key: string) => string,
    ) => Effect.Effect<number, StoreUnavailable>;
  }
>()("app/DataKeys") {}
