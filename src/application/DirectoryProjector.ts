import { Context, Effect, Fiber, Latch, Layer, Schedule } from "effect";
import { directoryFilter, directoryRecords } from "./directory.ts";
import type { ProjectorStatus } from "./Projector.ts";
import { Directory } from "./ports/Directory.ts";
import { type Checkpoint, EventStore } from "./ports/EventStore.ts";

const pageSize = 2_000;
/** A rebuild's pages: fewer, larger transactions, and more of each session folded in one. */
const rebuildPageSize = 20_000;

export class DirectoryProjector extends Context.Service<
  DirectoryProjector,
  {
    readonly status: Effect.Effect<ProjectorStatus>;
    /** Asks for a catch-up soon; cheap, coalesced. */
    readonly wake: Effect.Effect<void>;
  }
>()("app/DirectoryProjector") {}

export type DirectorySummary = { readonly events: number; readonly checkpoint: Checkpoint };

/**
 * Applies the log from the directory's checkpoint, one page a transaction. Stops at the end of
 * the log, or when another writer (an instance, a rebuild) moved the checkpoint first.
 */
export const followDirectory = Effect.gen(function* () {
  const store = yield* EventStore;
  const directory = yield* Directory;
  let checkpoint = yield* directory.checkpoint;
  let events = 0;
  while (checkpoint !== null) {
    const page = yield* store.readData(checkpoint, pageSize, directoryFilter);
    if (page.events.length === 0) break;
    const moved = !(yield* directory.advance(
      checkpoint,
      page.checkpoint,
      directoryRecords(page.events),
    ));
    if (moved) break;
    checkpoint = page.checkpoint;
    events += page.events.length;
  }
  return { events, checkpoint: checkpoint ?? "" };
});

/** A new generation from the whole log, published in one step: queries never see it half-built. */
export const rebuildDirectory = (onPage?: (events: number) => void) =>
  Effect.gen(function* () {
    const store = yield* EventStore;
    const build = yield* (yield* Directory).build;
    const read = (after: Checkpoint) => store.readData(after, rebuildPageSize, directoryFilter);
    let checkpoint: Checkpoint = "";
    let events = 0;
    let page = yield* read(checkpoint);
    for (;;) {
      checkpoint = page.checkpoint;
      if (page.events.length === 0) break;
      // The next page is read while this one is written.
      const next = yield* Effect.forkChild(read(checkpoint));
      yield* build.write(directoryRecords(page.events));
      events += page.events.length;
      onPage?.(page.events.length);
      page = yield* Fiber.join(next);
    }
    yield* build.publish(checkpoint);
    return { events, checkpoint } satisfies DirectorySummary;
  }).pipe(Effect.scoped);

export const DirectoryProjectorLive = (options: { readonly pollMs: number }) =>
  Layer.effect(
    DirectoryProjector,
    Effect.gen(function* () {
      const store = yield* EventStore;
      const directory = yield* Directory;
      let status: ProjectorStatus = { ready: false, rebuilding: false, lastError: null };
      const wakeUp = Latch.makeUnsafe();
      const signal = () => {
        wakeUp.openUnsafe();
      };

      const tick = Effect.gen(function* () {
        // Closed as a tick begins: a wake-up asked while it runs brings the next one at once.
        wakeUp.closeUnsafe();
        if ((yield* directory.checkpoint) === null) {
          status = { ...status, rebuilding: true };
          const rebuilt = yield* rebuildDirectory().pipe(
            Effect.as(true),
            Effect.catchTag("DirectoryRebuilding", () => Effect.succeed(false)),
          );
          // Another instance is rebuilding: its publish gives the checkpoint to follow from.
          if (!rebuilt) return;
        }
        yield* followDirectory;
        status = { ready: true, rebuilding: false, lastError: null };
      }).pipe(
        Effect.provideService(EventStore, store),
        Effect.provideService(Directory, directory),
        Effect.catch((error) =>
          Effect.sync(() => {
            status = { ...status, lastError: error._tag };
          }),
        ),
      );

      const pause = Effect.race(Effect.sleep(options.pollMs), wakeUp.await);

      yield* tick;
      yield* store
        .subscribe(signal)
        .pipe(Effect.retry(Schedule.spaced("1 second")), Effect.forkScoped);
      yield* Effect.forever(Effect.andThen(pause, tick)).pipe(Effect.forkScoped);

      return { status: Effect.sync(() => status), wake: Effect.sync(signal) };
    }),
  );
