import { expect, test } from "bun:test";
import { Effect, Layer, ManagedRuntime } from "effect";
import { HmacTokensLayer, makeTokens } from "../../src/adapters/crypto/HmacTokens.ts";
import { MemoryEventStoreLayer } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { Explainer, ExplainerLive, explainerDefaults } from "../../src/application/Explainer.ts";
import { epochCodes, judgedEvents } from "../../src/application/explain.ts";
import { EventStore } from "../../src/application/ports/EventStore.ts";
import { epochTypes, revocationTypes } from "../../src/application/projection.ts";

const secret = "x".repeat(48);
const issuer = "authlog";

/** The in-memory store, with every stream read counted and held for `delayMs`. */
const slowStore = (delayMs: number) => {
  const reads = { started: 0, inFlight: 0, most: 0 };
  const layer = Layer.effect(
    EventStore,
    Effect.gen(function* () {
      const store = yield* EventStore;
      return EventStore.of({
        ...store,
        readStreams: (ids, filter) =>
          Effect.gen(function* () {
            reads.started++;
            reads.inFlight++;
            reads.most = Math.max(reads.most, reads.inFlight);
            yield* Effect.sleep(delayMs);
            return yield* store.readStreams(ids, filter);
          }).pipe(Effect.ensuring(Effect.sync(() => reads.inFlight--))),
      });
    }),
  ).pipe(Layer.provide(MemoryEventStoreLayer));
  return { reads, layer };
};

const genuineTokens = async (users: number, perUser: number) => {
  const tokens = makeTokens({ secret, issuer });
  const now = Math.floor(Date.now() / 1000);
  return Promise.all(
    Array.from({ length: users * perUser }, (_, i) =>
      Effect.runPromise(
        tokens.signAccess({
          sub: `user-${i % users}`,
          username: `user_${i % users}`,
          role: "user",
          epoch: 0,
          sid: `session-${i % users}`,
          jti: `token-${i}`,
          iat: now,
          exp: now + 900,
        }),
      ),
    ),
  );
};

test("a flood of refused genuine tokens over a slow log: few reads at once, every answer fast and unexplained", async () => {
  const { reads, layer } = slowStore(2_000);
  const runtime = ManagedRuntime.make(
    ExplainerLive().pipe(Layer.provide(layer), Layer.provide(HmacTokensLayer({ secret, issuer }))),
  );
  try {
    const { explain } = await runtime.runPromise(Explainer);
    const flood = await genuineTokens(20, 10);
    const started = performance.now();
    const answers = await Promise.all(flood.map((token) => explain(token)));
    const elapsed = performance.now() - started;
    // One read per user and session however many tokens name them, and never more than the cap.
    expect(reads.most).toBeLessThanOrEqual(explainerDefaults.maxInFlight);
    expect(reads.started).toBeLessThanOrEqual(explainerDefaults.maxInFlight);
    // The refusal is not held up by the log: past the timeout it goes out without a cause.
    expect(elapsed).toBeLessThan(explainerDefaults.timeoutMs + 500);
    expect(new Set(answers.map((answer) => JSON.stringify(answer)))).toEqual(
      new Set([JSON.stringify({ code: "invalid_token" })]),
    );
  } finally {
    await runtime.dispose();
  }
});

test("every event that moves a user's epoch past a token's has a refusal code", () => {
  const moves = epochTypes.filter((type) => type !== "UserRegistered");
  expect(moves.filter((type) => epochCodes[type] === undefined)).toEqual([]);
});

test("inspections and explanations read every event that can refuse a token", () => {
  const { types } = judgedEvents(0);
  const refusing = [...epochTypes, ...revocationTypes, "SigningKeyRevoked"];
  expect(refusing.filter((type) => !types.includes(type))).toEqual([]);
});
