/** Fast doubling from the top bit: F(2k) = F(k)(2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2. */
export const fibonacci = (n: number): bigint => {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new RangeError(`fibonacci: ${n} is not an integer from 0 to 2^32 - 1`);
  }
  let a = 0n; // F(k)
  let b = 1n; // F(k + 1)
  for (let bit = 31 - Math.clz32(n); n > 0 && bit >= 0; bit--) {
    const even = a * (2n * b - a);
    const odd = a * a + b * b;
    if ((n >>> bit) & 1) {
      a = odd;
      b = even + odd;
    } else {
      a = even;
      b = odd;
    }
  }
  return a;
};
