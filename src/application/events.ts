import { Clock, Effect, Schedule } from "effect";
import {
  type AdminRoster,
  type AdminSet,
  type AdminSetEvent,
  adminSetStream,
  foldAdminRoster,
  foldAdminSet,
} from "../domain/admin/AdminSet.ts";
import type { Decision } from "../domain/Decision.ts";
import { foldSession, type Session } from "../domain/session/Session.ts";
import { type SessionEvent, sessionStream } from "../domain/session/SessionEvents.ts";
import { foldUser, type User } from "../domain/user/User.ts";
import { type UserEvent, userStream } from "../domain/user/UserEvents.ts";
import { Contended, ProjectionBehind } from "./errors.ts";
import { countAppended } from "./operations.ts";
import { Projector } from "./Projector.ts";
import {
  type AppendOptions,
  type AppendResult,
  EventStore,
  type Metadata,
  type NewEvent,
  type RecordedEvent,
  type StreamAppend,
  VersionConflict,
} from "./ports/EventStore.ts";
import { TokenState } from "./ports/TokenState.ts";
import { projectRecords, reportEnforced } from "./projection.ts";

export type Loaded<S> = {
  readonly state: S;
  readonly version: number;
  readonly records: readonly RecordedEvent[];
};

const load = <S, E>(streamId: string, fold: (events: E[]) => S) =>
  Effect.gen(function* () {
    const store = yield* EventStore;
    const records = yield* store.readStream(streamId);
    const state = fold(records.map((r) => ({ type: r.type, data: r.data }) as E));
    return { state, version: records.length, records } satisfies Loaded<S>;
  });

export const loadUser = (userId: string) => load<User, UserEvent>(userStream(userId), foldUser);

export const loadSession = (sessionId: string) =>
  load<Session, SessionEvent>(sessionStream(sessionId), foldSession);

export const loadAdminSet = load<AdminSet, AdminSetEvent>(adminSetStream, foldAdminSet);

export const loadAdminRoster = load<AdminRoster, AdminSetEvent>(adminSetStream, foldAdminRoster);

/** The User-Agent belongs in SessionStarted's data, not in every event's metadata. */
/** Metadata as it is stored: the User-Agent belongs to a session's start, never to the log. */
export const stored = ({ userAgent: _, ...metadata }: Metadata = {}): Metadata => metadata;

/** Projects before returning, so a revocation that returns is enforced everywhere. */
export const appendAndProject = (
  streamId: string,
  events: readonly NewEvent[],
  options: AppendOptions,
) =>
  Effect.gen(function* () {
    if (events.length === 0) return null;
    const store = yield* EventStore;
    const result: AppendResult = yield* store.append(streamId, events, {
      ...options,
      metadata: stored(options.metadata),
    });
    yield* project(result.events);
    return result;
  });

const project = (records: readonly RecordedEvent[]) =>
  Effect.gen(function* () {
    yield* countAppended(records);
    const writes = projectRecords(records);
    if (writes.length === 0) return;
    const state = yield* TokenState;
    const projector = yield* Projector;
    const now = yield* Clock.currentTimeMillis;
    yield* state
      .apply(writes, now)
      .pipe(
        Effect.catchTag("TokenStateUnavailable", () =>
          Effect.andThen(projector.wake, Effect.fail(new ProjectionBehind())),
        ),
      );
    const timed = records.map((record) => ({
      ...record,
      recordedAtMs: record.recordedAt.getTime(),
    }));
    yield* reportEnforced(timed, "inline", yield* Clock.currentTimeMillis);
  });

export const appendManyAndProject = (appends: readonly StreamAppend[], metadata: Metadata) =>
  Effect.gen(function* () {
    const store = yield* EventStore;
    const results = yield* store.appendMany(appends, stored(metadata));
    yield* project(results.flatMap((result) => result.events));
    return results;
  });

export const retryOnConflict = <A, E, R>(attempt: Effect.Effect<A, E, R>) =>
  attempt.pipe(
    Effect.retry({
      schedule: Schedule.jittered(Schedule.exponential("2 millis", 1.5)),
      times: 16,
      while: (error) => isConflict(error),
    }),
    Effect.mapError((error): Exclude<E, VersionConflict> | Contended =>
      isConflict(error) ? new Contended() : (error as Exclude<E, VersionConflict>),
    ),
  );

const isConflict = (error: unknown): error is VersionConflict => error instanceof VersionConflict;

export const decideAndAppend = <S, Ev extends NewEvent, X, R, E>(
  loadState: Effect.Effect<Loaded<S>, E, R>,
  streamId: string,
  decide: (state: S) => Decision<Ev, X>,
  options: Omit<AppendOptions, "expectedVersion"> = {},
) =>
  retryOnConflict(
    Effect.gen(function* () {
      const loaded = yield* loadState;
      const decision = decide(loaded.state);
      if (decision.ok) {
        yield* appendAndProject(streamId, decision.events, {
          ...options,
          expectedVersion: loaded.version,
        });
      }
      return { decision, loaded };
    }),
  );
