import { Effect, Layer } from "effect";
import { Ids } from "../../application/ports/Ids.ts";

export const UuidIdsLayer = Layer.succeed(Ids, { next: Effect.sync(() => Bun.randomUUIDv7()) });

const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * UUIDv7 (RFC 9562) from web-standard APIs, for runtimes without Bun's: 48 bits of Unix
 * milliseconds, a 12-bit counter that keeps ids made in one millisecond in order (method 1),
 * and 62 random bits.
 */
export const makeUuidV7 = (now: () => number = Date.now) => {
  let lastMs = -1;
  let counter = 0;
  return (): string => {
    let ms = now();
    if (ms <= lastMs) {
      ms = lastMs;
      counter++;
      // The counter ran out within one millisecond: borrow the next one.
      if (counter > 0xfff) {
        ms++;
        counter = 0;
      }
    } else {
      counter = crypto.getRandomValues(new Uint16Array(1))[0] ?? 0;
      counter &= 0x7ff;
    }
    lastMs = ms;
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    for (let i = 5; i >= 0; i--) {
      bytes[i] = ms % 256;
      ms = Math.floor(ms / 256);
    }
    bytes[6] = 0x70 | (counter >> 8);
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
    let out = "";
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) out += "-";
      out += hex[bytes[i] ?? 0];
    }
    return out;
  };
};

/** Ids from `makeUuidV7`: for Deno, which has `crypto.randomUUID` (v4) but no v7. */
export const WebUuidIdsLayer = Layer.sync(Ids, () => {
  const next = makeUuidV7();
  return { next: Effect.sync(next) };
});
