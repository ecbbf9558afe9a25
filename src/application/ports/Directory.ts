import { Context, Data, type Effect, type Scope } from "effect";
import type { Role } from "../../domain/Role.ts";
import type { Checkpoint } from "./EventStore.ts";

export type UserStatus = "active" | "disabled";

/** Times are epoch milliseconds. */
export type DirectoryUser = {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly status: UserStatus;
  readonly createdAt: number;
  readonly lastLoginAt: number | null;
  /** How many live sessions the user has. */
  readonly sessions: number;
};

export type DirectorySession = {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  /** The last rotation; null before the first. */
  readonly lastUsedAt: number | null;
  readonly expiresAt: number;
  readonly ip: string | null;
  readonly userAgent: string | null;
};

export type UserQuery = {
  /** A substring of the username, matched case-insensitively. */
  readonly q?: string;
  readonly role?: Role;
  readonly status?: UserStatus;
  readonly limit: number;
  /** The `next` of the previous page. */
  readonly after?: number;
};

export type UserPage = {
  readonly items: readonly DirectoryUser[];
  /** Where the next page starts; null on the last page. */
  readonly next: number | null;
};

export type DirectoryWrite =
  | {
      readonly kind: "user";
      readonly id: string;
      readonly username: string;
      readonly role: Role;
      readonly createdAt: number;
    }
  | { readonly kind: "role"; readonly userId: string; readonly role: Role }
  | { readonly kind: "disable"; readonly userId: string; readonly until: number | null }
  | { readonly kind: "enable"; readonly userId: string }
  | { readonly kind: "endSessions"; readonly userId: string }
  /** The user and its sessions leave the directory: nothing of them is kept. */
  | { readonly kind: "forget"; readonly userId: string }
  | {
      readonly kind: "session";
      readonly id: string;
      readonly userId: string;
      readonly createdAt: number;
      readonly expiresAt: number;
      readonly ip: string | null;
      readonly userAgent: string | null;
    }
  | {
      readonly kind: "rotate";
      readonly sessionId: string;
      readonly at: number;
      readonly expiresAt: number;
    }
  | { readonly kind: "endSession"; readonly sessionId: string };

/** A generation being built from the log, invisible to queries until published. */
export type DirectoryBuild = {
  /**
   * Takes writes in order; creates each user and session once, as the log starts each once.
   * They may reach storage later: all have by the end of `publish`, and one that fails fails a
   * later call.
   */
  readonly write: (writes: readonly DirectoryWrite[]) => Effect.Effect<void, DirectoryUnavailable>;
  /** Makes this generation the one queries read, at `checkpoint`, in one step; drops the old. */
  readonly publish: (checkpoint: Checkpoint) => Effect.Effect<void, DirectoryUnavailable>;
};

/** Another build holds the directory (in this process or another instance). */
export class DirectoryRebuilding extends Data.TaggedError("DirectoryRebuilding") {}

export class DirectoryUnavailable extends Data.TaggedError("DirectoryUnavailable")<{
  readonly cause: unknown;
}> {}

/** Users and sessions as a read model of the log, with its own checkpoint. */
export class Directory extends Context.Service<
  Directory,
  {
    /** How far the log is applied; null while no generation was ever published. */
    readonly checkpoint: Effect.Effect<Checkpoint | null, DirectoryUnavailable>;
    /**
     * Applies `writes` and moves the checkpoint from `from` to `to` atomically. False, with
     * nothing written, when the checkpoint is no longer `from` (another writer or a rebuild).
     */
    readonly advance: (
      from: Checkpoint,
      to: Checkpoint,
      writes: readonly DirectoryWrite[],
    ) => Effect.Effect<boolean, DirectoryUnavailable>;
    /**
     * Starts a new generation; the published one keeps answering meanwhile. One build at a time:
     * it holds the directory until its scope closes.
     */
    readonly build: Effect.Effect<
      DirectoryBuild,
      DirectoryUnavailable | DirectoryRebuilding,
      Scope.Scope
    >;
    /** Users in creation order, oldest first, from `query.after`. */
    readonly users: (
      query: UserQuery,
      now: number,
    ) => Effect.Effect<UserPage, DirectoryUnavailable>;
    readonly user: (
      id: string,
      now: number,
    ) => Effect.Effect<DirectoryUser | null, DirectoryUnavailable>;
    /** The user's live sessions (not ended, not expired), newest first. */
    readonly sessions: (
      userId: string,
      now: number,
    ) => Effect.Effect<readonly DirectorySession[], DirectoryUnavailable>;
  }
>()("app/Directory") {}
