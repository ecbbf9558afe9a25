import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Effect, Exit } from "effect";
import {
  ClaimTaken,
  type EventStore,
  startOfLog,
  VersionConflict,
} from "../../src/application/ports/EventStore.ts";

type Service = EventStore["Service"];

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);
const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.flip(effect));

const event = (type: string) => ({ type, data: { n: type } });

/** The multi-stream append every EventStore adapter must offer; `fresh` yields an empty store. */
export const appendManyContract = (
  name: string,
  fresh: () => Promise<{ readonly store: Service; readonly dispose: () => Promise<void> }>,
) =>
  describe(`EventStore appendMany contract: ${name}`, () => {
    let store: Service;
    let dispose: () => Promise<void>;

    beforeEach(async () => {
      ({ store, dispose } = await fresh());
    });
    afterEach(() => dispose());

    const types = async (streamId: string) =>
      (await run(store.readStream(streamId))).map((record) => record.type);

    test("writes every stream in one step and answers in the order asked", async () => {
      await run(store.append("b", [event("B1")], { expectedVersion: 0 }));
      const results = await run(
        store.appendMany(
          [
            { streamId: "b", events: [event("B2")], expectedVersion: 1 },
            { streamId: "a", events: [event("A1"), event("A2")], expectedVersion: 0 },
          ],
          { actor: "tester" },
        ),
      );
      expect(results.map((r) => r.nextVersion)).toEqual([2, 2]);
      expect(results[1]?.events.map((e) => [e.streamId, e.version, e.type])).toEqual([
        ["a", 1, "A1"],
        ["a", 2, "A2"],
      ]);
      expect(results[0]?.events[0]?.metadata).toEqual({ actor: "tester" });
      expect(await types("a")).toEqual(["A1", "A2"]);
      expect(await types("b")).toEqual(["B1", "B2"]);
      const page = await run(store.readAll(startOfLog, 10));
      expect(page.events.map((e) => e.type).sort()).toEqual(["A1", "A2", "B1", "B2"]);
    });

    test("one stream at the wrong version fails the step naming it, and nothing is written", async () => {
      await run(store.append("b", [event("B1")], { expectedVersion: 0 }));
      const error = await failure(
        store.appendMany([
          { streamId: "a", events: [event("A1")], expectedVersion: 0, claims: ["k:a"] },
          { streamId: "b", events: [event("B2")], expectedVersion: 0 },
        ]),
      );
      expect(error).toBeInstanceOf(VersionConflict);
      expect((error as VersionConflict).streamId).toBe("b");
      expect(await types("a")).toEqual([]);
      expect(await types("b")).toEqual(["B1"]);
      expect(await run(store.findClaim("k:a"))).toBeNull();
    });

    test("a claim another stream owns fails the step, and nothing is written", async () => {
      await run(store.append("x", [event("X1")], { expectedVersion: 0, claims: ["k:taken"] }));
      const error = await failure(
        store.appendMany([
          { streamId: "a", events: [event("A1")], expectedVersion: 0 },
          { streamId: "b", events: [event("B1")], expectedVersion: 0, claims: ["k:taken"] },
        ]),
      );
      expect(error).toBeInstanceOf(ClaimTaken);
      expect((error as ClaimTaken).key).toBe("k:taken");
      expect(await types("a")).toEqual([]);
      expect(await types("b")).toEqual([]);
    });

    test("20 concurrent steps sharing a stream at one version: exactly one lands", async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          Effect.runPromiseExit(
            store.appendMany([
              { streamId: `own-${i}`, events: [event(`O${i}`)], expectedVersion: 0 },
              { streamId: "shared", events: [event(`S${i}`)], expectedVersion: 0 },
            ]),
          ),
        ),
      );
      const won = outcomes.filter(Exit.isSuccess);
      expect(won).toHaveLength(1);
      for (const outcome of outcomes.filter(Exit.isFailure)) {
        expect(JSON.stringify(outcome.cause)).toContain("VersionConflict");
      }
      expect(await types("shared")).toHaveLength(1);
      const own = await Promise.all(outcomes.map((_, i) => types(`own-${i}`)));
      expect(own.flat()).toHaveLength(1);
    });

    test("steps that take two streams in opposite orders never deadlock", async () => {
      let landed = 0;
      for (let round = 0; round < 5; round++) {
        const at = (await types("p")).length;
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, i) => {
            const pair = [
              { streamId: "p", events: [event(`P${round}.${i}`)], expectedVersion: at },
              { streamId: "q", events: [event(`Q${round}.${i}`)], expectedVersion: at },
            ];
            return Effect.runPromiseExit(store.appendMany(i % 2 === 0 ? pair : pair.reverse()));
          }),
        );
        for (const outcome of outcomes) {
          if (Exit.isFailure(outcome))
            expect(JSON.stringify(outcome.cause)).toContain("VersionConflict");
        }
        expect(outcomes.filter(Exit.isSuccess)).toHaveLength(1);
        landed++;
      }
      expect(await types("p")).toHaveLength(landed);
      expect(await types("q")).toHaveLength(landed);
    });

    test("a repeated stream or a stream without events is a defect", async () => {
      const repeated = await Effect.runPromiseExit(
        store.appendMany([
          { streamId: "a", events: [event("A1")], expectedVersion: 0 },
          { streamId: "a", events: [event("A2")], expectedVersion: 1 },
        ]),
      );
      const empty = await Effect.runPromiseExit(
        store.appendMany([{ streamId: "a", events: [], expectedVersion: 0 }]),
      );
      expect(Exit.isFailure(repeated) && Exit.hasDies(repeated)).toBe(true);
      expect(Exit.isFailure(empty) && Exit.hasDies(empty)).toBe(true);
      expect(await types("a")).toEqual([]);
    });
  });
