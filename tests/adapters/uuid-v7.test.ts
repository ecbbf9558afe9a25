import { describe, expect, spyOn, test } from "bun:test";
import { Effect } from "effect";
import { UuidIdsLayer } from "../../src/adapters/crypto/UuidIds.ts";
import { Ids } from "../../src/application/ports/Ids.ts";

const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisOf = (id: string) => Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);

const make = (count: number) =>
  Effect.runSync(
    Effect.provide(
      Effect.gen(function* () {
        const ids = yield* Ids;
        return yield* Effect.replicateEffect(ids.next, count);
      }),
      UuidIdsLayer,
    ),
  );

describe("the UUIDv7 ids", () => {
  test("have version 7, the RFC variant, and the time of their making in their first 48 bits", () => {
    const before = Date.now();
    const [id] = make(1);
    const after = Date.now();
    expect(id).toMatch(shape);
    expect(millisOf(id ?? "")).toBeGreaterThanOrEqual(before);
    expect(millisOf(id ?? "")).toBeLessThanOrEqual(after);
  });

  test("ids sort in the order they were made, many within one millisecond too", () => {
    const ids = make(5_000);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids.map(millisOf)).size).toBeLessThan(ids.length);
    for (const id of ids) expect(id).toMatch(shape);
  });

  test("a clock that steps back does not break the order", () => {
    // Near the real time, so ids made after this test carry no time from the future.
    const at = Date.now();
    const times = [at + 2, at - 1_000, at + 3];
    const clock = spyOn(Date, "now").mockImplementation(() => times.shift() ?? at);
    try {
      const ids = make(3);
      expect(ids.map(millisOf)).toEqual([at + 2, at + 2, at + 3]);
      expect([...ids].sort()).toEqual(ids);
    } finally {
      clock.mockRestore();
    }
  });
});
