import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Clock, Effect, Layer } from "effect";
import { TestClock } from "effect/testing";
import { UuidIdsLayer } from "../../src/adapters/crypto/UuidIds.ts";
import {
  type EmbeddedEventStore,
  openEmbeddedEventStore,
} from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { MemoryTokenStateLayer } from "../../src/adapters/embedded/MemoryTokenState.ts";
import { Projector, ProjectorLive } from "../../src/application/Projector.ts";
import { EventStore } from "../../src/application/ports/EventStore.ts";
import { TokenState } from "../../src/application/ports/TokenState.ts";
import { userStream } from "../../src/domain/user/UserEvents.ts";

const pollMs = 1_000;

describe("the projector's catch-up loop, on effect's TestClock", () => {
  let embedded: EmbeddedEventStore;
  /** What the store calls after an append; the appends below call it only when told to. */
  let notify = () => {};

  beforeEach(() => {
    embedded = openEmbeddedEventStore(":memory:");
  });
  afterEach(() => embedded.close());

  const run = <A, E>(program: Effect.Effect<A, E, Projector | TokenState>) => {
    const store = {
      ...embedded.store,
      subscribe: (onAppend: () => void) =>
        Effect.sync(() => {
          notify = onAppend;
        }),
    };
    const projector = ProjectorLive({ pollMs }).pipe(
      Layer.provideMerge(
        Layer.mergeAll(Layer.succeed(EventStore, store), MemoryTokenStateLayer, UuidIdsLayer),
      ),
    );
    return Effect.runPromise(
      program.pipe(Effect.provide(projector), Effect.provide(TestClock.layer())),
    );
  };

  /** Appends a registration straight to the log, as another instance whose projection failed. */
  const register = (userId: string) =>
    embedded.store.append(
      userStream(userId),
      [
        {
          type: "UserRegistered",
          data: { userId, username: userId, passwordHash: "h", role: "user" },
        },
      ],
      { expectedVersion: 0 },
    );

  const epochOf = (userId: string) =>
    Effect.gen(function* () {
      return (yield* (yield* TokenState).lookup(userId, "j", "s")).epoch;
    });

  test("without wake-ups it catches up once every pollMs of the clock, not before", async () => {
    await run(
      Effect.gen(function* () {
        expect((yield* (yield* Projector).status).ready).toBe(true);
        yield* register("u1");
        yield* TestClock.adjust(pollMs - 1);
        expect(yield* epochOf("u1")).toBeNull();
        yield* TestClock.adjust(1);
        expect(yield* epochOf("u1")).toBe(0);

        yield* register("u2");
        yield* TestClock.adjust(pollMs - 1);
        expect(yield* epochOf("u2")).toBeNull();
        yield* TestClock.adjust(1);
        expect(yield* epochOf("u2")).toBe(0);
      }),
    );
  });

  test("a wake-up from the store runs the catch-up at once, with the clock standing still", async () => {
    await run(
      Effect.gen(function* () {
        yield* register("u1");
        // A wake-up that comes before the loop pauses is dropped, as one during a tick is, so
        // the store keeps calling until the loop has paused and woken.
        let epoch: number | null = null;
        for (let turn = 0; turn < 100 && epoch === null; turn++) {
          notify();
          yield* Effect.yieldNow;
          epoch = yield* epochOf("u1");
        }
        expect(epoch).toBe(0);
        expect(yield* Clock.currentTimeMillis).toBe(0);
      }),
    );
  });
});
