import { Clock, Context, Effect, Fiber, Layer, Schedule } from "effect";
import { type Checkpoint, type EventData, EventStore } from "./ports/EventStore.ts";
import { TokenState, type TokenStateUnavailable } from "./ports/TokenState.ts";
import { epochTypes, projectRecords, revocationGraceMs, revocationTypes } from "./projection.ts";

export type ProjectorStatus = {
  /** True once the projection has followed the log at least once since start or loss. */
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

/**
 * Follows the event log into the token projection. Inline projection, catch-up and rebuild
 * apply the same idempotent writes, from different start positions.
 */
export class Projector extends Context.Service<
  Projector,
  {
    readonly status: Effect.Effect<ProjectorStatus>;
    /** Asks for a catch-up soon; cheap, coalesced. */
    readonly wake: Effect.Effect<void>;
    /** Asks for a full rebuild: a user's epoch is missing, so the projection lost data. */
    readonly reportLoss: Effect.Effect<void>;
  }
>()("app/Projector") {}

/**
 * Reads the log from `from` to its end, applying what it projects, page by page with constant
 * memory; the next page is read while the current one is written. Returns where it stopped.
 */
export const follow = (from: Checkpoint, onPage?: (events: number, keys: number) => void) =>
  Effect.gen(function* () {
    const store = yield* EventStore;
    const state = yield* TokenState;
    const read = (after: Checkpoint) => Effect.forkChild(store.readData(after, pageSize));
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
      const written = yield* state.apply(projectRecords(page.events), now);
      events += page.events.length;
      keys += written;
      onPage?.(page.events.length, written);
    }
  });

export type RebuildPhase = "revocations" | "epochs" | "since";

/**
 * Rebuilds the projection from the first event without ever accepting a revoked token, even
 * while other instances serve traffic: every revocation goes in first, and only then the
 * epochs, whose presence is what makes a user's tokens checkable at all. Both passes scan the
 * log in whatever order is fastest (the writes commute) and read only what can still matter:
 * revocations of tokens not yet expired, and each user's newest epoch (epochs only rise).
 */
export const rebuild = (onBatch?: (phase: RebuildPhase, events: number, keys: number) => void) =>
  Effect.gen(function* () {
    const store = yield* EventStore;
    const state = yield* TokenState;
    let events = 0;
    let keys = 0;
    // Batches are written while the next ones are read and decoded, two writes at most in
    // flight; every write of a pass lands before the next pass begins.
    const writing: Fiber.Fiber<void, TokenStateUnavailable>[] = [];
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
          state.apply(writes, now).pipe(
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
    // Whatever was appended since the first pass began is applied in full: a no-op when
    // nothing was, since every write is idempotent.
    const rest = yield* follow(revoked, (read, written) => onBatch?.("since", read, written));
    const checkpoint = rest.events > 0 ? rest.checkpoint : epochs;
    yield* state.saveCheckpoint(checkpoint);
    return {
      events: events + rest.events,
      keys: keys + rest.keys,
      checkpoint,
    } satisfies ReplaySummary;
  });

export const ProjectorLive = (options: { readonly pollMs: number }) =>
  Layer.effect(
    Projector,
    Effect.gen(function* () {
      const store = yield* EventStore;
      const state = yield* TokenState;
      let status: ProjectorStatus = { ready: false, rebuilding: false, lastError: null };
      let lossReported = false;
      let wakeUp: (() => void) | null = null;
      const signal = () => {
        wakeUp?.();
        wakeUp = null;
      };

      const tick = Effect.gen(function* () {
        const checkpoint = yield* state.checkpoint;
        if (checkpoint === null || lossReported) {
          lossReported = false;
          status = { ...status, ready: false, rebuilding: true };
          yield* rebuild();
        } else {
          const caught = yield* follow(checkpoint);
          if (caught.events > 0) yield* state.saveCheckpoint(caught.checkpoint);
        }
        status = { ready: true, rebuilding: false, lastError: null };
      }).pipe(
        Effect.catch((error) =>
          Effect.sync(() => {
            status = { ...status, lastError: error._tag };
          }),
        ),
      );

      const sleep = Effect.callback<void>((resume) => {
        const timer = setTimeout(() => resume(Effect.void), options.pollMs);
        wakeUp = () => {
          clearTimeout(timer);
          resume(Effect.void);
        };
        return Effect.sync(() => clearTimeout(timer));
      });

      yield* tick;
      yield* store
        .subscribe(signal)
        .pipe(Effect.retry(Schedule.spaced("1 second")), Effect.forkScoped);
      yield* Effect.forever(Effect.andThen(sleep, tick)).pipe(Effect.forkScoped);

      return {
        status: Effect.sync(() => status),
        wake: Effect.sync(signal),
        reportLoss: Effect.sync(() => {
          lossReported = true;
          signal();
        }),
      };
    }),
  );
