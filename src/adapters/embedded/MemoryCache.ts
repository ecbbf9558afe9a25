import { Clock, Effect, Layer } from "effect";
import { Cache } from "../../application/ports/Cache.ts";
import { type CacheStore, singleFlight } from "../../application/singleFlight.ts";

export const defaultMemoryCacheBytes = 64 * 1024 * 1024;

type Entry = { readonly value: string; readonly expiresAt: number; readonly bytes: number };

/** Digits are one byte each in the engine's 8-bit strings; the constant covers the entry. */
const sizeOf = (key: string, value: string) => key.length + value.length + 64;

export const makeMemoryCache = (
  options: { readonly maxBytes?: number; readonly now?: () => number } = {},
): Cache["Service"] & CacheStore & { readonly bytes: () => number } => {
  const maxBytes = options.maxBytes ?? defaultMemoryCacheBytes;
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order; re-inserting on every hit keeps the coldest first.
  const entries = new Map<string, Entry>();
  let bytes = 0;

  const remove = (key: string, entry: Entry) => {
    entries.delete(key);
    bytes -= entry.bytes;
  };

  const get: CacheStore["get"] = (key) =>
    Effect.sync(() => {
      const entry = entries.get(key);
      if (entry === undefined) return null;
      remove(key, entry);
      if (entry.expiresAt <= now()) return null;
      entries.set(key, entry);
      bytes += entry.bytes;
      return entry.value;
    });

  const set: CacheStore["set"] = (key, value, ttlSeconds) =>
    Effect.sync(() => {
      const old = entries.get(key);
      if (old !== undefined) remove(key, old);
      const size = sizeOf(key, value);
      if (size > maxBytes) return;
      entries.set(key, { value, expiresAt: now() + ttlSeconds * 1000, bytes: size });
      bytes += size;
      for (const [coldest, entry] of entries) {
        if (bytes <= maxBytes) break;
        remove(coldest, entry);
      }
    });

  return { get, set, getOrCompute: singleFlight({ get, set }), bytes: () => bytes };
};

export const MemoryCacheLayer = (maxBytes = defaultMemoryCacheBytes) =>
  Layer.effect(
    Cache,
    Effect.map(Clock.Clock, (clock) =>
      makeMemoryCache({ maxBytes, now: () => clock.currentTimeMillisUnsafe() }),
    ),
  );
