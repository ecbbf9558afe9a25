import { Effect } from "effect";
import { Projector } from "./Projector.ts";
import { EventStore } from "./ports/EventStore.ts";
import { TokenState } from "./ports/TokenState.ts";

export type Readiness = {
  readonly ready: boolean;
  readonly eventStore: "up" | "down";
  readonly tokenState: "up" | "down";
  readonly projection: "ready" | "rebuilding" | "starting";
};

/** Ready means: the log can be written, tokens can be checked, and the projection followed. */
export const readiness = Effect.gen(function* () {
  const store = yield* EventStore;
  const state = yield* TokenState;
  const status = yield* (yield* Projector).status;
  const [storeUp, stateUp] = yield* Effect.all(
    [
      store.findClaim("health:probe").pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false),
      ),
      state.checkpoint.pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false),
      ),
    ],
    { concurrency: 2 },
  );
  const projection = status.ready ? "ready" : status.rebuilding ? "rebuilding" : "starting";
  return {
    ready: storeUp && stateUp && status.ready,
    eventStore: storeUp ? "up" : "down",
    tokenState: stateUp ? "up" : "down",
    projection,
  } satisfies Readiness;
});
