import { describe, expect, test } from "bun:test";
import { fibonacci } from "../../src/domain/fibonacci.ts";
import { binet, iterativeFibonacci, knownFibonacci } from "../support/fibonacci.ts";

describe("fibonacci (fast doubling)", () => {
  test.each(knownFibonacci)("F(%d) = %s", (n, expected) => {
    expect(fibonacci(n).toString()).toBe(expected);
  });

  test("agrees with iterative addition for every n up to 300 and for 5,000", () => {
    let a = 0n;
    let b = 1n;
    for (let n = 0; n <= 300; n++) {
      expect(fibonacci(n)).toBe(a);
      [a, b] = [b, a + b];
    }
    expect(fibonacci(5_000).toString()).toBe(iterativeFibonacci(5_000));
  });

  test("F(100000) has 20,899 digits, Binet's leading digits, and matches iterative addition", () => {
    const value = fibonacci(100_000).toString();
    const expected = binet(100_000, 10);
    expect(value.length).toBe(expected.digits);
    expect(value.length).toBe(20_899);
    expect(value.slice(0, 10)).toBe(expected.prefix);
    expect(value).toBe(iterativeFibonacci(100_000));
  });

  test("satisfies F(2k) = F(k)(2F(k+1) - F(k)) and Cassini's identity at large n", () => {
    const k = 77_777;
    const [fk, fk1] = [fibonacci(k), fibonacci(k + 1)];
    expect(fibonacci(2 * k)).toBe(fk * (2n * fk1 - fk));
    // F(n-1)F(n+1) - F(n)^2 = (-1)^n
    expect(fibonacci(k - 1) * fk1 - fk * fk).toBe(-1n);
  });

  test.each([-1, 1.5, Number.NaN, 2 ** 32])("refuses %p", (n) => {
    expect(() => fibonacci(n)).toThrow(RangeError);
  });
});
