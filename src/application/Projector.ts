import { Clock, Context, Effect, Fiber, Latch, Layer, Schedule } from "effect";
import { type Checkpoint, type EventData, EventStore } from "./ports/EventStore.ts";
import { Ids } from "./ports/Ids.ts";
import { type ProjectionLost, TokenState, type TokenStateUnavailable } from "./ports/TokenState.ts";
import {
  epochTypes,
  noId,
  projectRecords,
  reportEnforced,
  revocationGraceMs,
  revocationTypes,
  revokingTypes,
} from "./projection.ts";

export type ProjectorStatus = {
  readonly ready: boolean;
  readonly rebuilding: boolean;
  readonly lastError: string | null;
};

export type ReplaySummary = {
  readonly events: number;
  readonly keys: number;
  readonly checkpoint: Checkpoint;
};

const pageSize = 5_000;

export class Projector extends Context.Service<
  Projector,
  {
    readonly status: Effect.Effect<ProjectorStatus>;
    /** Asks for a catch-up soon; cheap, coalesced. */
    readonly wake: Effect.Effect<void>;
    /** A genuine token's user has no epoch: still none after the next catch-up means a rebuild. */
    readonly reportMissing: (userId: string) => Effect.Effect<void>;
  }
>()("app/Projector") {}

export const follow = (
  generation: string,
  from: Checkpoint,
  onPage?: (events: number, keys: number) => void,
  report = false,
) =>
  Effect.gen(function* () {
    const store = yield* EventStore;
    const state = yield* TokenState;
    const filter = report ? { commitTimesOf: revokingTypes } : {};
    const read = (after: Checkpoint) => Effect.forkChild(store.readData(after, pageSize, filter));
    let checkpoint = from;
    let events = 0;
    let keys = 0;
    let next = yield* read(checkpoint);
    for (;;) {
      const page = yield* Fiber.join(next);
      if (page.events.length === 0) return { events, keys, checkpoint } satisfies ReplaySummary;
      checkpoint = page.checkpoint;
      next = yield* read(checkpoint);
      const now = yield* Clock.currentTimeMillis;
      const written = yield* state.applyIn(generation, projectRecords(page.events), now);
      if (report) yield* reportEnforced(page.events, "catch_up", yield* Clock.currentTimeMillis);
      events += page.events.length;
      keys += written;
      onPage?.(page.events.length, written);
    }
  });

export type RebuildPhase = "revocations" | "epochs" | "since";

/**
 * Never accepts a revoked token meanwhile: revocations land before the epochs that make a user's
 * tokens checkable, and only while the projection is still `generation` (decisions 26, 28).
 */
export const rebuild = (
  generation: string,
  onBatch?: (phase: RebuildPhase, events: number, keys: number) => void,
) =>
  Effect.gen(function* () {
    const store = yield* EventStore;
    const state = yield* TokenState;
    let events = 0;
    let keys = 0;
    const writing: Fiber.Fiber<void, TokenStateUnavailable | ProjectionLost>[] = [];
    const landed = Effect.suspend(() => Fiber.joinAll(writing.splice(0))).pipe(Effect.asVoid);
    const room = Effect.suspend(() => {
      const oldest = writing.length >= 2 ? writing.shift() : undefined;
      return oldest ? Fiber.join(oldest) : Effect.void;
    });
    const apply = (phase: RebuildPhase) => (batch: readonly EventData[]) =>
      Effect.gen(function* () {
        const writes = projectRecords(batch);
        const now = yield* Clock.currentTimeMillis;
        yield* room;
        const fiber = yield* Effect.forkChild(
          state.applyIn(generation, writes, now).pipe(
            Effect.flatMap((written) =>
              Effect.sync(() => {
                events += batch.length;
                keys += written;
                onBatch?.(phase, batch.length, written);
              }),
            ),
          ),
        );
        writing.push(fiber);
      });
    const liveAt = (yield* Clock.currentTimeMillis) - revocationGraceMs;
    const revoked = yield* store.scan({ types: revocationTypes, liveAt }, apply("revocations"));
    yield* landed;
    const epochs = yield* store.scan({ types: epochTypes, latestPerStream: true }, apply("epochs"));
    yield* landed;
    const rest = yield* follow(generation, revoked, (read, written) =>
      onBatch?.("since", read, written),
    );
    const checkpoint = rest.events > 0 ? rest.checkpoint : epochs;
    yield* state.saveCheckpoint(generation, checkpoint);
    return {
      events: events + rest.events,
      keys: keys + rest.keys,
      checkpoint,
    } satisfies ReplaySummary;
  });

const rebuildAttempts = 5;

/** Rebuilds in the generation the projection holds, so instances serving traffic stay ready. */
export const replay = (onBatch?: (phase: RebuildPhase, events: number, keys: number) => void) =>
  Effect.gen(function* () {
    const state = yield* TokenState;
    const marker = yield* state.open(yield* (yield* Ids).next);
    return yield* rebuild(marker.generation, onBatch);
  }).pipe(
    Effect.retry({
      times: rebuildAttempts - 1,
      while: (error) => error._tag === "ProjectionLost",
    }),
  );

export const ProjectorLive = (options: { readonly pollMs: number }) =>
  Layer.effect(
    Projector,
    Effect.gen(function* () {
      const store = yield* EventStore;
      const state = yield* TokenState;
      const ids = yield* Ids;
      let status: ProjectorStatus = { ready: false, rebuilding: false, lastError: null };
      const suspects = new Set<string>();
      let lossConfirmed = false;
      // Closed as each pause begins: a wake-up asked during a tick is dropped, unless by `again`.
      const wakeUp = Latch.makeUnsafe();
      let wakeAgain = false;
      const signal = () => {
        wakeUp.openUnsafe();
      };
      const again = () => {
        wakeAgain = true;
        signal();
      };

      const catchUp = (generation: string, checkpoint: Checkpoint) =>
        Effect.gen(function* () {
          const caught = yield* follow(generation, checkpoint, undefined, true);
          if (caught.events > 0) yield* state.saveCheckpoint(generation, caught.checkpoint);
          if (suspects.size === 0) return;
          const users = [...suspects];
          suspects.clear();
          const found = yield* Effect.forEach(users, (userId) => state.lookup(userId, noId, noId), {
            concurrency: 16,
          });
          if (found.some((entry) => entry.epoch === null)) {
            lossConfirmed = true;
            again();
          }
        });

      const tick = Effect.gen(function* () {
        const marker = yield* state.open(yield* ids.next);
        if (marker.checkpoint === null || lossConfirmed) {
          lossConfirmed = false;
          suspects.clear();
          status = { ...status, ready: false, rebuilding: true };
          yield* rebuild(marker.generation);
        } else {
          yield* catchUp(marker.generation, marker.checkpoint);
        }
        if (!lossConfirmed) status = { ready: true, rebuilding: false, lastError: null };
      }).pipe(
        Effect.catch((error) =>
          Effect.sync(() => {
            if (error._tag === "ProjectionLost") {
              status = { ready: false, rebuilding: true, lastError: error._tag };
              again();
            } else {
              status = { ...status, lastError: error._tag };
            }
          }),
        ),
      );

      const pause = Effect.suspend(() => {
        if (wakeAgain) {
          wakeAgain = false;
          return Effect.void;
        }
        wakeUp.closeUnsafe();
        return Effect.race(Effect.sleep(options.pollMs), wakeUp.await);
      });

      yield* tick;
      yield* store
        .subscribe(signal)
        .pipe(Effect.retry(Schedule.spaced("1 second")), Effect.forkScoped);
      yield* Effect.forever(Effect.andThen(pause, tick)).pipe(Effect.forkScoped);

      return {
        status: Effect.sync(() => status),
        wake: Effect.sync(signal),
        reportMissing: (userId) =>
          Effect.sync(() => {
            if (suspects.size < 1_000) suspects.add(userId);
            signal();
          }),
      };
    }),
  );
