import { Effect } from "effect";
import { DirectoryProjector } from "./DirectoryProjector.ts";
import { Projector } from "./Projector.ts";
import { EventStore } from "./ports/EventStore.ts";
import { TokenState } from "./ports/TokenState.ts";

export type Readiness = {
  readonly ready: boolean;
  readonly eventStore: "up" | "down";
  readonly tokenState: "up" | "down";
  readonly projection: "ready" | "rebuilding" | "starting";
  readonly directory: "ready" | "rebuilding" | "starting";
};

/** A probe that has not answered in time has answered no: readiness itself never hangs. */
export const within =
  <B>(fallback: B) =>
  <A, E, R>(probe: Effect.Effect<A, E, R>) =>
    Effect.timeoutOrElse(probe, {
      duration: probeTimeoutMs,
      orElse: () => Effect.succeed(fallback),
    });

const probeTimeoutMs = 1_000;

/** The log is reachable, tokens can be checked, and this instance follows a complete generation. */
export const readiness = Effect.gen(function* () {
  const store = yield* EventStore;
  const state = yield* TokenState;
  const status = yield* (yield* Projector).status;
  const listed = yield* (yield* DirectoryProjector).status;
  const [storeUp, marker] = yield* Effect.all(
    [
      store.findClaim("health:probe").pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false),
        within(false),
      ),
      state.marker.pipe(
        Effect.orElseSucceed(() => "down" as const),
        within("down" as const),
      ),
    ],
    { concurrency: 2 },
  );
  const stateUp = marker !== "down";
  const complete = stateUp && marker?.checkpoint != null;
  const projection =
    status.ready && complete ? "ready" : status.rebuilding || stateUp ? "rebuilding" : "starting";
  return {
    ready: storeUp && complete && status.ready && listed.ready,
    eventStore: storeUp ? "up" : "down",
    tokenState: stateUp ? "up" : "down",
    projection,
    directory: listed.ready ? "ready" : listed.rebuilding ? "rebuilding" : "starting",
  } satisfies Readiness;
});
