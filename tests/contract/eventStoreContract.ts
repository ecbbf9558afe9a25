import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Effect, Exit, Scope } from "effect";
import {
  type AppendOptions,
  type Checkpoint,
  ClaimTaken,
  type EventData,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
  type ScanFilter,
  startOfLog,
  VersionConflict,
} from "../../src/application/ports/EventStore.ts";

type Service = EventStore["Service"];

/** A transaction on its own connection that writes to the log directly and commits when told. */
export type LateTransaction = {
  /** Makes the transaction take its id now, before it writes anything. */
  readonly takeId: () => Promise<void>;
  readonly insert: (streamId: string, type: string, position?: number) => Promise<void>;
  readonly commit: () => Promise<void>;
  /** Rolls back if still open and gives the connection back. */
  readonly close: () => Promise<void>;
};

export type Harness = {
  readonly store: Service;
  readonly dispose: () => Promise<void>;
  readonly late?: {
    readonly begin: () => Promise<LateTransaction>;
    /** Takes a position from the log's sequence in a transaction that commits at once. */
    readonly reservePosition: () => Promise<number>;
  };
  /** Closes the store and opens it again from the same files. */
  readonly reopen?: () => Promise<Service>;
};

export type Capabilities = {
  /** Several writers commit in any order (late-commit cases apply). */
  readonly concurrentWriters: boolean;
  /** The store lives in files that outlive it. */
  readonly durableFiles: boolean;
};

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);
const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.flip(effect));

const event = (type: string, data: unknown = { n: type }): NewEvent => ({ type, data });

const required = <A>(value: A | undefined, what: string): A => {
  if (value === undefined) throw new Error(`the harness provides no ${what}`);
  return value;
};

/** Every event after `from`, page by page, until a page comes back empty. */
const drain = async (store: Service, from: Checkpoint, limit = 100) => {
  const events: RecordedEvent[] = [];
  let checkpoint = from;
  for (;;) {
    const page = await run(store.readAll(checkpoint, limit));
    if (page.events.length === 0) return { events, checkpoint };
    expect(page.events.length).toBeLessThanOrEqual(limit);
    events.push(...page.events);
    checkpoint = page.checkpoint;
  }
};

/** Everything a scan hands over, and the checkpoint it returns. */
const collect = async (store: Service, filter: ScanFilter) => {
  const events: EventData[] = [];
  const checkpoint = await run(
    store.scan(filter, (batch) =>
      Effect.sync(() => {
        events.push(...batch);
      }),
    ),
  );
  return { events, checkpoint };
};

/**
 * Reads on until `count` events came back. A transaction elsewhere in the cluster can hold the
 * visibility horizon back for a moment; a skipped event never arrives and fails the deadline.
 */
const readUntil = async (store: Service, from: Checkpoint, count: number, limit = 100) => {
  const deadline = Date.now() + 5000;
  const events: RecordedEvent[] = [];
  let checkpoint = from;
  for (;;) {
    const page = await drain(store, checkpoint, limit);
    events.push(...page.events);
    checkpoint = page.checkpoint;
    if (events.length >= count) return { events, checkpoint };
    if (Date.now() > deadline) {
      throw new Error(`expected ${count} events after ${from}, got ${events.length}`);
    }
    await Bun.sleep(10);
  }
};

const callCounter = () => {
  let count = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  return {
    onAppend: () => {
      count++;
      const due = waiters.filter((w) => w.n <= count);
      waiters = waiters.filter((w) => w.n > count);
      for (const waiter of due) waiter.resolve();
    },
    get count() {
      return count;
    },
    /** Resolves once `onAppend` was called at least `n` times; fails after 5 s. */
    until: (n: number) =>
      new Promise<void>((resolve, reject) => {
        if (count >= n) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`onAppend called ${count}/${n} times`)),
          5000,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
  };
};

/** The behaviour every EventStore adapter must show; `fresh` yields an empty store. */
export const eventStoreContract = (
  name: string,
  fresh: () => Promise<Harness>,
  capabilities: Capabilities,
) =>
  describe(`EventStore contract: ${name}`, () => {
    let harness: Harness;
    let store: Service;
    const append = (streamId: string, events: readonly NewEvent[], options: AppendOptions) =>
      store.append(streamId, events, options);
    /** Appends at whatever version the stream is at, for tests about reading. */
    const appendNext = async (streamId: string, events: readonly NewEvent[]) =>
      run(
        store.append(streamId, events, {
          expectedVersion: (await run(store.readStream(streamId))).length,
        }),
      );

    beforeEach(async () => {
      harness = await fresh();
      store = harness.store;
    });
    afterEach(() => harness.dispose());

    describe("append", () => {
      test("the first append to a new stream expects version 0 and records version 1", async () => {
        const result = await run(
          append("user-1", [event("UserRegistered")], { expectedVersion: 0 }),
        );
        expect(result.nextVersion).toBe(1);
        expect(result.events).toHaveLength(1);
        expect(result.events[0]).toMatchObject({
          streamId: "user-1",
          version: 1,
          type: "UserRegistered",
          data: { n: "UserRegistered" },
        });
        expect(typeof result.events[0]?.position).toBe("number");
        expect(await run(store.readStream("user-1"))).toEqual(result.events);
      });

      test("versions run 1..n without gaps across appends", async () => {
        await run(append("s", [event("A"), event("B")], { expectedVersion: 0 }));
        const second = await run(
          append("s", [event("C"), event("D"), event("E")], { expectedVersion: 2 }),
        );
        expect(second.nextVersion).toBe(5);
        expect(second.events.map((e) => e.version)).toEqual([3, 4, 5]);
        const stream = await run(store.readStream("s"));
        expect(stream.map((e) => [e.version, e.type])).toEqual([
          [1, "A"],
          [2, "B"],
          [3, "C"],
          [4, "D"],
          [5, "E"],
        ]);
        const positions = stream.map((e) => e.position);
        expect(new Set(positions).size).toBe(5);
        expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      });

      test("an expected version below the stream's fails with VersionConflict and writes nothing", async () => {
        await run(append("s", [event("A"), event("B")], { expectedVersion: 0 }));
        for (const stale of [0, 1]) {
          const error = await failure(append("s", [event("X")], { expectedVersion: stale }));
          expect(error).toBeInstanceOf(VersionConflict);
          expect(error).toMatchObject({ streamId: "s", expectedVersion: stale });
        }
        expect((await run(store.readStream("s"))).map((e) => e.type)).toEqual(["A", "B"]);
      });

      test("an expected version beyond the stream's fails with VersionConflict", async () => {
        const onEmpty = await failure(append("s", [event("X")], { expectedVersion: 1 }));
        expect(onEmpty).toBeInstanceOf(VersionConflict);
        await run(append("s", [event("A")], { expectedVersion: 0 }));
        const ahead = await failure(append("s", [event("X")], { expectedVersion: 3 }));
        expect(ahead).toMatchObject({ _tag: "VersionConflict", streamId: "s", expectedVersion: 3 });
        expect(await run(store.readStream("s"))).toHaveLength(1);
      });

      test("concurrent appends with the same expected version: exactly one wins", async () => {
        await run(append("s", [event("A")], { expectedVersion: 0 }));
        const exits = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            Effect.runPromiseExit(append("s", [event(`B${i}`)], { expectedVersion: 1 })),
          ),
        );
        const wins = exits.filter(Exit.isSuccess);
        expect(wins).toHaveLength(1);
        for (const exit of exits.filter(Exit.isFailure)) {
          expect(Exit.findErrorOption(exit)).toMatchObject({
            _tag: "Some",
            value: { _tag: "VersionConflict" },
          });
        }
        expect((await run(store.readStream("s"))).map((e) => e.version)).toEqual([1, 2]);
      });

      test("appending no events only checks the version", async () => {
        expect(await run(append("s", [], { expectedVersion: 0 }))).toEqual({
          nextVersion: 0,
          events: [],
        });
        expect(await failure(append("s", [], { expectedVersion: 1 }))).toBeInstanceOf(
          VersionConflict,
        );
        await run(append("s", [event("A"), event("B")], { expectedVersion: 0 }));
        expect((await run(append("s", [], { expectedVersion: 2 }))).nextVersion).toBe(2);
        expect(await failure(append("s", [], { expectedVersion: 0 }))).toBeInstanceOf(
          VersionConflict,
        );
        expect(await run(store.readStream("s"))).toHaveLength(2);
        expect((await drain(store, startOfLog)).events).toHaveLength(2);
      });

      test("metadata, data and recordedAt round-trip", async () => {
        const before = Date.now();
        const data = { userId: "u1", nested: { list: [1, "two", null], flag: true }, text: "é ✓" };
        const metadata = { requestId: "req-1", actor: "user-9", clientIp: "203.0.113.7" };
        const appended = await run(
          append("s", [{ type: "UserRegistered", data }], { expectedVersion: 0, metadata }),
        );
        const after = Date.now();
        const [read] = await run(store.readStream("s"));
        expect(read?.data).toEqual(data);
        expect(read?.metadata).toEqual(metadata);
        expect(read?.recordedAt).toBeInstanceOf(Date);
        const recordedAt = read?.recordedAt.getTime() ?? 0;
        // The database clock may differ from this process's by a little.
        expect(recordedAt).toBeGreaterThanOrEqual(before - 1000);
        expect(recordedAt).toBeLessThanOrEqual(after + 1000);
        expect(appended.events[0]?.recordedAt.getTime()).toBe(recordedAt);
        expect(appended.events[0]?.metadata).toEqual(metadata);
        const [fromLog] = (await drain(store, startOfLog)).events;
        expect(fromLog).toEqual(read as RecordedEvent);
        expect(await run(store.readStreams(["s", "other"]))).toEqual([read as RecordedEvent]);
      });

      test("metadata defaults to empty", async () => {
        await run(append("s", [event("A")], { expectedVersion: 0 }));
        expect((await run(store.readStream("s")))[0]?.metadata).toEqual({});
      });
    });

    describe("claims", () => {
      test("100 concurrent appends claiming one username: exactly one wins, the others write nothing", async () => {
        const exits = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            Effect.runPromiseExit(
              append(`user-${i}`, [event("UserRegistered")], {
                expectedVersion: 0,
                claims: ["username:alice"],
              }),
            ),
          ),
        );
        const winners = exits.flatMap((exit, i) => (Exit.isSuccess(exit) ? [`user-${i}`] : []));
        expect(winners).toHaveLength(1);
        const losers = exits.filter(Exit.isFailure);
        expect(losers).toHaveLength(99);
        for (const exit of losers) {
          expect(Exit.findErrorOption(exit)).toMatchObject({
            _tag: "Some",
            value: { _tag: "ClaimTaken", key: "username:alice" },
          });
        }
        expect(await run(store.findClaim("username:alice"))).toBe(winners[0] ?? "none");
        const log = await readUntil(store, startOfLog, 1);
        expect(log.events.map((e) => e.streamId)).toEqual(winners);
        expect((await drain(store, log.checkpoint)).events).toHaveLength(0);
      });

      test("a key another stream owns fails the append with ClaimTaken naming the key", async () => {
        await run(
          append("user-a", [event("A")], { expectedVersion: 0, claims: ["username:alice"] }),
        );
        const error = await failure(
          append("user-b", [event("B")], {
            expectedVersion: 0,
            claims: ["email:b@example.com", "username:alice"],
          }),
        );
        expect(error).toBeInstanceOf(ClaimTaken);
        expect(error).toMatchObject({ key: "username:alice" });
        expect(await run(store.readStream("user-b"))).toEqual([]);
        expect(await run(store.findClaim("email:b@example.com"))).toBeNull();
        expect(await run(store.findClaim("username:alice"))).toBe("user-a");
      });

      test("a version conflict writes no claim", async () => {
        await run(append("user-a", [event("A")], { expectedVersion: 0 }));
        const error = await failure(
          append("user-a", [event("B")], { expectedVersion: 0, claims: ["username:bob"] }),
        );
        expect(error).toBeInstanceOf(VersionConflict);
        expect(await run(store.findClaim("username:bob"))).toBeNull();
      });

      test("a stream may claim a key it already owns, alongside new ones", async () => {
        await run(
          append("user-a", [event("A")], { expectedVersion: 0, claims: ["username:alice"] }),
        );
        const again = await run(
          append("user-a", [event("B")], {
            expectedVersion: 1,
            claims: ["username:alice", "email:a@example.com"],
          }),
        );
        expect(again.nextVersion).toBe(2);
        expect(await run(store.findClaim("username:alice"))).toBe("user-a");
        expect(await run(store.findClaim("email:a@example.com"))).toBe("user-a");
      });

      test("findClaim answers null for a key nobody claimed", async () => {
        await run(
          append("user-a", [event("A")], { expectedVersion: 0, claims: ["username:alice"] }),
        );
        expect(await run(store.findClaim("username:bob"))).toBeNull();
        expect(await run(store.findClaim("username:alice"))).toBe("user-a");
      });
    });

    describe("reading", () => {
      test("readStream returns one stream's events in version order, and [] for an unknown stream", async () => {
        await run(append("a", [event("A1")], { expectedVersion: 0 }));
        await run(append("b", [event("B1")], { expectedVersion: 0 }));
        await run(append("a", [event("A2"), event("A3")], { expectedVersion: 1 }));
        const stream = await run(store.readStream("a"));
        expect(stream.map((e) => e.type)).toEqual(["A1", "A2", "A3"]);
        expect(stream.every((e) => e.streamId === "a")).toBe(true);
        expect(await run(store.readStream("nobody"))).toEqual([]);
      });

      test("readStreams merges several streams in log order and ignores unknown ones", async () => {
        await run(append("a", [event("A1")], { expectedVersion: 0 }));
        await run(append("b", [event("B1")], { expectedVersion: 0 }));
        await run(append("c", [event("C1")], { expectedVersion: 0 }));
        await run(append("a", [event("A2")], { expectedVersion: 1 }));
        const merged = await run(store.readStreams(["a", "b", "nobody"]));
        expect(merged.map((e) => `${e.streamId}@${e.version}`)).toEqual(["a@1", "b@1", "a@2"]);
        expect(await run(store.readStreams([]))).toEqual([]);
      });

      test("streamsStartedWith finds the streams whose first event carries the value, in order", async () => {
        const started = (userId: string) => ({ type: "Started", data: { userId, n: 1 } });
        await run(append("s2", [started("u1")], { expectedVersion: 0 }));
        await run(append("s1", [started("u2")], { expectedVersion: 0 }));
        await run(append("s3", [started("u1")], { expectedVersion: 0 }));
        await run(
          append("s4", [{ type: "Other", data: { userId: "u1" } }], { expectedVersion: 0 }),
        );
        await run(append("s1", [started("u1")], { expectedVersion: 1 }));
        await run(
          append("s5", [{ type: "Started", data: { userId: "u1'); --" } }], { expectedVersion: 0 }),
        );
        expect(await run(store.streamsStartedWith("Started", "userId", "u1"))).toEqual([
          "s2",
          "s3",
        ]);
        expect(await run(store.streamsStartedWith("Started", "userId", "u1'); --"))).toEqual([
          "s5",
        ]);
        expect(await run(store.streamsStartedWith("Started", "n", "1"))).toEqual([]);
        expect(await run(store.streamsStartedWith("Started", "userId", "nobody"))).toEqual([]);
      });

      test("readAll from the start returns every event in append order", async () => {
        await run(append("a", [event("1"), event("2")], { expectedVersion: 0 }));
        await run(append("b", [event("3")], { expectedVersion: 0 }));
        await run(append("a", [event("4")], { expectedVersion: 2 }));
        const all = await readUntil(store, startOfLog, 4);
        expect(all.events.map((e) => e.type)).toEqual(["1", "2", "3", "4"]);
        expect(all.events.map((e) => `${e.streamId}@${e.version}`)).toEqual([
          "a@1",
          "a@2",
          "b@1",
          "a@3",
        ]);
        const end = await run(store.readAll(all.checkpoint, 10));
        // Checkpoints are opaque, and PostgreSQL's move with any transaction in the cluster.
        expect(end.events).toEqual([]);
      });

      test("an empty log reads as empty, and its checkpoint still leads to what comes next", async () => {
        const empty = await run(store.readAll(startOfLog, 10));
        expect(empty.events).toEqual([]);
        await run(append("a", [event("First")], { expectedVersion: 0 }));
        const next = await run(store.readAll(empty.checkpoint, 10));
        expect(next.events.map((e) => e.type)).toEqual(["First"]);
      });

      test("readAll can be limited to some event types, paging on from its checkpoints", async () => {
        for (const [i, type] of ["A", "B", "A", "C", "A"].entries()) {
          await run(store.append(`s-${i}`, [event(type)], { expectedVersion: 0 }));
        }
        const types = ["A", "C"];
        const first = await run(store.readAll(startOfLog, 2, { types }));
        expect(first.events.map((e) => e.streamId)).toEqual(["s-0", "s-2"]);
        const rest = await run(store.readAll(first.checkpoint, 10, { types }));
        expect(rest.events.map((e) => e.streamId)).toEqual(["s-3", "s-4"]);
        expect((await run(store.readAll(rest.checkpoint, 10, { types }))).events).toEqual([]);
      });

      test("liveAt leaves out events whose numeric expiresAt is not after it, and no others", async () => {
        const kept = [
          { expiresAt: 2_000 },
          { expiresAt: 1_000.5 },
          { expiresAt: "500" },
          { expiresAt: null },
          { other: 1 },
          { nested: { expiresAt: 10 } },
          [1, 2],
          "text",
          7,
          null,
        ];
        const dropped = [{ expiresAt: 1_000 }, { expiresAt: 999 }, { expiresAt: -1, userId: "u" }];
        for (const [i, data] of [...kept, ...dropped].entries()) {
          await run(store.append(`s-${i}`, [event(`T${i}`, data)], { expectedVersion: 0 }));
        }
        const all = await run(store.readAll(startOfLog, 100, { liveAt: 1_000 }));
        expect(all.events.map((e) => e.data)).toEqual(kept);
        const lean = await run(store.readData(startOfLog, 100, { liveAt: 1_000 }));
        expect(lean.events).toEqual(all.events.map(({ type, data }) => ({ type, data })));
        const typed = await run(
          store.readAll(startOfLog, 100, { liveAt: 1_000, types: ["T0", "T11"] }),
        );
        expect(typed.events.map((e) => e.type)).toEqual(["T0"]);
      });

      test("readData reads what readAll reads, page for page, type and data only", async () => {
        const odd = [
          { s: 'quotes " and \\ backslashes, \n newlines, \t tabs', n: -1.5e-7, big: 2 ** 53 - 1 },
          { unicode: "żółw 🐢 \u2028 ｆｕｌｌ", empty: "", list: [null, true, false, {}] },
          [],
          "just a string",
          0,
          null,
        ];
        for (const [i, data] of odd.entries()) {
          await appendNext(`odd-${i % 2}`, [event(`Type ${i} ✓`, data)]);
        }
        let full = startOfLog;
        let lean = startOfLog;
        const seen: unknown[] = [];
        for (;;) {
          const page = await run(store.readAll(full, 4));
          const dataPage = await run(store.readData(lean, 4));
          expect(dataPage.events).toEqual(page.events.map(({ type, data }) => ({ type, data })));
          if (page.events.length === 0) break;
          seen.push(...dataPage.events.map((e) => e.data));
          full = page.checkpoint;
          lean = dataPage.checkpoint;
        }
        expect(seen).toEqual(odd);
        expect((await run(store.readData(startOfLog, 10, { types: ["Type 1 ✓"] }))).events).toEqual(
          [{ type: "Type 1 ✓", data: odd[1] }],
        );
      });

      test("readData gives the commit time of the types asked for, the time readAll gives", async () => {
        for (const type of ["Timed", "Plain", "Timed", "Other"]) {
          await appendNext(`timed-${type}`, [event(type, { type })]);
        }
        const all = await run(store.readAll(startOfLog, 10));
        const page = await run(
          store.readData(startOfLog, 10, { commitTimesOf: ["Timed", "None"] }),
        );
        expect(page.events.map((e) => [e.type, e.recordedAtMs === undefined])).toEqual([
          ["Timed", false],
          ["Plain", true],
          ["Timed", false],
          ["Other", true],
        ]);
        for (const [i, e] of page.events.entries()) {
          if (e.recordedAtMs === undefined) continue;
          expect(Math.floor(e.recordedAtMs)).toBe(all.events[i]?.recordedAt.getTime() ?? 0);
        }
        expect((await run(store.readData(startOfLog, 10))).events[0]).toEqual({
          type: "Timed",
          data: { type: "Timed" },
        });
      });

      test("readData may leave out the fields a reader does not need, and keeps the others", async () => {
        const data = { userId: "u", passwordHash: "h", nested: { passwordHash: "kept" } };
        await appendNext("lean-1", [
          event("Lean", data),
          event("Bare", "text"),
          event("List", ["passwordHash"]),
        ]);
        const page = await run(store.readData(startOfLog, 10, { unneeded: ["passwordHash"] }));
        expect(page.events).toMatchObject([
          { type: "Lean", data: { userId: "u", nested: { passwordHash: "kept" } } },
          { type: "Bare", data: "text" },
          { type: "List", data: ["passwordHash"] },
        ]);
        const lean = page.events[0]?.data as { passwordHash?: string };
        expect([undefined, "h"]).toContain(lean.passwordHash);
      });

      test("readStreams leaves out what the filter leaves out, as readAll does", async () => {
        await appendNext("user-f", [
          event("A", { expiresAt: 999 }),
          event("B", { expiresAt: 1_001 }),
          event("A", { userId: "f" }),
        ]);
        await appendNext("session-f", [event("B", { expiresAt: 5 })]);
        const types = (events: readonly RecordedEvent[]) => events.map((e) => [e.type, e.data]);
        const streams = ["user-f", "session-f"];
        expect(types(await run(store.readStreams(streams, { liveAt: 1_000 })))).toEqual([
          ["B", { expiresAt: 1_001 }],
          ["A", { userId: "f" }],
        ]);
        expect(types(await run(store.readStreams(streams, { types: ["B"] })))).toEqual([
          ["B", { expiresAt: 1_001 }],
          ["B", { expiresAt: 5 }],
        ]);
        expect(await run(store.readStreams(streams))).toHaveLength(4);
      });

      test("size counts every event in the log", async () => {
        expect(await run(store.size)).toBe(0);
        await run(store.append("a-1", [event("A"), event("B")], { expectedVersion: 0 }));
        await run(store.append("b-1", [event("C")], { expectedVersion: 0 }));
        expect(await run(store.size)).toBe(3);
      });

      test("scan hands over each event that passes the filter once, and readAll goes on from its checkpoint", async () => {
        for (let i = 0; i < 12; i++) {
          await appendNext(`s${i % 4}`, [event(i % 3 === 0 ? "A" : "B", { i })]);
        }
        const everything = await collect(store, {});
        expect(
          everything.events.map((e) => (e.data as { i: number }).i).sort((a, b) => a - b),
        ).toEqual([...Array(12).keys()]);
        const onlyA = await collect(store, { types: ["A"] });
        expect(onlyA.events.map((e) => (e.data as { i: number }).i).sort((a, b) => a - b)).toEqual([
          0, 3, 6, 9,
        ]);
        expect(onlyA.events.every((e) => e.type === "A")).toBe(true);
        await run(append("s9", [event("C", { i: 12 })], { expectedVersion: 0 }));
        const next = await readUntil(store, everything.checkpoint, 1, 3);
        expect(next.events.map((e) => e.data)).toEqual([{ i: 12 }]);
      });

      test("scan keeps only each stream's newest event of the types when asked", async () => {
        await run(
          append(
            "s1",
            [event("A", "s1-1"), event("B", "s1-2"), event("A", "s1-3"), event("C", "s1-4")],
            { expectedVersion: 0 },
          ),
        );
        await run(append("s2", [event("B", "s2-1"), event("C", "s2-2")], { expectedVersion: 0 }));
        await run(append("s3", [event("C", "s3-1")], { expectedVersion: 0 }));
        const newest = await collect(store, { types: ["A", "B"], latestPerStream: true });
        expect(newest.events.map((e) => e.data).sort()).toEqual(["s1-3", "s2-1"]);
        const live = await collect(store, { types: ["C"], latestPerStream: true, liveAt: 0 });
        expect(live.events.map((e) => e.data).sort()).toEqual(["s1-4", "s2-2", "s3-1"]);
      });

      test("scan leaves out events expired at liveAt", async () => {
        const data = [{ expiresAt: 5 }, { expiresAt: 20 }, { other: 1 }, { expiresAt: 10 }];
        for (const [i, each] of data.entries()) {
          await run(append(`s${i}`, [event("R", each)], { expectedVersion: 0 }));
        }
        const live = await collect(store, { liveAt: 10 });
        expect(live.events.map((e) => e.data)).toEqual(
          expect.arrayContaining([{ expiresAt: 20 }, { other: 1 }]),
        );
        expect(live.events).toHaveLength(2);
      });

      test("a failing batch stops the scan with its error and the store reads on", async () => {
        for (let i = 0; i < 6; i++) {
          const events = Array.from({ length: 500 }, (_, j) => event("Bulk", { n: i * 500 + j }));
          await run(append(`bulk-${i}`, events, { expectedVersion: 0 }));
        }
        class Refused extends Error {}
        let batches = 0;
        const outcome = await Effect.runPromise(
          Effect.flip(
            store.scan({}, () => {
              batches++;
              return Effect.fail(new Refused());
            }),
          ),
        );
        expect(outcome).toBeInstanceOf(Refused);
        expect(batches).toBe(1);
        expect((await collect(store, {})).events).toHaveLength(3000);
        expect((await run(store.readAll(startOfLog, 5))).events).toHaveLength(5);
      });

      test("paging with a limit from each returned checkpoint sees every event exactly once", async () => {
        for (let i = 0; i < 7; i++) {
          await appendNext(`s${i % 3}`, [event(`E${i}`)]);
        }
        const whole = await readUntil(store, startOfLog, 7, 1000);
        const pages: number[] = [];
        let checkpoint = startOfLog;
        const paged: RecordedEvent[] = [];
        for (;;) {
          const page = await run(store.readAll(checkpoint, 3));
          if (page.events.length === 0) break;
          pages.push(page.events.length);
          paged.push(...page.events);
          expect(page.checkpoint).not.toBe(checkpoint);
          checkpoint = page.checkpoint;
        }
        expect(pages).toEqual([3, 3, 1]);
        expect(paged).toEqual(whole.events);
        expect(paged.map((e) => e.type)).toEqual(["E0", "E1", "E2", "E3", "E4", "E5", "E6"]);
        await run(append("s9", [event("E7")], { expectedVersion: 0 }));
        const next = await readUntil(store, checkpoint, 1, 3);
        expect(next.events.map((e) => e.type)).toEqual(["E7"]);
      });
      test("a log that ends on a full page: that page's checkpoint still reads what comes later", async () => {
        for (let i = 0; i < 6; i++) await appendNext(`f${i % 2}`, [event(`F${i}`)]);
        const first = await run(store.readAll(startOfLog, 3));
        const second = await run(store.readAll(first.checkpoint, 3));
        expect(second.events.map((e) => e.type)).toEqual(["F3", "F4", "F5"]);
        expect((await run(store.readAll(second.checkpoint, 3))).events).toEqual([]);
        await run(append("f9", [event("F6")], { expectedVersion: 0 }));
        const later = await readUntil(store, second.checkpoint, 1, 3);
        expect(later.events.map((e) => e.type)).toEqual(["F6"]);
      });
    });

    describe("subscribe", () => {
      test("onAppend is called after an append, and no longer once its scope closed", async () => {
        const first = callCounter();
        const scope = await run(Scope.make());
        await run(store.subscribe(first.onAppend).pipe(Scope.provide(scope)));
        await run(append("s", [event("A")], { expectedVersion: 0 }));
        await first.until(1);
        await run(Scope.close(scope, Exit.void));
        const seen = first.count;

        // A second subscriber still hears the next append, so the first would have by then.
        const second = callCounter();
        const secondScope = await run(Scope.make());
        await run(store.subscribe(second.onAppend).pipe(Scope.provide(secondScope)));
        await run(append("s", [event("B")], { expectedVersion: 1 }));
        await second.until(1);
        expect(first.count).toBe(seen);
        await run(Scope.close(secondScope, Exit.void));
      });
    });

    if (capabilities.concurrentWriters)
      describe("late commits", () => {
        test("an event whose transaction began first but commits last is read after the checkpoint", async () => {
          const late = await required(harness.late, "late transactions").begin();
          try {
            await late.insert("late", "Late");
            await run(append("on-time", [event("OnTime")], { expectedVersion: 0 }));
            const before = await drain(store, startOfLog);
            expect(before.events.map((e) => e.type)).not.toContain("Late");
            await late.commit();
            const after = await readUntil(store, before.checkpoint, 2 - before.events.length);
            const types = [...before.events, ...after.events].map((e) => e.type);
            expect(types.sort()).toEqual(["Late", "OnTime"]);
            expect(after.events.map((e) => e.type)).toContain("Late");
          } finally {
            await late.close();
          }
        });

        test("a scan leaves a transaction still open to the reads that follow its checkpoint", async () => {
          const late = await required(harness.late, "late transactions").begin();
          try {
            await late.insert("late", "Late");
            await run(append("on-time", [event("OnTime")], { expectedVersion: 0 }));
            const scanned = await collect(store, {});
            expect(scanned.events.map((e) => e.type)).not.toContain("Late");
            await late.commit();
            const after = await readUntil(store, scanned.checkpoint, 2 - scanned.events.length);
            const types = [...scanned.events, ...after.events].map((e) => e.type);
            expect(types.sort()).toEqual(["Late", "OnTime"]);
          } finally {
            await late.close();
          }
        });

        test("a late transaction that took its id first but wrote after the append is not skipped", async () => {
          const late = await required(harness.late, "late transactions").begin();
          try {
            await late.takeId();
            await run(append("on-time", [event("OnTime")], { expectedVersion: 0 }));
            await late.insert("late", "Late");
            const before = await drain(store, startOfLog);
            expect(before.events.map((e) => e.type)).not.toContain("Late");
            await late.commit();
            const after = await readUntil(store, before.checkpoint, 2 - before.events.length);
            const types = [...before.events, ...after.events].map((e) => e.type);
            expect(types.sort()).toEqual(["Late", "OnTime"]);
          } finally {
            await late.close();
          }
        });

        test("a transaction left open does not hide events committed after it began", async () => {
          const open = await required(harness.late, "late transactions").begin();
          try {
            await open.takeId();
            await run(append("early", [event("Early")], { expectedVersion: 0 }));
            const first = await drain(store, startOfLog);
            expect(first.events.map((e) => e.type)).toEqual(["Early"]);
            await run(append("later", [event("Later")], { expectedVersion: 0 }));
            const next = await drain(store, first.checkpoint);
            expect(next.events.map((e) => e.type)).toEqual(["Later"]);
            const scanned = await collect(store, {});
            expect(scanned.events.map((e) => e.type).sort()).toEqual(["Early", "Later"]);
            expect((await drain(store, scanned.checkpoint)).events).toEqual([]);
            await open.insert("late", "Late");
            await open.commit();
            const late = await drain(store, next.checkpoint);
            expect(late.events.map((e) => e.type)).toEqual(["Late"]);
            const afterScan = await drain(store, scanned.checkpoint);
            expect(afterScan.events.map((e) => e.type)).toEqual(["Late"]);
          } finally {
            await open.close();
          }
        });

        test("paging through the events of a transaction left open sees each exactly once", async () => {
          const open = await required(harness.late, "late transactions").begin();
          try {
            await open.takeId();
            for (let i = 0; i < 7; i++) {
              await run(append(`s${i}`, [event(`E${i}`), event(`F${i}`)], { expectedVersion: 0 }));
            }
            const paged = await drain(store, startOfLog, 3);
            expect(paged.events.map((e) => e.type).sort()).toEqual(
              Array.from({ length: 7 }, (_, i) => [`E${i}`, `F${i}`])
                .flat()
                .sort(),
            );
            await open.insert("late", "Late");
            await open.commit();
            expect((await drain(store, paged.checkpoint, 3)).events.map((e) => e.type)).toEqual([
              "Late",
            ]);
          } finally {
            await open.close();
          }
        });

        test("a late row with a smaller position than an event already read is still returned", async () => {
          const hooks = required(harness.late, "late transactions");
          const reserved = await hooks.reservePosition();
          const onTime = await run(append("on-time", [event("OnTime")], { expectedVersion: 0 }));
          expect(onTime.events[0]?.position).toBeGreaterThan(reserved);
          const late = await hooks.begin();
          try {
            await late.insert("late", "Late", reserved);
            const before = await readUntil(store, startOfLog, 1);
            expect(before.events.map((e) => e.type)).toEqual(["OnTime"]);
            await late.commit();
            const after = await readUntil(store, before.checkpoint, 1);
            expect(after.events.map((e) => [e.type, e.position])).toEqual([["Late", reserved]]);
          } finally {
            await late.close();
          }
        });
      });

    if (capabilities.durableFiles)
      describe("restart", () => {
        test("everything survives close and reopen, and appends continue versions and positions", async () => {
          await run(
            append("user-a", [event("A1"), event("A2")], {
              expectedVersion: 0,
              claims: ["username:alice"],
              metadata: { actor: "admin" },
            }),
          );
          await run(append("user-b", [event("B1")], { expectedVersion: 0 }));
          const before = await drain(store, startOfLog);
          store = await required(harness.reopen, "reopen")();

          expect(await drain(store, startOfLog)).toEqual(before);
          expect((await run(store.readStream("user-a"))).map((e) => e.type)).toEqual(["A1", "A2"]);
          expect(await run(store.findClaim("username:alice"))).toBe("user-a");
          expect(
            await failure(
              append("user-c", [event("C1")], { expectedVersion: 0, claims: ["username:alice"] }),
            ),
          ).toBeInstanceOf(ClaimTaken);
          const next = await run(append("user-a", [event("A3")], { expectedVersion: 2 }));
          expect(next.events[0]?.version).toBe(3);
          const lastPosition = before.events[before.events.length - 1]?.position ?? 0;
          expect(next.events[0]?.position).toBeGreaterThan(lastPosition);
          expect((await drain(store, before.checkpoint)).events.map((e) => e.type)).toEqual(["A3"]);
        });
      });
  });
