import { describe, expect, test } from "bun:test";
import { makeUuidV7 } from "../../src/adapters/crypto/UuidIds.ts";

const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("the portable UUIDv7", () => {
  test("has version 7, the RFC variant, and the time in its first 48 bits", () => {
    const at = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const id = makeUuidV7(() => at)();
    expect(id).toMatch(shape);
    expect(Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16)).toBe(at);
  });

  test("ids from one generator sort in the order they were made, within one millisecond too", () => {
    const next = makeUuidV7(() => 1_800_000_000_000);
    const ids = Array.from({ length: 5_000 }, next);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(shape);
  });

  test("a clock that steps back does not break the order", () => {
    const times = [2_000_000_000_000, 1_999_999_999_000, 2_000_000_000_001];
    const next = makeUuidV7(() => times.shift() ?? 0);
    const ids = [next(), next(), next()];
    expect([...ids].sort()).toEqual(ids);
  });
});
