/** F(n) by plain iterative addition: slow, obviously right, independent of fast doubling. */
export const iterativeFibonacci = (n: number): string => {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a.toString();
};

/** Digit count and leading digits of F(n) from Binet's formula, in floating point. */
export const binet = (n: number, leadingDigits: number) => {
  const log10 = n * Math.log10((1 + Math.sqrt(5)) / 2) - Math.log10(Math.sqrt(5));
  const mantissa = 10 ** (log10 - Math.floor(log10));
  return {
    digits: Math.floor(log10) + 1,
    prefix: String(Math.floor(mantissa * 10 ** (leadingDigits - 1))),
  };
};

/** Small values everyone can check by hand or look up. */
export const knownFibonacci: readonly (readonly [number, string])[] = [
  [0, "0"],
  [1, "1"],
  [2, "1"],
  [3, "2"],
  [10, "55"],
  [20, "6765"],
  [50, "12586269025"],
  [93, "12200160415121876738"],
  [100, "354224848179261915075"],
];
